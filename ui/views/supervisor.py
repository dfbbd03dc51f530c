"""The supervisor's view: every queue of every system, live while sync runs."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.models.queues import QueueStatsModel


class SupervisorView(QWidget):
    """Counts per system and status, unassigned, oldest waiting; recounted as tickets change."""

    def __init__(self, model: QueueStatsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.summary = QLabel()
        self.table = QTableView()
        self.table.setModel(model)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)
        self._ageing = QTimer(self, interval=30_000)  # ages grow even when nothing changes
        self._ageing.timeout.connect(self.refresh)
        self._ageing.start()

    def schedule_refresh(self) -> None:
        """Recount soon (coalesces bursts of changes)."""
        self._debounce.start()

    def refresh(self) -> None:
        """Recount now."""
        self.model.refresh()
        active, unassigned = self.model.totals()
        self.summary.setText(
            self.tr("Open across all systems: {active} · unassigned: {unassigned}").format(
                active=active, unassigned=unassigned
            )
        )
