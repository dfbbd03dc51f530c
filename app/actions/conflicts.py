"""Conflict detection: has someone else changed the ticket since the agent saw it?

When an action is recorded the outbox keeps ``seen_updated_at`` (the cached remote
``updated_at`` the agent saw). Before delivery, a newer cached ``updated_at`` means a colleague
or the customer acted meanwhile; delivery stops with both versions stored in ``conflict`` so the
agent decides (send anyway or discard) instead of overwriting their work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from app.cache.schema import messages, outbox, tickets
from app.timeutil import to_iso_z

LOCAL_PREFIX = "local:"


def snapshot(conn: Connection, row: Any, now: datetime) -> dict[str, Any] | None:
    """Both versions when ``row`` (an outbox row) conflicts with the cached ticket, else None."""
    seen: datetime | None = row.seen_updated_at
    ticket = conn.execute(select(tickets).where(tickets.c.id == row.ticket_id)).first()
    if seen is None or ticket is None or ticket.updated_at <= seen:
        return None
    newer = conn.execute(
        select(messages)
        .where(
            messages.c.ticket_id == row.ticket_id,
            messages.c.created_at > seen,
            messages.c.pending_action_id.is_(None),
            messages.c.external_id.not_like(f"{LOCAL_PREFIX}%"),
        )
        .order_by(messages.c.created_at, messages.c.id)
    )
    return {
        "detected_at": to_iso_z(now),
        "mine": {
            "kind": row.kind,
            "payload": row.payload,
            "seen_updated_at": to_iso_z(seen),
        },
        "theirs": {
            "updated_at": to_iso_z(ticket.updated_at),
            "status": ticket.status,
            "native_status": ticket.native_status,
            "assignee": ticket.assignee_name or ticket.assignee_email,
            "messages": [
                {
                    "external_id": m.external_id,
                    "kind": m.kind,
                    "author": m.author_name or m.author_email,
                    "body": m.body_text,
                    "created_at": to_iso_z(m.created_at),
                }
                for m in newer
            ],
        },
    }


def advance_seen(conn: Connection, ticket_id: int, after_id: int, moment: datetime) -> None:
    """Our own delivered action changed the ticket: later actions saw it as of ``moment``.

    Without this, the remote ``updated_at`` bumped by our own delivery would look like
    someone else's change to the next action of the same ticket.
    """
    conn.execute(
        update(outbox)
        .where(
            outbox.c.ticket_id == ticket_id,
            outbox.c.id > after_id,
            outbox.c.state == "pending",
            outbox.c.seen_updated_at.is_not(None),
            outbox.c.seen_updated_at < moment,
        )
        .values(seen_updated_at=moment)
    )
