"""Retention: prune closed tickets older than a configurable age, then compact the file.

Never prunes a ticket that still has an open outbox action (pending, failed or conflict) or an
unsent draft, and never touches open tickets. Compaction runs ``PRAGMA incremental_vacuum`` when
the database was created with ``auto_vacuum=INCREMENTAL``, else a full ``VACUUM`` (call it while
the workstation is idle: it rewrites the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, exists, select, text

from app.cache.schema import drafts, messages, outbox, tickets

PRUNABLE_STATUSES = ("closed",)
OPEN_ACTION_STATES = ("pending", "failed", "conflict")
BATCH = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune removed."""

    tickets: int
    messages: int


def prune(conn: Connection, older_than: timedelta, now: datetime) -> Pruned:
    """Delete closed tickets last updated before ``now - older_than`` (inside a transaction)."""
    cutoff = now - older_than
    held = exists().where(
        outbox.c.ticket_id == tickets.c.id, outbox.c.state.in_(OPEN_ACTION_STATES)
    )
    drafted = exists().where(drafts.c.ticket_id == tickets.c.id)
    ids = list(
        conn.scalars(
            select(tickets.c.id).where(
                tickets.c.status.in_(PRUNABLE_STATUSES),
                tickets.c.updated_at < cutoff,
                ~held,
                ~drafted,
            )
        )
    )
    removed_messages = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        removed_messages += conn.execute(
            delete(messages).where(messages.c.ticket_id.in_(chunk))
        ).rowcount
        # settled outbox rows only reference the ticket; their audit records stay in audit_log
        conn.execute(delete(outbox).where(outbox.c.ticket_id.in_(chunk)))
        conn.execute(delete(tickets).where(tickets.c.id.in_(chunk)))
    return Pruned(tickets=len(ids), messages=removed_messages)


def compact(engine: Engine) -> str:
    """Give freed pages back to the file system; returns which method ran."""
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA auto_vacuum").scalar()
        if mode == 2:  # INCREMENTAL
            conn.exec_driver_sql("PRAGMA incremental_vacuum")
            conn.commit()
            return "incremental_vacuum"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM"))
    return "vacuum"
