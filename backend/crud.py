"""Reading and writing agents and audit records. Each function works inside one session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.wire import GENESIS_HASH, AuditRecord, UploadBatch, UploadResult, compute_hash
from app.domain.errors import ErrorContext
from backend.core.db import Database
from backend.core.security import Role, hash_token, token_matches
from backend.errors import AuditRejected
from backend.models import Agent, AuditRecordRow

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


# -- audit records ------------------------------------------------------------------------


def upload_batch(database: Database, batch: UploadBatch, *, uploaded_by: str) -> UploadResult:
    """Store ``batch`` in one transaction: all of its new records or none.

    Records already stored (same id, same hash) count as duplicates. Raises
    :class:`AuditRejected`: 422 ``hash_mismatch`` for a record whose hash does not match its
    content, 409 ``chain_gap`` / ``chain_fork`` / ``id_conflict`` when the batch does not
    continue the device's stored chain.
    """
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        with database.write_session() as session:
            try:
                result = store_batch(session, batch, uploaded_by=uploaded_by)
                session.commit()
                return result
            except IntegrityError:
                session.rollback()
                if attempt == _UPLOAD_ATTEMPTS:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def store_batch(session: Session, batch: UploadBatch, *, uploaded_by: str) -> UploadResult:
    """Check ``batch`` against the stored chain and add its new records to ``session``."""
    records = sorted(batch.records, key=lambda record: record.seq)
    for record in records:
        if compute_hash(record) != record.hash:
            raise _rejected(
                record, "hash_mismatch", "the hash does not match the record's content", 422
            )
    device = batch.device_id
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
    accepted: list[AuditRecordRow] = []
    duplicates = 0
    tail = last_seq
    for record in records:
        known = by_id.get(record.id)
        if known is not None:
            if known == (record.device_id, record.seq, record.hash):
                duplicates += 1
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
    session.add_all(accepted)
    session.flush()
    return UploadResult(accepted=len(accepted), duplicates=duplicates, last_seq=tail)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """``GET /api/v1/audit/records`` query: every given field must match."""

    device_id: str | None = None
    agent: str | None = None
    system_id: str | None = None
    ticket_id: str | None = None
    action: str | None = None
    after_seq: int | None = None


def list_records(
    session: Session, where: RecordFilter, *, limit: int
) -> tuple[list[AuditRecord], bool]:
    """Up to ``limit`` matching records in (device, seq) order, and whether more follow."""
    query = select(AuditRecordRow)
    for column, value in (
        (AuditRecordRow.device_id, where.device_id),
        (AuditRecordRow.agent, where.agent),
        (AuditRecordRow.system_id, where.system_id),
        (AuditRecordRow.ticket_id, where.ticket_id),
        (AuditRecordRow.action, where.action),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.after_seq is not None:
        query = query.where(AuditRecordRow.seq > where.after_seq)
    query = query.order_by(AuditRecordRow.device_id, AuditRecordRow.seq).limit(limit + 1)
    rows = list(session.scalars(query))
    return [_record(row) for row in rows[:limit]], len(rows) > limit


def _row(record: AuditRecord, *, received_at: datetime, uploaded_by: str) -> AuditRecordRow:
    return AuditRecordRow(
        id=record.id,
        device_id=record.device_id,
        seq=record.seq,
        agent=record.agent,
        occurred_at=record.occurred_at,
        system_id=record.system_id,
        ticket_id=record.ticket_id,
        action=record.action,
        before=record.before,
        after=record.after,
        outcome=record.outcome,
        client_version=record.client_version,
        prev_hash=record.prev_hash,
        hash=record.hash,
        signature=record.signature,
        received_at=received_at,
        uploaded_by=uploaded_by,
    )


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
