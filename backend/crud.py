"""Reading and writing agents and audit records. Each function works inside one session."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from nacl.signing import VerifyKey
from sqlalchemy import ColumnElement, Connection, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.wire import (
    GENESIS_HASH,
    AuditRecord,
    UploadBatch,
    UploadResult,
    canonical_bytes,
    hashed_fields,
)
from app.domain.errors import ErrorContext
from backend.core import ed25519
from backend.core.db import (
    Database,
    DriverStatement,
    copy_rows,
    executemany_rows,
    float_free,
    json_text,
)
from backend.core.security import Role, hash_token, token_matches
from backend.errors import AuditRejected
from backend.models import Agent, AuditRecordRow, Device

_UPLOAD_ATTEMPTS = 3  # a concurrent upload of the same device wins the unique index: re-check
_KEY_CACHE_SIZE = 100_000  # devices whose public key one process remembers


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """The authenticated caller (plain data: safe outside its session)."""

    id: int
    name: str
    role: Role


# -- agents -------------------------------------------------------------------------------


def upsert_agent(session: Session, *, name: str, role: Role, token: str) -> bool:
    """Create agent ``name`` or give it a new role and token; True when it was created."""
    now = datetime.now(UTC)
    agent = session.scalar(select(Agent).where(Agent.name == name))
    created = agent is None
    if agent is None:
        agent = Agent(name=name, created_at=now)
        session.add(agent)
    agent.role = role.value
    agent.token_sha256 = hash_token(token)
    agent.updated_at = now
    session.flush()
    return created


_AGENT_BY_TOKEN = DriverStatement(
    select(Agent.id, Agent.name, Agent.role, Agent.token_sha256).where(
        Agent.token_sha256 == bindparam("token_sha256")
    )
)


def agent_for_token(connection: Session | Connection, token: str) -> AgentInfo | None:
    """The agent holding ``token``, or None (every request asks: one plain query).

    The lookup is by sha256 (what a timing side channel could reveal is a hash prefix, useless
    without a preimage); the final comparison is constant-time.
    """
    if isinstance(connection, Session):
        connection = connection.connection()
    row = _AGENT_BY_TOKEN.first(connection, token_sha256=hash_token(token))
    if row is None or not token_matches(token, row[3]):
        return None
    return AgentInfo(id=int(row[0]), name=str(row[1]), role=Role(row[2]))


def agent_named(session: Session, name: str) -> AgentInfo | None:
    """The agent called ``name``, or None."""
    agent = session.scalar(select(Agent).where(Agent.name == name))
    return AgentInfo(id=agent.id, name=agent.name, role=Role(agent.role)) if agent else None


# -- devices ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A registered device."""

    device_id: str
    public_key: str
    agent: str
    registered_at: datetime


def register_device(
    session: Session, *, device_id: str, public_key: str, agent: AgentInfo
) -> tuple[DeviceInfo, bool]:
    """Register ``device_id`` with ``public_key``; (the device, True when it is new).

    First registration wins: a different key for a known device raises :class:`AuditRejected`
    (409 ``device_key_conflict``); the same key again is a no-op.
    """
    row = session.get(Device, device_id)
    created = row is None
    if row is None:
        row = Device(
            device_id=device_id,
            public_key=public_key,
            agent_id=agent.id,
            registered_at=datetime.now(UTC),
        )
        session.add(row)
        session.flush()
    elif row.public_key != public_key:
        raise AuditRejected(
            message=f"device {device_id!r} is registered with another public key",
            code="device_key_conflict",
            status_code=409,
            context=ErrorContext(stream=f"audit:{device_id}"),
            details={"device_id": device_id},
        )
    owner = session.get(Agent, row.agent_id)
    info = DeviceInfo(
        device_id=row.device_id,
        public_key=row.public_key,
        agent=owner.name if owner else "",
        registered_at=row.registered_at,
    )
    return info, created


@lru_cache(maxsize=4096)
def _verify_key(text: str) -> bytes:
    """The device key's 32 bytes, checked by PyNaCl as an Ed25519 key (``text`` was checked at
    registration).

    The backend verifies with libsodium (:mod:`backend.core.ed25519`) rather than with
    :mod:`app.audit.signature`'s ``cryptography`` (OpenSSL): about twice as fast per signature
    here, and checked without the GIL. The signatures are the same Ed25519 (RFC 8032).
    """
    return bytes(VerifyKey(base64.b64decode(text, validate=True)))


