"""The unified inbox: ids of cached tickets (newest update first) plus a lazy row cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from sqlalchemy import Engine

from app.cache import queries
from ui import timefmt
from ui.labels import priority_label, status_label

PAGE = 200
Index = QModelIndex | QPersistentModelIndex
TICKET_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class InboxModel(QAbstractTableModel):
    """Read-only table over the cache. Rows load in pages when the view asks for them."""

    COLUMNS = ("system", "subject", "requester", "status", "priority", "updated")

    def __init__(self, engine: Engine, system_title: Callable[[str], str], parent: Any = None):
        super().__init__(parent)
        self._engine = engine
        self._system_title = system_title
        self._ids: list[int] = []
        self._rows: dict[int, Any] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def _headers(self) -> tuple[str, ...]:
        return (
            self.tr("System"),
            self.tr("Subject"),
            self.tr("Requester"),
            self.tr("Status"),
            self.tr("Priority"),
            self.tr("Updated"),
        )

    # --- Qt overrides -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self._headers()[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._ids)):
            return None
        ticket_id = self._ids[index.row()]
        if role == TICKET_ID_ROLE:
            return ticket_id
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.FontRole,
        ):
            return None
        row = self._row(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if row.status == "new" else None
        column = self.COLUMNS[index.column()]
        if column == "system":
            return self._system_title(row.system_id)
        if column == "subject":
            return row.subject
        if column == "requester":
            return row.requester_name or row.requester_email or ""
        if column == "status":
            return status_label(row.status)
        if column == "priority":
            return priority_label(row.priority)
        return timefmt.short(row.updated_at)

    # --- ours ---------------------------------------------------------------------------------
    def _row(self, position: int) -> Any:
        ticket_id = self._ids[position]
        row = self._rows.get(ticket_id)
        if row is None:
            start = (position // PAGE) * PAGE
            page = self._ids[start : start + PAGE]
            with self._engine.connect() as conn:
                self._rows.update(queries.inbox_rows(conn, page))
            row = self._rows.get(ticket_id)
        return row

    def ticket_id(self, position: int) -> int | None:
        """The cache id of the ticket at ``position``."""
        return self._ids[position] if 0 <= position < len(self._ids) else None

    def position_of(self, ticket_id: int) -> int | None:
        """The row of ``ticket_id``, if it is listed."""
        try:
            return self._ids.index(ticket_id)
        except ValueError:
            return None

    def refresh(self, changed: list[int] | None = None) -> None:
        """Reload ids from the cache; ``changed`` rows are re-read, others keep their cache."""
        with self._engine.connect() as conn:
            ids = queries.inbox_ids(conn)
        if changed is None:
            self._rows.clear()
        else:
            for ticket_id in changed:
                self._rows.pop(ticket_id, None)
        if ids == self._ids:
            if self._ids:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(self._ids) - 1, len(self.COLUMNS) - 1)
                )
            return
        self.beginResetModel()
        self._ids = ids
        self.endResetModel()
