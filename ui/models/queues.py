"""The supervisor's table: per system and status — count, unassigned, oldest waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from sqlalchemy import Engine

from app.cache import queries
from ui import timefmt
from ui.labels import status_label

Index = QModelIndex | QPersistentModelIndex


class QueueStatsModel(QAbstractTableModel):
    """Rows of :class:`app.cache.queries.QueueStat`."""

    def __init__(self, engine: Engine, system_title: Callable[[str], str], parent: Any = None):
        super().__init__(parent)
        self._engine = engine
        self._system_title = system_title
        self._stats: list[queries.QueueStat] = []

    def _headers(self) -> tuple[str, ...]:
        return (
            self.tr("System"),
            self.tr("Status"),
            self.tr("Tickets"),
            self.tr("Unassigned"),
            self.tr("Oldest waiting"),
        )

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._stats)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 5

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers()[section] if 0 <= section < 5 else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._stats)):
            return None
        stat = self._stats[index.row()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (2, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (
            self._system_title(stat.system_id),
            status_label(stat.status),
            stat.count,
            stat.unassigned,
            timefmt.age(stat.oldest_waiting),
        )
        return values[index.column()]

    def totals(self) -> tuple[int, int]:
        """(open tickets, unassigned open tickets) over every system."""
        active = [s for s in self._stats if s.status in ("new", "open", "pending", "on_hold")]
        return sum(s.count for s in active), sum(s.unassigned for s in active)

    def refresh(self) -> None:
        """Recount from the cache (on the calling thread)."""
        self.set_stats(self.read())

    def read(self) -> list[queries.QueueStat]:
        """Count from the cache — safe on a worker thread."""
        with self._engine.connect() as conn:
            return queries.queue_stats(conn)

    def set_stats(self, stats: list[queries.QueueStat]) -> None:
        """Show counts read by :meth:`read` (a handful of rows)."""
        self.beginResetModel()
        self._stats = stats
        self.endResetModel()