def _signature_bytes(record: AuditRecord) -> bytes | None:
    """``record.signature`` decoded (None: unsigned or not base64; a wrong length is left to
    :func:`backend.core.ed25519.first_invalid`)."""
    if record.signature is None:
        return None
    try:
        return base64.b64decode(record.signature, validate=True)
    except (binascii.Error, ValueError):
        return None


def hashed_bytes(record: AuditRecord) -> bytes:
    """:func:`app.audit.wire.canonical_bytes` of ``record`` (what its hash and signature are
    over), written by orjson whenever that gives the same bytes: a third of the cost.

    orjson writes strings, integers, booleans, null and sorted keys of a compact UTF-8 document
    byte for byte as the reference encoder does, and refuses with a :class:`TypeError` what it
    cannot write (integers beyond 64 bits, lone surrogates, deep nesting): those records, and
    those with a float in ``before`` or ``after`` (orjson spells ``1e-05`` as ``0.00001``), go
    through the reference encoder. ``tests/backend/test_audit_ingest.py`` holds the two equal.
    """
    if not (float_free(record.before) and float_free(record.after)):
        return canonical_bytes(record)
    try:
        return orjson.dumps(hashed_fields(record), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError included
        return canonical_bytes(record)


# -- audit records ------------------------------------------------------------------------

_DEVICE_KEY = select(Device.public_key).where(Device.device_id == bindparam("device_id"))
_READ_DEVICE_KEY = DriverStatement(_DEVICE_KEY)
_HEAD_QUERY = (
    select(AuditRecordRow.seq, AuditRecordRow.hash)
    .where(AuditRecordRow.device_id == bindparam("device_id"))
    .order_by(AuditRecordRow.seq.desc())
    .limit(1)
)
_HEAD = DriverStatement(_HEAD_QUERY)
_LOCK_DEVICE_WITH_HEAD = DriverStatement(
    select(
        Device.public_key,
        _HEAD_QUERY.with_only_columns(AuditRecordRow.seq).scalar_subquery(),
        _HEAD_QUERY.with_only_columns(AuditRecordRow.hash).scalar_subquery(),
    )
    .where(Device.device_id == bindparam("device_id"))
    .with_for_update(of=Device)
)
"""The device's key and the head of its stored chain, its row locked: one round trip."""


def upload_batch(database: Database, batch: UploadBatch, *, uploaded_by: str) -> UploadResult:
    """Store ``batch`` in one transaction: all of its new records or none.

    Records already stored (same id, same hash) count as duplicates. Raises
    :class:`AuditRejected`: 409 ``unknown_device`` when the device registered no public key;
    422 ``hash_mismatch`` for a record whose hash does not match its content, 422
    ``bad_signature`` for one not signed by the device's key, 422 ``invalid_text`` for one
    with a text that is not UTF-8; 409 ``chain_gap`` / ``chain_fork`` / ``id_conflict`` when
    the batch does not continue the device's stored chain.

    Hashes and signatures are checked before the write transaction, so that the write lock
    (SQLite) or the device's row lock (PostgreSQL) is held only for the chain check and the
    insert. The first attempt takes the common path (the batch continues the stored head: one
    SELECT locking the device's row and reading the head, one COPY or executemany, run on the
    driver's cursor); a record id stored before under another device or seq makes the insert
    fail, and the next attempt checks every record one by one.
    """
    records = sorted(batch.records, key=_seq)
    public_key = _verified_key(database, batch.device_id, records)
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        try:
            with (
                database.writer(),
                database.write_connection() as connection,
                connection.begin(),
            ):
                return store_batch(
                    connection,
                    batch,
                    uploaded_by=uploaded_by,
                    continues_head=attempt == 1,
                    verified_with=public_key,
                )
        except IntegrityError:
            if attempt == _UPLOAD_ATTEMPTS:
                raise
        except _KeyChanged:
            if attempt == _UPLOAD_ATTEMPTS:
                raise
            database.device_keys.pop(batch.device_id, None)  # the key changed: verify again
            public_key = _verified_key(database, batch.device_id, records)
    raise AssertionError("unreachable")  # pragma: no cover


class _KeyChanged(Exception):
    """The device's stored key is not the one its records were verified with (it was deleted
    with its agent and registered again since it was cached): verify again."""


def _verified_key(database: Database, device_id: str, records: list[AuditRecord]) -> str | None:
    """The key ``records`` were checked with (:func:`check_signed`); a remembered key that
    does not verify them is read again first (it may have changed since)."""
    cached = device_id in database.device_keys
    public_key = _device_public_key(database, device_id)
    try:
        check_signed(device_id, records, public_key)
    except AuditRejected as exc:
        if not cached or exc.code != "bad_signature":
            raise
        database.device_keys.pop(device_id, None)
        public_key = _device_public_key(database, device_id)
        check_signed(device_id, records, public_key)
    return public_key


def _device_public_key(database: Database, device_id: str) -> str | None:
    """The device's registered key, from the process's cache when it was seen before (a
    device's key never changes; :func:`store_batch` checks it again under the row lock)."""
    known = database.device_keys.get(device_id)
    if known is not None:
        return known
    with database.read_connection() as connection:
        row = _READ_DEVICE_KEY.first(connection, device_id=device_id)
    found = str(row[0]) if row else None
    if found is not None:
        if len(database.device_keys) >= _KEY_CACHE_SIZE:
            database.device_keys.clear()
        database.device_keys[device_id] = found
    return found


def _seq(record: AuditRecord) -> int:
    return record.seq


def check_signed(device: str, records: list[AuditRecord], public_key: str | None) -> None:
    """Every record's hash matches its content and its signature is the device's key's
    (``records`` in seq order: the first bad one is named)."""
    if public_key is None:
        if records:
            raise _rejected(
                records[0],
                "unknown_device",
                f"device {device!r} has no registered public key: POST /api/v1/devices first",
            )
        return
    key = _verify_key(public_key)
    sha256 = hashlib.sha256
    signatures: list[bytes] = []
    messages: list[bytes] = []
    problem: AuditRejected | None = None  # of the first record that fails before its signature
    for record in records:
        try:
            canonical = hashed_bytes(record)
        except UnicodeEncodeError:  # a lone surrogate ("\\ud800") in a text: not UTF-8
            problem = _rejected(record, "invalid_text", "a text of the record is not UTF-8", 422)
            break
        if sha256(canonical).hexdigest() != record.hash:
            problem = _rejected(
                record, "hash_mismatch", "the hash does not match the record's content", 422
            )
            break
        signature = _signature_bytes(record)
        if signature is None:
            problem = _bad_signature(device, record)
            break
        signatures.append(signature)
        messages.append(canonical)
    invalid = ed25519.first_invalid(key, signatures, messages)  # those before any problem
    if invalid >= 0:
        raise _bad_signature(device, records[invalid])
    if problem is not None:
        raise problem


def _bad_signature(device: str, record: AuditRecord) -> AuditRejected:
    problem = "is not signed" if record.signature is None else "has a bad signature"
    return _rejected(
        record,
        "bad_signature",
        f"record {record.id} (seq {record.seq}) {problem}: it is not signed by the key "
        f"registered for device {device!r}",
        422,
    )


def store_batch(
    connection: Connection,
    batch: UploadBatch,
    *,
    uploaded_by: str,
    continues_head: bool = False,
    verified_with: str | None = None,
) -> UploadResult:
    """Check ``batch`` against the stored chain and add its new records in the transaction of
    ``connection`` (hashes and signatures: :func:`check_signed` first, with key
    ``verified_with``).

    The device's row is locked (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite has one writer)
    for the transaction: two uploads of one device take turns, uploads of different devices do
    not wait for each other. The same statement reads the head of the stored chain. On
    PostgreSQL that read uses the statement's snapshot, taken before a wait for the lock: when
    another upload of the device committed meanwhile, the head read is older than the stored
    one, and the batch that seems to continue it repeats a seq that upload stored, which the
    unique (device, seq) index refuses (an :class:`IntegrityError`: the caller checks again).

    With ``continues_head``, a batch that continues the stored head link by link is inserted
    without looking up its records (an id stored under another device or seq then fails the
    insert with an :class:`IntegrityError`). Only the head of the stored chain is read
    otherwise; a batch that does not continue it reads the stored records with its ids and the
    seqs it touches.
    """
    records = sorted(batch.records, key=_seq)
    device = batch.device_id
    if not records:
        return UploadResult(accepted=0, duplicates=0, last_seq=_head(connection, device)[0])
    locked = _LOCK_DEVICE_WITH_HEAD.first(connection, device_id=device)
    if verified_with is not None and (locked[0] if locked else None) != verified_with:
        raise _KeyChanged(device)
    if locked is None or locked[1] is None:
        head_seq, head_hash = 0, GENESIS_HASH
    else:
        head_seq, head_hash = int(locked[1]), str(locked[2])
    received_at = datetime.now(UTC)
    if continues_head and _continues(records, head_seq, head_hash):
        _insert(connection, records, received_at=received_at, uploaded_by=uploaded_by)
        return UploadResult(accepted=len(records), duplicates=0, last_seq=records[-1].seq)
    # What is known: by id -> (device, seq, hash), and this device's seq -> (id, hash).
    by_id: dict[str, tuple[str, int, str]] = {}
    by_seq: dict[int, tuple[str, str]] = {}
    ids = [record.id for record in records]
    for row_id, row_device, row_seq, row_hash in connection.execute(
        select(
            AuditRecordRow.id, AuditRecordRow.device_id, AuditRecordRow.seq, AuditRecordRow.hash
        ).where(AuditRecordRow.id.in_(ids))
    ):
        by_id[row_id] = (row_device, row_seq, row_hash)
    wanted = sorted({record.seq for record in records} | {record.seq - 1 for record in records})
    for row_id, row_seq, row_hash in connection.execute(
        select(AuditRecordRow.id, AuditRecordRow.seq, AuditRecordRow.hash).where(
            AuditRecordRow.device_id == device, AuditRecordRow.seq.in_(wanted)
        )
    ):
        by_seq[row_seq] = (row_id, row_hash)

    accepted: list[AuditRecord] = []
    duplicates = 0
    tail = head_seq
    for record in records:
        known = by_id.get(record.id)
        if known is not None:
            if known == (record.device_id, record.seq, record.hash):
                duplicates += 1
                tail = max(tail, record.seq)
                continue
            raise _rejected(
                record,
                "id_conflict",
                f"record id {record.id} is already stored as seq {known[1]} of device "
                f"{known[0]!r} with hash {known[2][:12]}…",
            )
        at_seq = by_seq.get(record.seq)
        if at_seq is not None:
            raise _rejected(
                record,
                "chain_fork",
                f"seq {record.seq} of device {device!r} is already stored with a different "
                f"hash ({at_seq[1][:12]}…, record {at_seq[0]})",
            )
        previous = by_seq.get(record.seq - 1)
        if record.seq > 1 and previous is None:
            raise _rejected(
                record,
                "chain_gap",
                f"seq {record.seq} does not continue the chain of device {device!r}, which "
                f"ends at seq {tail}: seq {tail + 1} to {record.seq - 1} missing",
            )
        expected_prev = previous[1] if previous else GENESIS_HASH
        if record.prev_hash != expected_prev:
            raise _rejected(
                record,
                "chain_fork",
                f"prev_hash of seq {record.seq} is not the hash of seq {record.seq - 1} "
                f"of device {device!r}",
            )
        by_id[record.id] = (record.device_id, record.seq, record.hash)
        by_seq[record.seq] = (record.id, record.hash)
        tail = max(tail, record.seq)
        accepted.append(record)
    if accepted:
        _insert(connection, accepted, received_at=received_at, uploaded_by=uploaded_by)
    return UploadResult(accepted=len(accepted), duplicates=duplicates, last_seq=tail)


def _head(connection: Connection, device: str) -> tuple[int, str]:
    """The seq and hash of the device's last stored record ((0, genesis): none)."""
    row = _HEAD.first(connection, device_id=device)
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def _continues(records: list[AuditRecord], head_seq: int, head_hash: str) -> bool:
    """Whether ``records`` (in seq order) extend the chain ending at ``head_seq`` link by link."""
    seq, link = head_seq, head_hash
    for record in records:
        if record.seq != seq + 1 or record.prev_hash != link:
            return False
        seq, link = record.seq, record.hash
    return True


def _insert(
    connection: Connection, records: list[AuditRecord], *, received_at: datetime, uploaded_by: str
) -> None:
    """Add ``records`` in one statement: COPY on PostgreSQL, the driver's executemany on
    SQLite (dates through their columns' bind processors); JSON as text written by orjson."""
    table = AuditRecordRow.__table__
    assert isinstance(table, Table)
    rows = (_row_values(r, received_at, uploaded_by) for r in records)
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table, rows)
    else:
        executemany_rows(connection, table, rows, ready=_JSON_COLUMNS)


