"""Schema drift per system (migration 0005): what the adapters tolerated, for IT to act on.

One row per (system, stream, field, kind, value) with how often and when it was first and last
seen and an example record id. Written in the same transaction as the page that showed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Column, Connection, Integer, String, Table, Text, select
from sqlalchemy.dialects.sqlite import insert

from app.cache.schema import metadata
from app.cache.types import UtcTimestamp

schema_drift = Table(
    "schema_drift",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("field", String, nullable=False),
    Column("kind", String, nullable=False),  # unknown_field | missing_field | new_value
    Column("value", Text, nullable=False, default=""),  # "" when the kind has no value
    Column("example_record", String),
    Column("seen", Integer, nullable=False, default=1),
    Column("first_seen", UtcTimestamp, nullable=False),
    Column("last_seen", UtcTimestamp, nullable=False),
)


class DriftNote(Protocol):
    """What an adapter reports (``adapters.base.Drift``)."""

    @property
    def stream(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def record_id(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...


KEY = ("system_id", "stream", "field", "kind", "value")


def record(
    conn: Connection, system_id: str, notes: Sequence[DriftNote], now: datetime
) -> list[DriftNote]:
    """Store ``notes``; returns those never seen before (the caller logs them for IT)."""
    if not notes:
        return []
    known = {
        tuple(row)
        for row in conn.execute(
            select(
                schema_drift.c.stream,
                schema_drift.c.field,
                schema_drift.c.kind,
                schema_drift.c.value,
            ).where(schema_drift.c.system_id == system_id)
        )
    }
    fresh: list[DriftNote] = []
    for note in notes:
        value = note.value or ""
        if (note.stream, note.field, note.kind, value) not in known:
            fresh.append(note)
        statement = insert(schema_drift).values(
            system_id=system_id,
            stream=note.stream,
            field=note.field,
            kind=note.kind,
            value=value,
            example_record=note.record_id,
            seen=1,
            first_seen=now,
            last_seen=now,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=list(KEY),
                set_={"seen": schema_drift.c.seen + 1, "last_seen": now},
            )
        )
    return fresh


def report(conn: Connection, system_id: str | None = None) -> list[Any]:
    """Every drift row (of one system), most recently seen first."""
    query = select(schema_drift).order_by(schema_drift.c.last_seen.desc(), schema_drift.c.id)
    if system_id is not None:
        query = query.where(schema_drift.c.system_id == system_id)
    return list(conn.execute(query))
