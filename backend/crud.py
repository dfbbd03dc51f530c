"""Reading and writing agents and audit records. Each function works inside one session."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.signature import load_public_key, signature_valid
from app.audit.wire import GENESIS_HASH, AuditRecord, UploadBatch, UploadResult, canonical_bytes
from app.domain.errors import ErrorContext
from backend.core.db import Database
from backend.core.security import Role, hash_token, token_matches
from backend.errors import AuditRejected
from backend.models import Agent, AuditRecordRow, Device

_UPLOAD_ATTEMPTS = 3  # a concurrent upload of the same device wins the unique index: re-check


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


def agent_for_token(session: Session, token: str) -> AgentInfo | None:
    """The agent holding ``token``, or None.

    The lookup is by sha256 (what a timing side channel could reveal is a hash prefix, useless
    without a preimage); the final comparison is constant-time.
    """
    agent = session.scalar(select(Agent).where(Agent.token_sha256 == hash_token(token)))
    if agent is None or not token_matches(token, agent.token_sha256):
        return None
    return AgentInfo(id=agent.id, name=agent.name, role=Role(agent.role))


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
def _public_key(text: str) -> Ed25519PublicKey:
    return load_public_key(text)


# -- audit records ------------------------------------------------------------------------


def upload_batch(database: Database, batch: UploadBatch, *, uploaded_by: str) -> UploadResult:
    """Store ``batch`` in one transaction: all of its new records or none.

    Records already stored (same id, same hash) count as duplicates. Raises
    :class:`AuditRejected`: 409 ``unknown_device`` when the device registered no public key;
    422 ``hash_mismatch`` for a record whose hash does not match its content, 422
    ``bad_signature`` for one not signed by the device's key; 409 ``chain_gap`` /
    ``chain_fork`` / ``id_conflict`` when the batch does not continue the device's stored chain.

    Hashes and signatures are checked before the write transaction, so that the write lock
    (SQLite) or row locks (PostgreSQL) are held only for the chain check and the insert.
    """
    with database.session() as session:
        public_key = session.scalar(
            select(Device.public_key).where(Device.device_id == batch.device_id)
        )
    check_signed(batch, public_key)
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        with database.writer(), database.write_session() as session:
            try:
                result = store_batch(session, batch, uploaded_by=uploaded_by)
                session.commit()
                return result
            except IntegrityError:
                session.rollback()
                if attempt == _UPLOAD_ATTEMPTS:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_signed(batch: UploadBatch, public_key: str | None) -> None:
    """Every record's hash matches its content and its signature is the device's key's."""
    device = batch.device_id
    if public_key is None and batch.records:
        raise _rejected(
            batch.records[0],
            "unknown_device",
            f"device {device!r} has no registered public key: POST /api/v1/devices first",
        )
    for record in sorted(batch.records, key=lambda record: record.seq):
        canonical = canonical_bytes(record)
        if hashlib.sha256(canonical).hexdigest() != record.hash:
            raise _rejected(
                record, "hash_mismatch", "the hash does not match the record's content", 422
            )
        assert public_key is not None
        if not signature_valid(record, _public_key(public_key), canonical=canonical):
            problem = "is not signed" if record.signature is None else "has a bad signature"
            raise _rejected(
                record,
                "bad_signature",
                f"record {record.id} (seq {record.seq}) {problem}: it is not signed by the "
                f"key registered for device {device!r}",
                422,
            )


def store_batch(session: Session, batch: UploadBatch, *, uploaded_by: str) -> UploadResult:
    """Check ``batch`` against the stored chain and add its new records to ``session``
    (hashes and signatures: :func:`check_signed` first)."""
    records = sorted(batch.records, key=lambda record: record.seq)
    device = batch.device_id
    if session.get_bind().dialect.name == "postgresql":
        # One upload per device at a time: every read below sees the other's committed rows.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:device, 0))"),
            {"device": device},
        )
    last_seq: int = (
        session.scalar(
            select(func.max(AuditRecordRow.seq)).where(AuditRecordRow.device_id == device)
        )
        or 0
    )
    # What is known: by id -> (device, seq, hash), and this device's seq -> (id, hash).
    by_id: dict[str, tuple[str, int, str]] = {}
    by_seq: dict[int, tuple[str, str]] = {}
    if records:
        ids = [record.id for record in records]
        for row_id, row_device, row_seq, row_hash in session.execute(
            select(
                AuditRecordRow.id, AuditRecordRow.device_id, AuditRecordRow.seq, AuditRecordRow.hash
            ).where(AuditRecordRow.id.in_(ids))
        ):
            by_id[row_id] = (row_device, row_seq, row_hash)
        wanted = sorted({record.seq for record in records} | {record.seq - 1 for record in records})
        for row_id, row_seq, row_hash in session.execute(
            select(AuditRecordRow.id, AuditRecordRow.seq, AuditRecordRow.hash).where(
                AuditRecordRow.device_id == device, AuditRecordRow.seq.in_(wanted)
            )
        ):
            by_seq[row_seq] = (row_id, row_hash)

    received_at = datetime.now(UTC)
    accepted: list[dict[str, Any]] = []
    duplicates = 0
    tail = last_seq
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
        accepted.append(_row(record, received_at=received_at, uploaded_by=uploaded_by))
    if accepted:
        session.execute(insert(AuditRecordRow), accepted)
    return UploadResult(accepted=len(accepted), duplicates=duplicates, last_seq=tail)


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


def _row(record: AuditRecord, *, received_at: datetime, uploaded_by: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "device_id": record.device_id,
        "seq": record.seq,
        "agent": record.agent,
        "occurred_at": record.occurred_at,
        "system_id": record.system_id,
        "ticket_id": record.ticket_id,
        "action": record.action,
        "before": record.before,
        "after": record.after,
        "outcome": record.outcome,
        "client_version": record.client_version,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
        "signature": record.signature,
        "received_at": received_at,
        "uploaded_by": uploaded_by,
    }


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
