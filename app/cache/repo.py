"""Cache writes. Each function runs inside the caller's transaction (see ``CacheWriter``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.sqlite import insert

from app.cache import search
from app.cache.schema import quarantine, sync_state, tickets
from app.cache.types import to_micros
from app.domain import Attachment, Message, RecordError, Ticket


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


_TICKET_COLUMNS = (
    "system_id",
    "external_id",
    "subject",
    "status",
    "native_status",
    "priority",
    "requester_name",
    "requester_email",
    "requester_phone",
    "requester_external_id",
    "assignee_name",
    "assignee_email",
    "assignee_external_id",
    "queue",
    "tags",
    "extra",
    "created_at",
    "updated_at",
    "deleted",
    "synced_at",
)
_MESSAGE_COLUMNS = (
    "ticket_id",
    "external_id",
    "kind",
    "author_name",
    "author_email",
    "body_text",
    "attachments",
    "created_at",
    "pending_action_id",
)


# ticket column -> the outbox action kind whose pending change it shows optimistically
_OPTIMISTIC = {
    "status": "set_status",
    "assignee_name": "assign",
    "assignee_email": "assign",
    "assignee_external_id": "assign",
    "tags": "set_tags",
}


def _upsert_sql(table: str, columns: Sequence[str], key: Sequence[str], status: bool) -> str:
    updates = [f"{name} = excluded.{name}" for name in columns if name not in key]
    if status:
        # a ticket with a pending field change keeps its optimistic local value of that field
        for name, kind in _OPTIMISTIC.items():
            updates[updates.index(f"{name} = excluded.{name}")] = (  # constants, not input
                f"{name} = CASE WHEN EXISTS (SELECT 1 FROM outbox"  # noqa: S608
                " WHERE outbox.ticket_id = tickets.id"
                f" AND outbox.state = 'pending' AND outbox.kind = '{kind}')"
                f" THEN tickets.{name} ELSE excluded.{name} END"
            )
    return (  # names from the tuples above, never from input
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}"
    )


_TICKET_UPSERT = _upsert_sql("tickets", _TICKET_COLUMNS, ("system_id", "external_id"), True)
_MESSAGE_UPSERT = _upsert_sql("messages", _MESSAGE_COLUMNS, ("ticket_id", "external_id"), False)
_TICKET_IDS = (
    "SELECT j.key, t.id FROM json_each(?) j JOIN tickets t"
    " ON t.system_id = j.value ->> 0 AND t.external_id = j.value ->> 1"
)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # as types.JsonText


def _json(value: Any) -> str:
    return _ENCODER.encode(value) if value else ("[]" if isinstance(value, list) else "{}")


@functools.lru_cache(maxsize=4096)
def _tags_json(tags: tuple[str, ...]) -> str:
    return _json(list(tags))


def _attachments_json(attachments: Sequence[Attachment]) -> str:
    return _json(
        [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
            for a in attachments
        ]
    )


def _ticket_values(ticket: Ticket, synced_at: int) -> tuple[Any, ...]:
    """``ticket_row`` as a tuple in ``_TICKET_COLUMNS`` order, ready for the driver."""
    requester, assignee = ticket.requester, ticket.assignee
    return (
        ticket.key.system_id,
        ticket.key.external_id,
        ticket.subject,
        ticket.status.value,
        ticket.native_status,
        ticket.priority.value if ticket.priority else None,
        requester.name if requester else None,
        requester.email if requester else None,
        requester.phone if requester else None,
        requester.external_id if requester else None,
        assignee.name if assignee else None,
        assignee.email if assignee else None,
        assignee.external_id if assignee else None,
        ticket.queue,
        _tags_json(ticket.tags),
        _json(ticket.extra),
        to_micros(ticket.created_at),
        to_micros(ticket.updated_at),
        int(ticket.deleted),
        synced_at,
    )


def _message_values(ticket_id: int, message: Message) -> tuple[Any, ...]:
    """``message_row`` as a tuple in ``_MESSAGE_COLUMNS`` order, ready for the driver."""
    author, attachments = message.author, message.attachments
    return (
        ticket_id,
        message.external_id,
        message.kind.value,
        author.display if author else None,
        author.email if author else None,
        message.body_text,
        _attachments_json(attachments) if attachments else "[]",
        to_micros(message.created_at),
        None,
    )


def upsert_ticket_rows(conn: Connection, tickets_in: Sequence[Ticket], now: datetime) -> list[int]:
    """``upsert_tickets`` without the search index (follow with ``search.index_tickets``).

    For bulk loads that index once at the end; everything else calls ``upsert_tickets``.
    """
    if not tickets_in:
        return []
    synced_at = to_micros(now)
    conn.exec_driver_sql(_TICKET_UPSERT, [_ticket_values(t, synced_at) for t in tickets_in])
    keys = json.dumps([[t.key.system_id, t.key.external_id] for t in tickets_in])
    ids = [0] * len(tickets_in)
    for position, ticket_id in conn.exec_driver_sql(_TICKET_IDS, (keys,)):
        ids[position] = ticket_id
    message_rows = [
        _message_values(ticket_id, message)
        for ticket_id, ticket in zip(ids, tickets_in, strict=True)
        for message in ticket.messages
    ]
    if message_rows:
        conn.exec_driver_sql(_MESSAGE_UPSERT, message_rows)
    return ids


def upsert_tickets(conn: Connection, tickets_in: Sequence[Ticket], now: datetime) -> list[int]:
    """Insert or update tickets and their messages; returns the cache ids in input order.

    A ticket with a pending status action keeps its optimistic local status until delivered.
    The search index follows in the same transaction.
    """
    ids = upsert_ticket_rows(conn, tickets_in, now)
    search.index_tickets(conn, ids)
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
    """Optimistic local status change (the search index follows)."""
    conn.execute(
        update(tickets).where(tickets.c.id == ticket_id).values(status=status, updated_at=now)
    )
    search.index_tickets(conn, [ticket_id])


def load_cursor(conn: Connection, system_id: str) -> tuple[str | None, bool]:
    """The committed cursor and whether the first full sync completed."""
    row = conn.execute(
        select(sync_state.c.cursor, sync_state.c.first_sync_done).where(
            sync_state.c.system_id == system_id
        )
    ).first()
    return (row.cursor, bool(row.first_sync_done)) if row else (None, False)
