"""The supervisor's view: every queue of every system, live while sync runs."""

from __future__ import annotations

import logging
from typing import cast

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from app.cache.queries import QueueStat
from ui.models.queues import QueueStatsModel
from ui.workers import LatestOnly, paced_interval_ms

log = logging.getLogger(__name__)
REFRESH_MS = 500


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
        # bursts of sync events recount at most every REFRESH_MS, counted on a worker thread
        self._debounce = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._debounce.timeout.connect(self.refresh)
        self._ageing = QTimer(self, interval=30_000)  # ages grow even when nothing changes
        self._ageing.timeout.connect(self.schedule_refresh)  # hidden: aged when shown
        self._ageing.start()
        self._worker = LatestOnly(self)
        self._worker.finished.connect(self._counted)
        self._worker.failed.connect(self._failed)
        self._running = False
        self._again = False
        self._stale = False  # changes arrived while the view was hidden
        self.show_summary()

    def schedule_refresh(self) -> None:
        """Recount soon (a steady stream of changes still recounts every REFRESH_MS, or less
        often when counting has become slow); while the view is hidden, recount when shown."""
        if not self.isVisible():
            self._stale = True
            return
        if not self._debounce.isActive():
            self._debounce.start(paced_interval_ms(REFRESH_MS, self._worker.last_cost_s))

    def showEvent(self, event: QShowEvent) -> None:
        """Catch up with what changed while the view was hidden."""
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    def refresh(self) -> None:
        """Recount on the worker thread; the table follows when the counts are in."""
        if self._running:
            self._again = True  # once the running count is in
            return
        self._running = True
        self._worker.start(self.model.read)

    def _counted(self, _generation: int, stats: object) -> None:
        self._running = False
        self.model.set_stats(cast(list[QueueStat], stats))
        self.show_summary()
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, _generation: int, error: object) -> None:
        self._running = False
        log.warning("the supervisor's counts could not be read: %s", error)

    def show_summary(self) -> None:
        """The totals line, in the current language."""
        active, unassigned = self.model.totals()
        self.summary.setText(
            self.tr("Open across all systems: {active} · unassigned: {unassigned}").format(
                active=active, unassigned=unassigned
            )
        )

    def shutdown(self) -> None:
        """Stop counting (the window is closing)."""
        self._debounce.stop()
        self._ageing.stop()
        self._worker.shutdown()