_JSON_COLUMNS = frozenset({"before", "after"})


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    """A JSON column's text for COPY. A record's JSON holds no NaN or infinity (refused when
    read, and by :class:`AuditRecord`), which orjson would write as null: orjson as it is,
    and what it refuses (integers beyond 64 bits) by :func:`json_text`."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json_text(value)


_COLUMNS = tuple(column.name for column in AuditRecordRow.__table__.columns)
_ROW_ORDER = (
    "id", "device_id", "seq", "agent", "occurred_at", "system_id", "ticket_id", "action",
    "before", "after", "outcome", "client_version", "prev_hash", "hash", "signature",
    "received_at", "uploaded_by",
)  # fmt: skip
assert _COLUMNS == _ROW_ORDER, f"audit_records columns changed: {_COLUMNS}; update _row_values"


def _row_values(record: AuditRecord, received_at: datetime, uploaded_by: str) -> tuple[Any, ...]:
    """``record`` as an ``audit_records`` row in column order (:data:`_ROW_ORDER`), JSON as
    text."""
    return (
        record.id,
        record.device_id,
        record.seq,
        record.agent,
        record.occurred_at,
        record.system_id,
        record.ticket_id,
        record.action,
        _json_or_none(record.before),
        _json_or_none(record.after),
        record.outcome,
        record.client_version,
        record.prev_hash,
        record.hash,
        record.signature,
        received_at,
        uploaded_by,
    )


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """``GET /api/v1/audit/records`` query: every given field must match.

    ``since`` is inclusive, ``until`` exclusive (on ``occurred_at``).
    """

    device_id: str | None = None
    agent: str | None = None
    system_id: str | None = None
    ticket_id: str | None = None
    action: str | None = None
    after_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter."""
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (AuditRecordRow.device_id, self.device_id),
            (AuditRecordRow.agent, self.agent),
            (AuditRecordRow.system_id, self.system_id),
            (AuditRecordRow.ticket_id, self.ticket_id),
            (AuditRecordRow.action, self.action),
        ):
            if value is not None:
                found.append(column == value)
        if self.after_seq is not None:
            found.append(AuditRecordRow.seq > self.after_seq)
        if self.since is not None:
            found.append(AuditRecordRow.occurred_at >= self.since)
        if self.until is not None:
            found.append(AuditRecordRow.occurred_at < self.until)
        return found


