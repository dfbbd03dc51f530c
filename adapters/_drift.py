"""Noticing schema drift while mapping: unknown fields, missing expected fields, unmapped values.

Adapters tolerate drift (the record is still stored, or quarantined only when a required value is
unusable) and note it here; :class:`app.sync.coordinator` keeps the notes per system, and IT reads
them with ``tabless adapter drift``. Each distinct note is kept once per page, with the first
record it was seen in, so a page of 100 records with the same new field costs one note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.base import Drift, DriftKind

MAX_VALUE_CHARS = 80


class DriftNotes:
    """Collects the drift of one page; :meth:`take` hands it to the ``PullResult``."""

    def __init__(self) -> None:
        self._notes: dict[tuple[str, str, DriftKind, str | None], Drift] = {}

    def _add(
        self, stream: str, field: str, kind: DriftKind, record_id: str | None, value: Any = None
    ) -> None:
        text = None if value is None else str(value)[:MAX_VALUE_CHARS]
        key = (stream, field, kind, text)
        if key not in self._notes:
            self._notes[key] = Drift(stream, field, kind, record_id, text)

    def unknown_fields(
        self, stream: str, record: Mapping[str, Any], known: frozenset[str], record_id: Any
    ) -> None:
        """Note each top-level key of ``record`` that is not in ``known``."""
        extra = record.keys() - known
        for name in sorted(extra):
            self._add(stream, name, "unknown_field", _text(record_id))

    def missing_fields(
        self, stream: str, record: Mapping[str, Any], expected: Iterable[str], record_id: Any
    ) -> None:
        """Note each ``expected`` (optional) key absent from ``record``."""
        for name in expected:
            if name not in record:
                self._add(stream, name, "missing_field", _text(record_id))

    def new_value(self, stream: str, field: str, value: Any, record_id: Any) -> None:
        """Note a value of ``field`` the adapter has no mapping for (a new status…)."""
        self._add(stream, field, "new_value", _text(record_id), value)

    def take(self) -> list[Drift]:
        """The notes collected so far (and forget them)."""
        notes = list(self._notes.values())
        self._notes.clear()
        return notes


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
