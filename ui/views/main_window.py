"""The main window: unified inbox, conversation with composer, supervisor tab, status lights."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QWidget,
)

from app.actions import ChangeStatus, Reply
from app.cache import queries
from app.domain import Status
from app.runtime import Workstation
from app.sync.health import Light
from app.timeutil import utcnow
from ui import timefmt
from ui.bridge import Bridge, run_op
from ui.labels import reason_label
from ui.models.inbox import InboxModel
from ui.models.queues import QueueStatsModel
from ui.views.supervisor import SupervisorView
from ui.widgets.conversation import ConversationPanel
from ui.widgets.status_light import StatusLight

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """One window over every connected system."""

    closed = Signal()
    """closed(): the agent closed the window; the session shuts down."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workstation
        self.bridge = Bridge(workstation.bus, self)
        engine = workstation.cache.engine
        self.inbox_model = InboxModel(engine, workstation.title, self)
        self.queue_model = QueueStatsModel(engine, workstation.title, self)
        self._failed_actions: set[str] = set()

        self.inbox = QTableView()
        self.inbox.setModel(self.inbox_model)
        self.inbox.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.inbox.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.inbox.verticalHeader().hide()
        self.inbox.setWordWrap(False)
        self.inbox.setAlternatingRowColors(True)
        header = self.inbox.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 130), (2, 120), (3, 80), (4, 70), (5, 130)):
            self.inbox.setColumnWidth(column, width)
        self.conversation = ConversationPanel()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.inbox)
        splitter.addWidget(self.conversation)
        splitter.setSizes([760, 520])
        self.supervisor = SupervisorView(self.queue_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, "")
        self.tabs.addTab(self.supervisor, "")
        self.setCentralWidget(self.tabs)

        self.lights: dict[str, StatusLight] = {}
        for system_id, entry in workstation.config.systems.items():
            light = StatusLight(system_id, entry.title)
            self.lights[system_id] = light
            self.statusBar().addPermanentWidget(light)
        self.audit_label = QLabel()
        self.statusBar().addPermanentWidget(self.audit_label)

        self._refresh_timer = QTimer(self, singleShot=True, interval=150)
        self._refresh_timer.timeout.connect(self.refresh_views)
        self._changed: set[int] = set()
        self._refreshing = False
        self._health_timer = QTimer(self, interval=5_000)
        self._health_timer.timeout.connect(self.update_lights)
        self._health_timer.start()

        self.inbox.selectionModel().selectionChanged.connect(self._selection_changed)
        self.bridge.tickets_changed.connect(self._tickets_changed)
        self.bridge.health_changed.connect(lambda _system: self.update_lights())
        self.bridge.action_state_changed.connect(self._action_state_changed)
        self.bridge.audit_uploaded.connect(self._audit_uploaded)
        self.conversation.reply_requested.connect(self._reply)
        self.conversation.status_requested.connect(self._set_status)

        self.resize(1360, 820)
        self.retranslate()
        self.refresh_views()
        self.update_lights()

    # --- text ---------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Every visible string; re-run on QEvent.LanguageChange."""
        self.setWindowTitle(self.tr("Tabless — all your support systems in one window"))
        self.tabs.setTabText(0, self.tr("Inbox"))
        self.tabs.setTabText(1, self.tr("Supervisor"))
        self.inbox.setAccessibleName(self.tr("Unified inbox"))
        self.conversation.retranslate()
        self.update_lights()
        self.supervisor.refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- data ---------------------------------------------------------------------------------
    def _tickets_changed(self, _system_id: str, ids: list[int]) -> None:
        self._changed.update(ids)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh_views(self) -> None:
        """Re-read the inbox, the open ticket and the supervisor counts from the cache."""
        selected = self.current_ticket_id()
        changed, self._changed = list(self._changed), set()
        self._refreshing = True  # a reset clears the selection for a moment: not a user choice
        try:
            self.inbox_model.refresh(changed)
            if selected is not None:
                position = self.inbox_model.position_of(selected)
                if position is not None:
                    self.inbox.selectRow(position)
        finally:
            self._refreshing = False
        if selected is None or selected in changed or selected != self.current_ticket_id():
            self.show_current()
        self.supervisor.schedule_refresh()

    def current_ticket_id(self) -> int | None:
        """The cache id of the selected ticket."""
        rows = self.inbox.selectionModel().selectedRows()
        return self.inbox_model.ticket_id(rows[0].row()) if rows else None

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._refreshing:
            self.show_current()

    def show_current(self) -> None:
        """Show the selected ticket's conversation (from the cache only)."""
        ticket_id = self.current_ticket_id()
        if ticket_id is None:
            self.conversation.show_ticket(None, [], set(), set(), frozenset())
            return
        with self.ws.cache.engine.connect() as conn:
            ticket = queries.ticket(conn, ticket_id)
            messages = queries.conversation(conn, ticket_id)
            actions = queries.pending_actions(conn, ticket_id)
        if ticket is None:
            return
        failed = {a.action_id for a in actions if a.state == "failed"}
        pending = {a.action_id for a in actions if a.state == "pending"}
        caps = frozenset(c.value for c in self.ws.capabilities(ticket.system_id))
        self.conversation.show_ticket(
            ticket, messages, pending, failed, caps, self.ws.title(ticket.system_id)
        )

    def update_lights(self) -> None:
        """Recolour each system's light from its coordinator's health."""
        now = utcnow()
        for system_id, light in self.lights.items():
            coordinator = self.ws.sync.coordinators.get(system_id)
            if coordinator is None:
                error = self.ws.failed_systems.get(system_id, "")
                light.set_state(Light.RED, self.tr("Cannot start: {error}").format(error=error))
                continue
            health = coordinator.health
            colour, reason = health.assess(now, self.ws.policy)
            lines = [f"{light.title}: {reason_label(reason)}"]
            if health.last_success_at:
                lines.append(
                    self.tr("Last synced: {when}").format(
                        when=timefmt.short(health.last_success_at)
                    )
                )
            if health.last_latency_ms is not None:
                lines.append(
                    self.tr("Response time: {ms:.0f} ms").format(ms=health.last_latency_ms)
                )
            if health.last_error:
                lines.append(self.tr("Last error: {error}").format(error=health.last_error))
            light.set_state(colour, "\n".join(lines))

    # --- actions ------------------------------------------------------------------------------
    def _report(self, error: BaseException) -> None:
        self.statusBar().showMessage(
            self.tr("Could not record the action: {error}").format(error=error), 10_000
        )

    def _reply(self, ticket_id: int, body: str, public: bool) -> None:
        run_op(
            self.ws.actions.submit(Reply(ticket_id, body, public)),
            on_success=lambda _action_id: self.conversation.clear_editor(),
            on_error=self._report,
        )

    def _set_status(self, ticket_id: int, status: str) -> None:
        run_op(
            self.ws.actions.submit(ChangeStatus(ticket_id, Status(status))), on_error=self._report
        )

    def _action_state_changed(self, action_id: str, ticket_id: int, state: str) -> None:
        if state == "failed":
            self._failed_actions.add(action_id)
            self.statusBar().showMessage(self.tr("An action could not be delivered."), 10_000)
        if ticket_id == self.current_ticket_id():
            self.show_current()

    def _audit_uploaded(self, accepted: int, pending: int, error: str) -> None:
        if error:
            self.audit_label.setText(self.tr("Audit upload failing"))
            self.audit_label.setToolTip(error)
        else:
            self.audit_label.setText(self.tr("Audit: {n} pending").format(n=max(pending, 0)))
            self.audit_label.setToolTip("")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.bridge.detach()
        super().closeEvent(event)
        self.closed.emit()