def list_records(
    session: Session, where: RecordFilter, *, visible: ColumnElement[bool], limit: int
) -> tuple[list[AuditRecord], bool]:
    """Up to ``limit`` matching, visible records in (device, seq) order, and whether more
    follow."""
    query = (
        select(AuditRecordRow)
        .where(visible, *where.clauses())
        .order_by(AuditRecordRow.device_id, AuditRecordRow.seq)
        .limit(limit + 1)
    )
    rows = list(session.scalars(query))
    return [_record(row) for row in rows[:limit]], len(rows) > limit


def get_record(
    session: Session, record_id: str, *, visible: ColumnElement[bool]
) -> AuditRecord | None:
    """Record ``record_id`` if it exists and is visible, else None."""
    row = session.scalar(select(AuditRecordRow).where(AuditRecordRow.id == record_id, visible))
    return _record(row) if row else None


def device_chain(
    session: Session, device_id: str, *, after_seq: int, limit: int
) -> list[AuditRecord]:
    """Up to ``limit`` records of ``device_id`` after ``after_seq``, in seq order (no filter:
    for verifying the stored chain)."""
    query = (
        select(AuditRecordRow)
        .where(AuditRecordRow.device_id == device_id, AuditRecordRow.seq > after_seq)
        .order_by(AuditRecordRow.seq)
        .limit(limit)
    )
    return [_record(row) for row in session.scalars(query)]


def _record(row: AuditRecordRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        device_id=row.device_id,
        seq=row.seq,
        agent=row.agent,
        occurred_at=row.occurred_at,
        system_id=row.system_id,
        ticket_id=row.ticket_id,
        action=row.action,
        before=row.before,
        after=row.after,
        outcome=row.outcome,  # type: ignore[arg-type]  # the check constraint keeps it valid
        client_version=row.client_version,
        prev_hash=row.prev_hash,
        hash=row.hash,
        signature=row.signature,
    )


def _rejected(record: AuditRecord, code: str, message: str, status: int = 409) -> AuditRejected:
    return AuditRejected(
        message=message,
        code=code,
        status_code=status,
        context=ErrorContext(stream=f"audit:{record.device_id}", record_id=record.id),
        details={"device_id": record.device_id, "seq": record.seq, "record_id": record.id},
    )
