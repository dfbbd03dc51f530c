"""Drafts: what the agent is typing, saved locally so it survives a crash or restart.

Debouncing is the UI's job; these functions run inside a ``CacheWriter`` transaction
(``save``/``clear``) or on any reader connection (``load``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.sqlite import insert

from app.cache.schema import drafts


@dataclass(frozen=True, slots=True)
class Draft:
    """An unsent reply (``public=True``) or internal note of one ticket."""

    ticket_id: int
    body: str
    public: bool
    updated_at: datetime


def save(conn: Connection, ticket_id: int, body: str, public: bool, now: datetime) -> None:
    """Keep the ticket's draft (one per ticket; an empty body clears it)."""
    if not body.strip():
        clear(conn, ticket_id)
        return
    statement = insert(drafts).values(ticket_id=ticket_id, body=body, public=public, updated_at=now)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[drafts.c.ticket_id],
            set_={"body": body, "public": public, "updated_at": now},
        )
    )


def load(conn: Connection, ticket_id: int) -> Draft | None:
    """The ticket's saved draft, if any."""
    row = conn.execute(select(drafts).where(drafts.c.ticket_id == ticket_id)).first()
    if row is None:
        return None
    return Draft(row.ticket_id, row.body, bool(row.public), row.updated_at)


def clear(conn: Connection, ticket_id: int) -> None:
    """Forget the ticket's draft (after it was sent or thrown away)."""
    conn.execute(delete(drafts).where(drafts.c.ticket_id == ticket_id))
