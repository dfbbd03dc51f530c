"""The local audit journal: hash-chained records written inside the action's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, insert, select

from app import __version__
from app.audit.wire import AuditRecord, ChainTip, Outcome, new_record, to_wire
from app.cache.schema import audit_log


def _tip(conn: Connection) -> ChainTip | None:
    row = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    return ChainTip(seq=row.seq, hash=row.hash) if row else None


def append(
    conn: Connection,
    agent: str,
    device_id: str,
    client_version: str = __version__,
    *,
    action: str,
    system_id: str | None,
    ticket_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    outcome: str,
    now: datetime,
    action_id: str | None = None,
) -> AuditRecord:
    """Append the next record of this device's chain (call inside the action's transaction).

    ``action_id`` ties the pending record of an action to its delivered/failed record.
    """
    if action_id is not None:
        after = {**(after or {}), "action_id": action_id}
    record = new_record(
        _tip(conn),
        device_id=device_id,
        agent=agent,
        action=action,
        client_version=client_version,
        system_id=system_id,
        ticket_id=ticket_id,
        before=before,
        after=after,
        outcome=cast(Outcome, outcome),
        occurred_at=now,
    )
    conn.execute(
        insert(audit_log).values(
            seq=record.seq,
            record_id=record.id,
            record=to_wire(record),
            hash=record.hash,
            uploaded=False,
        )
    )
    return record
