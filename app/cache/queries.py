"""Cache reads for the UI and reports. Cheap, indexed, and never touching the network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from app.cache.schema import messages, outbox, quarantine, sync_state, tickets
from app.domain import Person

INBOX_COLUMNS = (
    tickets.c.id,
    tickets.c.system_id,
    tickets.c.external_id,
    tickets.c.subject,
    tickets.c.status,
    tickets.c.priority,
    tickets.c.requester_name,
    tickets.c.requester_email,
    tickets.c.assignee_name,
    tickets.c.queue,
    func.json_extract(tickets.c.extra, "$.due_by").label("due_by"),
    tickets.c.updated_at,
    tickets.c.created_at,
)


def inbox_ids(conn: Connection, *, system_id: str | None = None) -> list[int]:
    """Ids of live tickets, newest update first."""
    query = select(tickets.c.id).where(tickets.c.deleted.is_(False))
    if system_id:
        query = query.where(tickets.c.system_id == system_id)
    query = query.order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
    return list(conn.scalars(query))


def inbox_rows(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    """The inbox columns of ``ids`` (a page of the view)."""
    if not ids:
        return {}
    rows = conn.execute(select(*INBOX_COLUMNS).where(tickets.c.id.in_(list(ids))))
    return {row.id: row for row in rows}


def ticket(conn: Connection, ticket_id: int) -> Any | None:
    """Every column of one ticket."""
    return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()


def conversation(conn: Connection, ticket_id: int) -> list[Any]:
    """The ticket's messages, oldest first (local pending copies included)."""
    return list(
        conn.execute(
            select(messages)
            .where(messages.c.ticket_id == ticket_id)
            .order_by(messages.c.created_at, messages.c.id)
        )
    )


def pending_actions(conn: Connection, ticket_id: int) -> list[Any]:
    """Outbox rows of a ticket, oldest first."""
    return list(
        conn.execute(select(outbox).where(outbox.c.ticket_id == ticket_id).order_by(outbox.c.id))
    )


@dataclass(frozen=True, slots=True)
class QueueStat:
    """One row of the supervisor view."""

    system_id: str
    status: str
    count: int
    unassigned: int
    oldest_waiting: datetime | None  # oldest created_at among new/open tickets


def queue_stats(conn: Connection) -> list[QueueStat]:
    """Per system and status: how many, how many unassigned, the oldest waiting one."""
    waiting = tickets.c.status.in_(("new", "open"))
    unassigned = and_(tickets.c.assignee_name.is_(None), tickets.c.assignee_email.is_(None))
    query = (
        select(
            tickets.c.system_id,
            tickets.c.status,
            func.count(),
            func.sum(unassigned.cast(tickets.c.id.type)),
            func.min(tickets.c.created_at).filter(waiting),
        )
        .where(tickets.c.deleted.is_(False))
        .group_by(tickets.c.system_id, tickets.c.status)
        .order_by(tickets.c.system_id, tickets.c.status)
    )
    return [
        QueueStat(
            system_id=row[0],
            status=row[1],
            count=int(row[2]),
            unassigned=int(row[3] or 0),
            oldest_waiting=row[4],
        )
        for row in conn.execute(query)
    ]


def sync_states(conn: Connection) -> dict[str, Any]:
    """The committed sync state of each system."""
    return {row.system_id: row for row in conn.execute(select(sync_state))}


def ticket_count(conn: Connection, system_id: str | None = None) -> int:
    """How many live tickets are cached (for one system or all)."""
    query = select(func.count()).select_from(tickets).where(tickets.c.deleted.is_(False))
    if system_id:
        query = query.where(tickets.c.system_id == system_id)
    return int(conn.scalar(query) or 0)


def quarantined(conn: Connection, system_id: str | None = None) -> list[Any]:
    """Quarantined records with their reasons, newest first."""
    query = select(quarantine).order_by(quarantine.c.id.desc())
    if system_id:
        query = query.where(quarantine.c.system_id == system_id)
    return list(conn.execute(query))


def assignees(conn: Connection, ids: Sequence[int]) -> dict[int, Person | None]:
    """Who each of ``ids`` is assigned to (None: unassigned) — what an undo gives back."""
    if not ids:
        return {}
    rows = conn.execute(
        select(
            tickets.c.id,
            tickets.c.assignee_name,
            tickets.c.assignee_email,
            tickets.c.assignee_external_id,
        ).where(tickets.c.id.in_(list(ids)))
    )
    return {
        row.id: (
            Person(
                name=row.assignee_name,
                email=row.assignee_email,
                external_id=row.assignee_external_id,
            )
            if row.assignee_name or row.assignee_email or row.assignee_external_id
            else None
        )
        for row in rows
    }
