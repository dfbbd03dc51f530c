"""Cache writes. Each function runs inside the caller's transaction (see ``CacheWriter``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, select, update
from sqlalchemy.dialects.sqlite import insert

from app.cache.schema import messages, outbox, quarantine, sync_state, tickets
from app.domain import Message, RecordError, Ticket


def _person(prefix: str, person: Any) -> dict[str, Any]:
    keys = (
        ("name", "email", "phone", "external_id")
        if prefix == "requester"
        else ("name", "email", "external_id")
    )
    return {f"{prefix}_{key}": getattr(person, key, None) if person else None for key in keys}


def ticket_row(ticket: Ticket, synced_at: datetime) -> dict[str, Any]:
    """The ``tickets`` row of a domain ticket."""
    return {
        "system_id": ticket.key.system_id,
        "external_id": ticket.key.external_id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "native_status": ticket.native_status,
        "priority": ticket.priority.value if ticket.priority else None,
        **_person("requester", ticket.requester),
        **_person("assignee", ticket.assignee),
        "queue": ticket.queue,
        "tags": list(ticket.tags),
        "extra": dict(ticket.extra),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "deleted": ticket.deleted,
        "synced_at": synced_at,
    }


def message_row(ticket_id: int, message: Message) -> dict[str, Any]:
    """The ``messages`` row of a domain message."""
    author = message.author
    return {
        "ticket_id": ticket_id,
        "external_id": message.external_id,
        "kind": message.kind.value,
        "author_name": author.display if author else None,
        "author_email": author.email if author else None,
        "body_text": message.body_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
            for a in message.attachments
        ],
        "created_at": message.created_at,
        "pending_action_id": None,
    }


def upsert_tickets(conn: Connection, tickets_in: Sequence[Ticket], now: datetime) -> list[int]:
    """Insert or update tickets and their messages; returns the cache ids in input order.

    A ticket with a pending status action keeps its optimistic local status until delivered.
    """
    if not tickets_in:
        return []
    rows = [ticket_row(ticket, now) for ticket in tickets_in]
    statement = insert(tickets).values(rows)
    pending_status = exists().where(
        and_(
            outbox.c.ticket_id == tickets.c.id,
            outbox.c.state == "pending",
            outbox.c.kind == "set_status",
        )
    )
    excluded = statement.excluded
    columns = {
        name: getattr(excluded, name)
        for name in rows[0]
        if name not in ("system_id", "external_id")
    }
    columns["status"] = case((pending_status, tickets.c.status), else_=excluded.status)
    upsert = statement.on_conflict_do_update(
        index_elements=[tickets.c.system_id, tickets.c.external_id], set_=columns
    ).returning(tickets.c.id, tickets.c.system_id, tickets.c.external_id)
    ids_by_key = {(row.system_id, row.external_id): row.id for row in conn.execute(upsert)}
    ids = [ids_by_key[(t.key.system_id, t.key.external_id)] for t in tickets_in]
    message_rows = [
        message_row(ticket_id, message)
        for ticket_id, ticket in zip(ids, tickets_in, strict=True)
        for message in ticket.messages
    ]
    if message_rows:
        m_statement = insert(messages).values(message_rows)
        m_excluded = m_statement.excluded
        conn.execute(
            m_statement.on_conflict_do_update(
                index_elements=[messages.c.ticket_id, messages.c.external_id],
                set_={
                    name: getattr(m_excluded, name)
                    for name in message_rows[0]
                    if name not in ("ticket_id", "external_id")
                },
            )
        )
    return ids


def record_quarantine(
    conn: Connection, system_id: str, errors: Iterable[RecordError], now: datetime
) -> None:
    """Store bad records with the reason IT will read."""
    rows = [
        {
            "system_id": system_id,
            "stream": error.context.stream,
            "record_id": error.context.record_id,
            "field": error.context.field,
            "reason": str(error),
            "at": now,
        }
        for error in errors
    ]
    if rows:
        conn.execute(insert(quarantine).values(rows))


def save_cursor(
    conn: Connection, system_id: str, cursor: str | None, now: datetime, *, complete: bool
) -> None:
    """Commit the cursor (and success time) for ``system_id``."""
    values: dict[str, Any] = {"cursor": cursor, "last_success_at": now, "last_error": None}
    if complete:
        values["first_sync_done"] = True
    statement = insert(sync_state).values(
        system_id=system_id, **{"first_sync_done": complete, **values}
    )
    conn.execute(
        statement.on_conflict_do_update(index_elements=[sync_state.c.system_id], set_=values)
    )


def save_error(conn: Connection, system_id: str, error: str, now: datetime) -> None:
    """Remember the last error of ``system_id`` (never clears the cursor or any data)."""
    statement = insert(sync_state).values(
        system_id=system_id, first_sync_done=False, last_error=error, last_error_at=now
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[sync_state.c.system_id],
            set_={"last_error": error, "last_error_at": now},
        )
    )


def store_pull(
    conn: Connection,
    system_id: str,
    tickets_in: Sequence[Ticket],
    errors: Sequence[RecordError],
    cursor: str | None,
    now: datetime,
    complete: bool,
) -> list[int]:
    """One page of a pull: tickets, quarantined records and the cursor, in one transaction."""
    ids = upsert_tickets(conn, tickets_in, now)
    record_quarantine(conn, system_id, errors, now)
    save_cursor(conn, system_id, cursor, now, complete=complete)
    return ids


def set_ticket_status(conn: Connection, ticket_id: int, status: str, now: datetime) -> None:
    """Optimistic local status change."""
    conn.execute(
        update(tickets).where(tickets.c.id == ticket_id).values(status=status, updated_at=now)
    )


def load_cursor(conn: Connection, system_id: str) -> tuple[str | None, bool]:
    """The committed cursor and whether the first full sync completed."""
    row = conn.execute(
        select(sync_state.c.cursor, sync_state.c.first_sync_done).where(
            sync_state.c.system_id == system_id
        )
    ).first()
    return (row.cursor, bool(row.first_sync_done)) if row else (None, False)
