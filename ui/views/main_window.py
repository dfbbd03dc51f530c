"""The main window: views pane, searchable inbox, conversation with composer, supervisor tab."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QByteArray, QEvent, QItemSelection, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.actions import ChangeStatus, Reply
from app.cache import drafts, queries, views
from app.cache.search import SearchFilters, SearchSession
from app.cache.views import ViewFilter
from app.domain import Status
from app.runtime import Workstation
from app.sync.health import Light
from app.timeutil import utcnow
from ui import canned, timefmt
from ui.bridge import Bridge, run_op
from ui.labels import reason_label, status_label
from ui.models.inbox import InboxModel
from ui.models.queues import QueueStatsModel
from ui.views.audit_viewer import AuditViewer
from ui.views.supervisor import SupervisorView
from ui.widgets.commands import CheatSheet, CommandPalette
from ui.widgets.conversation import ConversationPanel
from ui.widgets.error_banner import ErrorBanner
from ui.widgets.highlight import HighlightDelegate
from ui.widgets.status_light import StatusLight
from ui.widgets.views_pane import ViewsPane
from ui.workers import LatestOnly, SearchRunner

log = logging.getLogger(__name__)
SEARCH_LIMIT = 500  # texts per search; the inbox lists their distinct tickets
NEXT_UNREAD_SCAN = 4000  # rows looked at by "next unread"
VIEW_KEYS = ("mine", "unassigned", "open", "all")


class MainWindow(QMainWindow):
    """One window over every connected system."""

    closed = Signal()
    """closed(): the agent closed the window; the session shuts down."""

    def __init__(
        self,
        workstation: Workstation,
        parent: QWidget | None = None,
        *,
        restore_layout: bool = True,
    ) -> None:
        super().__init__(parent)
        self.ws = workstation
        self.bridge = Bridge(workstation.bus, self)
        engine = workstation.cache.engine
        self.agent = str(workstation.config.get("agent_name") or "")
        self.inbox_model = InboxModel(engine, workstation.title, self)
        self.queue_model = QueueStatsModel(engine, workstation.title, self)
        self._base_view = ViewFilter()
        self._search_text = ""

        self.views_pane = ViewsPane(
            engine,
            {system_id: entry.title for system_id, entry in workstation.config.systems.items()},
            self.agent,
        )
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search_runner = SearchRunner(SearchSession(workstation.cache), self)
        self.worker = LatestOnly(self)
        self.inbox = QTableView()
        self.inbox.setModel(self.inbox_model)
        self.inbox.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.inbox.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.inbox.verticalHeader().hide()
        self.inbox.setWordWrap(False)
        self.inbox.setAlternatingRowColors(True)
        self.highlighter = HighlightDelegate(self.inbox)
        self.inbox.setItemDelegateForColumn(1, self.highlighter)
        header = self.inbox.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in ((0, 110), (1, 260), (2, 90), (3, 70), (4, 60), (5, 120), (6, 60)):
            self.inbox.setColumnWidth(column, width)
        header.setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        self.inbox.setSortingEnabled(True)
        self.banner = ErrorBanner()
        self.search_status = QLabel()
        inbox_pane = QWidget()
        inbox_layout = QVBoxLayout(inbox_pane)
        inbox_layout.setContentsMargins(0, 0, 0, 0)
        inbox_layout.addWidget(self.search)
        inbox_layout.addWidget(self.search_status)
        inbox_layout.addWidget(self.inbox, 1)
        self.conversation = ConversationPanel()
        self.conversation.agent = self.agent
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.views_pane)
        self.splitter.addWidget(inbox_pane)
        self.splitter.addWidget(self.conversation)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([210, 760, 390])
        self.supervisor = SupervisorView(self.queue_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "")
        self.tabs.addTab(self.supervisor, "")
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

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

        self.commands: dict[str, QAction] = {}
        self._build_actions()
        self.inbox.selectionModel().selectionChanged.connect(self._selection_changed)
        self.search.textChanged.connect(self._search_changed)
        self.search_runner.finished.connect(self._search_finished)
        self.search_runner.failed.connect(self._search_failed)
        self.worker.finished.connect(self._worker_finished)
        self.worker.failed.connect(lambda _g, error: self.show_error(error))
        self.views_pane.view_chosen.connect(self._view_chosen)
        self.inbox_model.sort_refused.connect(self._sort_refused)
        self.bridge.tickets_changed.connect(self._tickets_changed)
        self.bridge.health_changed.connect(lambda _system: self.update_lights())
        self.bridge.action_state_changed.connect(self._action_state_changed)
        self.bridge.audit_uploaded.connect(self._audit_uploaded)
        self.bridge.error_raised.connect(self.banner.show_error)
        self.conversation.reply_requested.connect(self._reply)
        self.conversation.status_requested.connect(self._set_status)
        self.conversation.draft_changed.connect(self._save_draft)
        self.conversation.decision_requested.connect(self._decide)
        hints = QApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _scheme: self.show_current())

        self.resize(1360, 820)
        if restore_layout:
            self._restore_layout()
        self.retranslate()
        self.inbox_model.refresh_in_background()  # first rows now, the exact count after
        self.show_current()
        self.views_pane.recount()
        self.update_lights()

    # --- actions ------------------------------------------------------------------------------
    def _action(
        self,
        name: str,
        handler: Callable[[], object],
        *keys: QKeySequence | QKeySequence.StandardKey | str,
    ) -> QAction:
        action = QAction(self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: handler())
        self.addAction(action)
        self.commands[name] = action
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self._action("search", self.focus_search, key.Find)
        self._action("customer", self.customer_tickets, "Ctrl+Shift+F")
        self._action("reply", lambda: self.conversation.set_public(True), "Ctrl+R")
        self._action("note", lambda: self.conversation.set_public(False), "Ctrl+Shift+N")
        self._action("send", self.conversation._send, "Ctrl+Return", "Ctrl+Enter")
        self._action("pending", lambda: self.set_status_of_selection("pending"), "Ctrl+Shift+P")
        self._action("solved", lambda: self.set_status_of_selection("solved"), "Ctrl+Shift+S")
        self._action("close", lambda: self.set_status_of_selection("closed"), "Ctrl+Shift+C")
        self._action("next_unread", self.next_unread, "Ctrl+U")
        self._action("down", lambda: self.move_selection(1), "Alt+Down")
        self._action("up", lambda: self.move_selection(-1), "Alt+Up")
        for position in range(len(canned.replies())):
            self._action(
                f"canned{position}",
                lambda p=position: self.conversation.insert_canned(p),  # type: ignore[misc]
                f"Alt+{position + 1}",
            )
        for number, view_key in enumerate(VIEW_KEYS, start=1):
            self._action(
                f"view_{view_key}",
                lambda k=view_key: self.views_pane.select(k),  # type: ignore[misc]
                f"Ctrl+{number}",
            )
        self._action("save_search", self.save_search, key.Save)
        self._action("sync", self.sync_now, key.Refresh)
        self._action("inbox_tab", lambda: self.tabs.setCurrentIndex(0))
        self._action("supervisor_tab", lambda: self.tabs.setCurrentIndex(1))
        self._action("audit", self.open_audit_log, "Ctrl+Shift+A")
        self._action("palette", self.open_palette, "Ctrl+K")
        self._action("help", self.open_cheat_sheet, key.HelpContents, "Ctrl+/")
        self._action("quit", self.close, key.Quit)

    def _action_texts(self) -> dict[str, str]:
        texts = {
            "search": self.tr("Search"),
            "customer": self.tr("This customer's tickets in every system"),
            "reply": self.tr("Reply"),
            "note": self.tr("Internal note"),
            "send": self.tr("Send"),
            "pending": self.tr("Set status: Pending"),
            "solved": self.tr("Set status: Solved"),
            "close": self.tr("Close ticket"),
            "next_unread": self.tr("Next unread ticket"),
            "down": self.tr("Next ticket"),
            "up": self.tr("Previous ticket"),
            "save_search": self.tr("Save this search"),
            "sync": self.tr("Sync now"),
            "inbox_tab": self.tr("Show the inbox"),
            "supervisor_tab": self.tr("Show the supervisor view"),
            "audit": self.tr("Audit log (supervisors)"),
            "palette": self.tr("Command palette"),
            "help": self.tr("Keyboard shortcuts"),
            "quit": self.tr("Quit"),
            "view_mine": self.tr("View: My tickets"),
            "view_unassigned": self.tr("View: Unassigned"),
            "view_open": self.tr("View: All open"),
            "view_all": self.tr("View: All tickets"),
        }
        for position, reply in enumerate(canned.replies()):
            texts[f"canned{position}"] = self.tr("Canned reply: {title}").format(title=reply.title)
        return texts

    def focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.tabs.setCurrentIndex(0)
        self.search.setFocus()
        self.search.selectAll()

    def open_palette(self) -> CommandPalette:
        """The command palette over every action."""
        palette = CommandPalette(list(self.commands.values()), self)
        palette.open()
        return palette

    def open_audit_log(self) -> AuditViewer:
        """The supervisors' audit viewer over the backend."""
        viewer = AuditViewer(self.ws, self)
        viewer.open()
        return viewer

    def open_cheat_sheet(self) -> CheatSheet:
        """The keyboard shortcut cheat sheet."""
        sheet = CheatSheet(list(self.commands.values()), self)
        sheet.open()
        return sheet

    # --- text ---------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Every visible string; re-run on QEvent.LanguageChange."""
        self.setWindowTitle(self.tr("Tabless — all your support systems in one window"))
        self.tabs.setTabText(0, self.tr("Inbox"))
        self.tabs.setTabText(1, self.tr("Supervisor"))
        self.inbox.setAccessibleName(self.tr("Unified inbox"))
        self.search.setPlaceholderText(self.tr("Search every system (Ctrl+F)…"))
        self.search.setAccessibleName(self.tr("Search"))
        for name, text in self._action_texts().items():
            self.commands[name].setText(text)
        self.conversation.retranslate()
        self.views_pane.retranslate()
        self.banner.retranslate()
        self.update_lights()
        self.supervisor.refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_error(self, error: BaseException | str, summary: str = "") -> None:
        """A plain-language line over the window; the technical text behind Details."""
        details = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.banner.show_error(summary or self.tr("Something went wrong."), details)

    # --- layout -------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        settings = QSettings()
        for key, restore in (
            ("window/geometry", self.restoreGeometry),
            ("window/splitter", self.splitter.restoreState),
            ("window/inbox_header", self.inbox.horizontalHeader().restoreState),
        ):
            value = settings.value(key)
            if isinstance(value, QByteArray) and not value.isEmpty():
                restore(value)

    def save_layout(self) -> None:
        """Remember the window geometry, pane sizes and column layout (QSettings)."""
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/inbox_header", self.inbox.horizontalHeader().saveState())

    # --- views and search -----------------------------------------------------------------------
    def _view_chosen(self, view: ViewFilter, search_text: str) -> None:
        self._base_view = view
        if search_text:
            self.search.setText(search_text)  # runs the saved search
        elif self.search.text():
            self._search_changed(self.search.text())
        else:
            self._set_inbox_view(view)

    def _set_inbox_view(self, view: ViewFilter) -> None:
        self._refreshing = True
        try:
            self.inbox_model.set_view(view)
        finally:
            self._refreshing = False
        self.show_current()

    def _search_changed(self, text: str) -> None:
        self._search_text = text.strip()
        if not self._search_text:
            self.search_runner.cancel()
            self.highlighter.query = ""
            self.search_status.clear()
            self._set_inbox_view(self._base_view)
            return
        view = self._base_view
        filters = SearchFilters(
            systems=(view.system_id,) if view.system_id else (),
            statuses=view.statuses,
            assignees=(view.assignee,) if view.assignee else (),
            unassigned=view.unassigned,
        )
        self.search_status.setText(self.tr("Searching…"))
        self.search_runner.submit(self._search_text, filters, SEARCH_LIMIT)

    def _search_finished(self, query: str, result: object) -> None:
        if query != self._search_text:
            return
        ids = list(dict.fromkeys(hit.ticket_id for hit in result.hits))  # type: ignore[attr-defined]
        self.highlighter.query = query
        self.search_status.setText(
            self.tr("{texts} matching texts in {tickets} tickets").format(
                texts=result.total,  # type: ignore[attr-defined]
                tickets=len(ids),
            )
        )
        self._set_inbox_view(dataclasses.replace(self._base_view, ticket_ids=tuple(ids)))
        self.inbox.viewport().update()

    def _search_failed(self, query: str, error: object) -> None:
        if query == self._search_text:
            self.search_status.setText(self.tr("The search could not run."))
            self.show_error(str(error), self.tr("The search could not run."))

    def save_search(self) -> None:
        """Keep the current search text under Saved searches."""
        if self._search_text:
            self.views_pane.save_search(self._search_text)

    def customer_tickets(self) -> None:
        """List the selected ticket's customer's tickets across every system."""
        ticket = self.conversation.ticket
        who = ticket and (ticket.requester_email or ticket.requester_name)
        if not who:
            return
        engine = self.ws.cache.engine

        def find() -> tuple[str, list[int]]:
            with engine.connect() as conn:
                return str(who), views.requester_ids(conn, str(who))

        self.search_status.setText(self.tr("Looking up the customer's tickets…"))
        self.worker.start(find)

    def _worker_finished(self, _generation: int, result: object) -> None:
        who, ids = cast(tuple[str, list[int]], result)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._search_text = ""
        self.highlighter.query = ""
        self.search_status.setText(
            self.tr("{n} tickets of {who} in every system").format(n=len(ids), who=who)
        )
        self._set_inbox_view(ViewFilter(ticket_ids=tuple(ids)))
        if ids:
            self.inbox.setFocus()
            self.inbox.selectRow(0)

    def _sort_refused(self, rows: int) -> None:
        header = self.inbox.horizontalHeader()
        header.blockSignals(True)
        order = self.inbox_model.order
        columns = self.inbox_model.COLUMNS
        column = columns.index(order.key.value) if order.key.value in columns else 5
        header.setSortIndicator(
            column,
            Qt.SortOrder.DescendingOrder if order.descending else Qt.SortOrder.AscendingOrder,
        )
        header.blockSignals(False)
        self.statusBar().showMessage(
            self.tr(
                "This view has {rows} tickets: choose a system, queue or search to sort it "
                "by this column."
            ).format(rows=f"{rows:,}"),
            10_000,
        )

    # --- navigation ---------------------------------------------------------------------------
    def move_selection(self, step: int) -> None:
        """Select the next (1) or previous (-1) ticket."""
        current = self.inbox.currentIndex().row()
        target = max(0, min(self.inbox_model.rowCount() - 1, current + step))
        if self.inbox_model.rowCount():
            self.inbox.selectRow(target)

    def next_unread(self) -> bool:
        """Select the next unread ticket below the current one (wraps to the top)."""
        count = self.inbox_model.rowCount()
        start = self.inbox.currentIndex().row()
        for offset in range(1, min(count, NEXT_UNREAD_SCAN) + 1):
            position = (start + offset) % count
            row = self.inbox_model.row(position)
            if row is not None and self.inbox_model.is_unread(row):
                self.inbox.selectRow(position)
                return True
        return False

    def sync_now(self) -> None:
        """Poll every system now."""
        for system_id in self.ws.sync.coordinators:
            self.ws.sync.poke(system_id)

    # --- data ---------------------------------------------------------------------------------
    def _tickets_changed(self, _system_id: str, ids: list[int]) -> None:
        self._changed.update(ids)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()
        self.views_pane.schedule_recount()

    def refresh_views(self) -> None:
        """Re-read the inbox, the open ticket and the supervisor counts from the cache."""
        selected = self.current_ticket_id()
        changed, self._changed = list(self._changed), set()
        self._refreshing = True  # a reset clears the selection for a moment: not a user choice
        try:
            self.inbox_model.refresh(changed)
            if selected is not None and selected != self.current_ticket_id():
                position = self.inbox_model.position_of(selected)
                if position is not None:
                    self.inbox.selectRow(position)
        finally:
            self._refreshing = False
        if selected is None or selected in changed or selected != self.current_ticket_id():
            self.show_current()
        self.supervisor.schedule_refresh()
        self.views_pane.schedule_recount()

    def current_ticket_id(self) -> int | None:
        """The cache id of the selected ticket (the current one of a multi-selection)."""
        selection = self.inbox.selectionModel()
        current = selection.currentIndex()
        if current.isValid() and selection.isRowSelected(current.row()):
            return self.inbox_model.ticket_id(current.row())
        rows = selection.selectedRows()
        return self.inbox_model.ticket_id(rows[0].row()) if rows else None

    def selected_ticket_ids(self) -> list[int]:
        """Every selected ticket (for actions on several at once)."""
        ids = [
            self.inbox_model.ticket_id(i.row()) for i in self.inbox.selectionModel().selectedRows()
        ]
        return [i for i in ids if i is not None]

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._refreshing:
            self.show_current()

    def show_current(self) -> None:
        """Show the selected ticket's conversation (from the cache only)."""
        ticket_id = self.current_ticket_id()
        if ticket_id is None:
            self.conversation.show_ticket(None, [], [], frozenset())
            return
        with self.ws.cache.engine.connect() as conn:
            ticket = queries.ticket(conn, ticket_id)
            messages = queries.conversation(conn, ticket_id)
            actions = queries.pending_actions(conn, ticket_id)
            draft = drafts.load(conn, ticket_id)
        if ticket is None:
            return
        caps = frozenset(c.value for c in self.ws.capabilities(ticket.system_id))
        self.conversation.show_ticket(
            ticket, messages, actions, caps, self.ws.title(ticket.system_id), draft
        )
        position = self.inbox.currentIndex().row()
        if self.inbox_model.ticket_id(position) == ticket_id:
            self.inbox_model.mark_seen(position)

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
        self.show_error(error, self.tr("Could not record the action."))

    def _reply(self, ticket_id: int, body: str, public: bool, then_status: str) -> None:
        def recorded(_action_id: str) -> None:
            self.conversation.clear_editor()
            run_op(self.ws.writer.run(drafts.clear, ticket_id), on_error=self._report)
            if then_status:
                self._set_status(ticket_id, then_status)

        run_op(
            self.ws.actions.submit(Reply(ticket_id, body, public)),
            on_success=recorded,
            on_error=self._report,
        )

    def _set_status(self, ticket_id: int, status: str) -> None:
        run_op(
            self.ws.actions.submit(ChangeStatus(ticket_id, Status(status))), on_error=self._report
        )

    def set_status_of_selection(self, status: str) -> None:
        """Apply ``status`` to every selected ticket."""
        ids = self.selected_ticket_ids()
        for ticket_id in ids:
            self._set_status(ticket_id, status)
        if ids:
            self.statusBar().showMessage(
                self.tr("{status}: {n} tickets").format(status=status_label(status), n=len(ids)),
                5_000,
            )

    def _save_draft(self, ticket_id: int, body: str, public: bool) -> None:
        run_op(
            self.ws.writer.run(drafts.save, ticket_id, body, public, utcnow()),
            on_error=self._report,
        )

    def _decide(self, action_id: str, decision: str) -> None:
        service = self.ws.actions
        operation = (
            service.retry(action_id)
            if decision == "retry"
            else service.resolve_conflict(action_id, "send_anyway")
            if decision == "send_anyway"
            else service.discard(action_id)
        )
        run_op(operation, on_success=lambda _state: self.show_current(), on_error=self._report)

    def _action_state_changed(self, action_id: str, ticket_id: int, state: str) -> None:
        if state in ("failed", "conflict"):
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
        self.conversation.flush_draft()
        self.save_layout()
        self.bridge.detach()
        self.worker.shutdown()
        self.search_runner.close()
        super().closeEvent(event)
        self.closed.emit()
