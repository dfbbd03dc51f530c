"""The local audit journal: hash-chained, signed records written inside the action's transaction.

Every record is signed with the device key (:mod:`app.audit.signing`) before it is stored, so
the journal holds exactly what is uploaded. Agent commands (reply, note, status, ...) are
appended by ``app.actions`` with :func:`append`; other audited events (sign-in, settings,
revealing a masked field, exports) go through :func:`record_event`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, insert, select

from app import __version__
from app.audit.signature import SigningKey
from app.audit.signing import device_key
from app.audit.wire import AuditRecord, ChainTip, Outcome, new_record, to_wire
from app.cache.schema import audit_log

EventKind = Literal[
    "sign_in",
    "sign_out",
    "settings_changed",
    "field_revealed",
    "export",
    "step_up",
    "customer_linked",
    "customer_unlinked",
]
"""Audited events that are not ticket commands (the record's ``action``)."""
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


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
    key: SigningKey | None = None,
) -> AuditRecord:
    """Append the next signed record of this device's chain (inside the action's transaction).

    ``action_id`` ties the pending record of an action to its delivered/failed record.
    ``key`` defaults to the device key in the keyring.
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
    record = (key or device_key()).sign(record)
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


def record_event(
    conn: Connection,
    agent: str,
    device_id: str,
    client_version: str = __version__,
    *,
    event: EventKind,
    now: datetime,
    outcome: Outcome = "delivered",
    system_id: str | None = None,
    ticket_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    before: Mapping[str, Any] | None = None,
    key: SigningKey | None = None,
) -> AuditRecord:
    """Audit an event that is not a ticket command.

    ``sign_in`` / ``sign_out``; ``settings_changed`` (``before`` and ``details`` hold the old and
    new values, never a secret); ``field_revealed`` (``details={"field": "phone"}``, with the
    ticket); ``export`` (``details={"format": "csv", "rows": 120}``); ``step_up``;
    ``customer_linked`` / ``customer_unlinked`` (``details={"identities": […], "other": …}``).
    Local events are complete at once (``delivered``); pass ``pending`` then
    ``delivered``/``failed`` for ones that wait on the backend.
    """
    if event not in EVENT_KINDS:
        raise ValueError(f"unknown audit event {event!r}; one of {', '.join(EVENT_KINDS)}")
    return append(
        conn,
        agent,
        device_id,
        client_version,
        action=event,
        system_id=system_id,
        ticket_id=ticket_id,
        before=dict(before) if before is not None else None,
        after=dict(details) if details is not None else None,
        outcome=outcome,
        now=now,
        key=key,
    )
