"""The main window: views pane, searchable inbox, conversation with composer, supervisor tab.

It comes up in two steps so that a cold start paints the cached inbox at once: the window is
built first as a shell around the inbox (rows from ``app.cache.inbox.InboxPreview``, read with
sqlite3 — no SQLAlchemy, no adapters), then :meth:`MainWindow.attach` connects it to the core
(``app.runtime.Workstation``) and adds what needs it: the views pane, the conversation, the
customer panel, the supervisor tab, the status lights, the shortcuts. The rows on screen, the
selection and the scroll position stay as they are; the core's first re-read updates them in
place. This module therefore imports the core only inside the methods that use it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QByteArray, QEvent, QItemSelection, QSettings, Qt, QTimer, Signal
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

from app.cache.inbox import InboxPreview, ViewFilter
from app.config import Config
from app.timeutil import utcnow
from ui import timefmt
from ui.models.inbox import PAGE, InboxModel, InboxUpdate

if TYPE_CHECKING:
    from PySide6.QtGui import QAction, QCloseEvent, QKeySequence

    from app.runtime import Workstation
    from ui.bridge import Bridge
    from ui.bulk import BulkActions
    from ui.canned import Canned
    from ui.customer_view import CustomerView
    from ui.models.queues import QueueStatsModel
    from ui.tray import TrayController
    from ui.views.accounts_dialog import AccountsDialog
    from ui.views.audit_viewer import AuditViewer
    from ui.views.supervisor import SupervisorView
    from ui.widgets.attachments import AttachmentHandler
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
REFRESH_MS = 300  # sync bursts re-read the inbox at most about three times a second
SELECTION_TRACKED = 50  # selected tickets whose rows are looked up again after a refresh
PANE_SIZES = (210, 760, 390)  # views pane, inbox, conversation


def system_titles(config: Config) -> Callable[[str], str]:
    """The display title of a system by its id (the id itself when it is not configured)."""

    def title(system_id: str) -> str:
        entry = config.systems.get(system_id)
        return entry.title if entry else system_id

    return title


CORE_MODULES = (
    "app.runtime",
    "ui.bulk",
    "ui.customer_view",
    "ui.tray",
    "ui.views.accounts_dialog",
    "ui.views.audit_viewer",
    "ui.views.supervisor",
    "ui.widgets.commands",
    "ui.widgets.attachments",
    "ui.widgets.conversation",
    "ui.widgets.error_banner",
    "ui.widgets.highlight",
    "ui.widgets.status_light",
    "ui.widgets.views_pane",
)
"""The core and the modules of what :meth:`MainWindow.attach` builds."""


def import_core() -> None:
    """Import :data:`CORE_MODULES` (no Qt object is made, so a worker thread may run this while
    the shell stays responsive)."""
    for name in CORE_MODULES:
        import_module(name)


class MainWindow(QMainWindow):
    """One window over every connected system."""

    closed = Signal()
    """closed(): the agent closed the window; the session shuts down."""
    attached = Signal()
    """attached(): the window is connected to the core (every pane and action works)."""

    ws: Workstation
    banner: ErrorBanner
    bridge: Bridge
    queue_model: QueueStatsModel
    views_pane: ViewsPane
    search_runner: SearchRunner
    worker: LatestOnly
    highlighter: HighlightDelegate
    conversation: ConversationPanel
    customer: CustomerView
    side: QTabWidget
    supervisor: SupervisorView
    lights: dict[str, StatusLight]
    audit_label: QLabel
    tray: TrayController
    attachment_handler: AttachmentHandler
    bulk: BulkActions

    def __init__(
        self,
        workstation: Workstation | None = None,
        parent: QWidget | None = None,
        *,
        restore_layout: bool = True,
        config: Config | None = None,
        preview: InboxPreview | None = None,
    ) -> None:
        """With a ``workstation``: the whole window at once. Without: the shell over ``config``
        showing the ``preview``'s rows, until :meth:`attach`."""
        super().__init__(parent)
        if workstation is not None:
            config = workstation.config
        if config is None:
            raise TypeError("MainWindow needs a workstation or, for its shell, a configuration")
        self.config = config
        self.is_attached = False
        self.agent = str(config.get("agent_name") or "")
        self.inbox_model = InboxModel(
            workstation.cache.engine if workstation else None,
            workstation.title if workstation else system_titles(config),
            self,
            preview=preview,
        )
        self._base_view = ViewFilter()
        self._search_text = ""
        self._pending_select: int | None = None  # a ticket to select once its view is shown
        self._refreshing = False
        self._selected_ids: tuple[int, ...] = ()  # what the agent selected, by ticket id

        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.inbox = QTableView()
        self.inbox.setModel(self.inbox_model)
        self.inbox.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.inbox.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.inbox.verticalHeader().hide()
        self.inbox.setWordWrap(False)
        self.inbox.setAlternatingRowColors(True)
        header = self.inbox.horizontalHeader()
        self._fit_columns()
        header.setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        self.inbox.setSortingEnabled(True)
        self.search_status = QLabel()
        inbox_pane = QWidget()
        inbox_layout = QVBoxLayout(inbox_pane)
        inbox_layout.setContentsMargins(0, 0, 0, 0)
        inbox_layout.addWidget(self.search)
        inbox_layout.addWidget(self.search_status)
        inbox_layout.addWidget(self.inbox, 1)
        # the views pane, the conversation side and the supervisor view come with the core
        self._placeholders = (QWidget(), QWidget(), QWidget())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._placeholders[0])
        self.splitter.addWidget(inbox_pane)
        self.splitter.addWidget(self._placeholders[1])
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes(list(PANE_SIZES))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "")
        self.tabs.addTab(self._placeholders[2], "")
        central = QWidget()
        self._central_layout = QVBoxLayout(central)
        self._central_layout.setContentsMargins(0, 0, 0, 0)
        self._central_layout.addWidget(self.tabs, 1)  # the error banner goes above (attach)
        self.setCentralWidget(central)
        self.commands: dict[str, QAction] = {}
        self.inbox.selectionModel().selectionChanged.connect(self._selection_changed)
        self.search.textChanged.connect(self._search_changed)
        self.inbox_model.sort_refused.connect(self._sort_refused)
        self.resize(1360, 820)
        if restore_layout:
            self._restore_layout()
        self.retranslate()
        self.inbox_model.refresh_in_background()  # first rows now, the exact count after
        if workstation is not None:
            self.attach(workstation)
        else:
            self.statusBar().showMessage(self.tr("Opening your systems…"))

    def attach(self, workstation: Workstation) -> None:
        """Connect the shell to the core and build the panes and actions that need it. The
        inbox keeps its rows, selection and scroll position; the core re-reads it in place."""
        from app.cache.search import SearchSession
        from ui.bridge import Bridge
        from ui.bulk import BulkActions
        from ui.customer_view import CustomerView
        from ui.models.queues import QueueStatsModel
        from ui.tray import install_tray
        from ui.views.supervisor import SupervisorView
        from ui.widgets.attachments import AttachmentHandler
        from ui.widgets.conversation import ConversationPanel
        from ui.widgets.error_banner import ErrorBanner
        from ui.widgets.highlight import HighlightDelegate
        from ui.widgets.status_light import StatusLight
        from ui.widgets.views_pane import ViewsPane
        from ui.workers import LatestOnly, SearchRunner

        if self.is_attached:
            raise RuntimeError("the window is attached to a workstation already")
        self.ws = workstation
        self.config = workstation.config
        self.banner = ErrorBanner()  # hidden until an error
        self._central_layout.insertWidget(0, self.banner)
        self.bridge = Bridge(workstation.bus, self)
        engine = workstation.cache.engine
        previewed = not self.inbox_model.attached
        self.inbox_model.attach(engine, workstation.title)
        self.queue_model = QueueStatsModel(engine, workstation.title, self)
        self.views_pane = ViewsPane(
            engine,
            {system_id: entry.title for system_id, entry in workstation.config.systems.items()},
            self.agent,
        )
        self.search_runner = SearchRunner(SearchSession(workstation.cache), self)
        self.worker = LatestOnly(self)
        self.highlighter = HighlightDelegate(self.inbox)
        self.inbox.setItemDelegateForColumn(1, self.highlighter)
        self.conversation = ConversationPanel()
        self.conversation.agent = self.agent
        self.customer = CustomerView(workstation)
        self.customer.open_ticket.connect(self.open_customer_ticket)
        self.side = QTabWidget()  # the selected ticket: its conversation, its customer
        self.side.addTab(self.conversation, "")
        self.side.addTab(self.customer, "")
        self.side.currentChanged.connect(lambda _index: self._load_customer())
        self.splitter.replaceWidget(0, self.views_pane)  # same geometry: nothing moves
        self.splitter.replaceWidget(2, self.side)
        self.supervisor = SupervisorView(self.queue_model)
        shown = self.tabs.currentIndex()
        self.tabs.removeTab(1)
        self.tabs.insertTab(1, self.supervisor, "")
        self.tabs.setCurrentIndex(shown)
        for placeholder in self._placeholders:
            placeholder.deleteLater()

        self.statusBar().clearMessage()
        self.lights = {}
        for system_id, entry in workstation.config.systems.items():
            light = StatusLight(system_id, entry.title)
            self.lights[system_id] = light
            self.statusBar().addPermanentWidget(light)
        self.audit_label = QLabel()
        self.statusBar().addPermanentWidget(self.audit_label)

        # Sync events are coalesced: at most one re-read in flight, REFRESH_MS apart; the
        # re-read runs on its own worker thread and only its small result reaches the loop.
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh_in_background)
        self._refresh_worker = LatestOnly(self)
        self._refresh_worker.finished.connect(lambda _g, update: self._apply_refresh(update))
        self._refresh_worker.failed.connect(self._refresh_failed)
        self._refresh_running = False
        self._tracked: tuple[int | None, tuple[int, ...]] = (None, ())
        self._changed: set[int] = set()  # tickets changed since the last re-read started
        self._reading: set[int] = set()  # those the running re-read covers
        self._health_timer = QTimer(self, interval=5_000)
        self._health_timer.timeout.connect(self.update_lights)
        self._health_timer.start()

        self._build_actions()
        self.search_runner.finished.connect(self._search_finished)
        self.search_runner.failed.connect(self._search_failed)
        self.worker.finished.connect(self._worker_finished)
        self.worker.failed.connect(lambda _g, error: self.show_error(error))
        self.views_pane.view_chosen.connect(self._view_chosen)
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

        self.tray = install_tray(self, workstation)
        self.attachment_handler = AttachmentHandler(self)
        self.bulk = BulkActions(self)
        self.is_attached = True
        self.retranslate()
        if previewed:  # the preview's rows (or none) are brought up to date in place
            self._refresh_in_background()
        if self._search_text:  # typed while the core was loading
            self._search_changed(self.search.text())
        self.show_current()
        self.views_pane.recount()
        self.update_lights()
        self.attached.emit()

    # --- actions ------------------------------------------------------------------------------
    def _action(
        self,
        name: str,
        handler: Callable[[], object],
        *keys: QKeySequence | QKeySequence.StandardKey | str,
    ) -> QAction:
        from PySide6.QtGui import QAction, QKeySequence

        action = QAction(self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: handler())
        self.addAction(action)
        self.commands[name] = action
        return action

    def _build_actions(self) -> None:
        from PySide6.QtGui import QKeySequence

        from ui import canned

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
        self._action("accounts", self.open_accounts, "Ctrl+Shift+O")
        self._action("palette", self.open_palette, "Ctrl+K")
        self._action("help", self.open_cheat_sheet, key.HelpContents, "Ctrl+/")
        self._action("quit", self.close, key.Quit)

    def _action_texts(self) -> dict[str, str]:
        from ui import canned

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
            "accounts": self.tr("Accounts: connect a system…"),
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
        from ui.widgets.commands import CommandPalette

        palette = CommandPalette(list(self.commands.values()), self)
        palette.open()
        return palette

    def open_accounts(self) -> AccountsDialog:
        """Connect, edit, re-authenticate or remove systems (the Accounts dialog)."""
        from app.accounts import Accounts
        from ui.views.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(Accounts(self.ws.secrets), self.ws, self)
        dialog.systems_changed.connect(self._system_changed)
        dialog.open()
        return dialog

    def _system_changed(self, system_id: str) -> None:
        """A system was saved or removed in the Accounts dialog: its status light and its view
        follow."""
        from ui.widgets.status_light import StatusLight

        old = self.lights.pop(system_id, None)
        if old is not None:
            self.statusBar().removeWidget(old)
            old.deleteLater()
        entry = self.ws.config.systems.get(system_id)
        if entry is not None:
            self.lights[system_id] = StatusLight(system_id, entry.title)
            self.statusBar().addPermanentWidget(self.lights[system_id])
        self.views_pane.set_system(system_id, entry.title if entry is not None else None)
        self.update_lights()

    def open_audit_log(self) -> AuditViewer:
        """The supervisors' audit viewer over the backend."""
        from ui.views.audit_viewer import AuditViewer

        viewer = AuditViewer(self.ws, self)
        viewer.open()
        return viewer

    def open_cheat_sheet(self) -> CheatSheet:
        """The keyboard shortcut cheat sheet."""
        from ui.widgets.commands import CheatSheet

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
        self.inbox_model.retranslate()
        if not self.is_attached:
            return
        self.banner.retranslate()
        for name, text in self._action_texts().items():
            self.commands[name].setText(text)
        self.conversation.retranslate()
        self.customer.retranslate()
        self.side.setTabText(0, self.tr("Conversation"))
        self.side.setTabText(1, self.tr("Customer"))
        self.views_pane.retranslate()
        self.update_lights()
        self.supervisor.show_summary()
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
        self._fit_columns()  # a saved header carries its resize modes: ours win

    def _fit_columns(self) -> None:
        """Subject takes the remaining width, the other columns fit their contents (visible
        rows only: cheap with a million tickets). Order, hidden columns and sort are remembered.

        An inbox still empty has nothing to fit: its columns keep their widths until the first
        rows come, then are measured one per turn of the loop (:meth:`_freeze_columns`).
        Fitting to contents there made Qt measure every column at the first insert, all in one
        go, while the first sync's pages were being written (a 30-55 ms loop stall in ``bench
        stall``, at 0.4 s in nearly every run).
        """
        header = self.inbox.horizontalHeader()
        header.setResizeContentsPrecision(0)
        header.setStretchLastSection(False)
        subject = self.inbox_model.COLUMNS.index("subject")
        fit = (
            QHeaderView.ResizeMode.ResizeToContents
            if self.inbox_model.rowCount()
            else QHeaderView.ResizeMode.Interactive
        )
        for column in range(self.inbox_model.columnCount()):
            header.setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch if column == subject else fit
            )
        self._columns_frozen = False
        self.columns_measured = False  # True once fitted to the first rows (_freeze_columns)

    def _freeze_columns(self) -> None:
        """Keep the widths measured on the first rows: ResizeToContents would re-measure the
        visible rows on every insert during a sync (a loop stall of 100+ ms at 30k tickets)."""
        if self._columns_frozen or self.inbox_model.rowCount() == 0:
            return
        self._columns_frozen = True
        subject = self.inbox_model.COLUMNS.index("subject")
        self._measure_columns([c for c in range(self.inbox_model.columnCount()) if c != subject])

    def _measure_columns(self, columns: list[int]) -> None:
        """Measure and fix one column per turn of the loop: each measure asks the model for
        every shown row, and all at once kept the loop busy for ~40 ms during the first sync."""
        if not columns:
            self.columns_measured = True
            return
        column, rest = columns[0], columns[1:]
        header = self.inbox.horizontalHeader()
        # measured now on the rows shown (bold unread rows included), then kept
        width = max(self.inbox.sizeHintForColumn(column), header.sectionSizeHint(column))
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(column, width)
        QTimer.singleShot(0, self, lambda: self._measure_columns(rest))

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
        if not self.is_attached:  # searched once the core is there (attach)
            self.search_status.setText(self.tr("Searching…") if self._search_text else "")
            return
        from app.cache.search import SearchFilters

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

    def _load_customer(self) -> None:
        """Follow the selected ticket in the Customer tab (only while it is shown)."""
        if self.side.currentWidget() is self.customer:
            ticket_id = self.current_ticket_id()
            if ticket_id != self.customer.ticket_id or self.customer.panel.profile is None:
                self.customer.load(ticket_id)

    def open_customer_ticket(self, ticket_id: int) -> None:
        """Show one of the customer's tickets (any system) from the Customer tab."""
        self._pending_select = ticket_id
        self.customer_tickets()

    def customer_tickets(self) -> None:
        """List the selected ticket's customer's tickets across every system (matched by
        e-mail, phone and external id, plus the agents' links; the Customer tab shows who)."""
        ticket_id = self.current_ticket_id() or self.customer.ticket_id
        ticket = self.conversation.ticket
        if ticket_id is None or ticket is None:
            return
        from app.cache import customers

        engine = self.ws.cache.engine
        fallback = str(ticket.requester_name or ticket.requester_email or "?")

        def find() -> tuple[str, list[int]]:
            with engine.connect() as conn:
                found = customers.profile(conn, ticket_id)
            if found is None:
                return fallback, []
            ids = [t.id for t in found.tickets] + [i.ticket_id for i in found.inspections]
            return found.name or fallback, ids

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
        wanted, self._pending_select = self._pending_select, None
        if ids:
            self.inbox.setFocus()
            model = self.inbox_model
            rows = [r for r in range(model.rowCount()) if model.ticket_id(r) == wanted]
            self.inbox.selectRow(rows[0] if rows else 0)

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
        if not self._refresh_running and not self._refresh_timer.isActive():
            self._refresh_timer.start()  # not restarted: a steady stream still refreshes

    def refresh_due(self) -> bool:
        """Whether a re-read of the inbox is waiting, running, or owed to changes that came in
        meanwhile (for tests and benchmarks that wait for the inbox to settle)."""
        return self._refresh_running or self._refresh_timer.isActive() or bool(self._changed)

    def _refresh_reader(self) -> Callable[[], InboxUpdate]:
        """What the screen shows now (from memory only), as a re-read for a worker thread."""
        model, table = self.inbox_model, self.inbox
        first = max(table.rowAt(0), 0)
        last = table.rowAt(table.viewport().height() - 1)
        last = first + PAGE - 1 if last < 0 else last  # below the last row, or not shown yet
        anchor_id = model.cached_ticket_id(first)
        anchor = None if anchor_id is None else (first, anchor_id)
        current = table.currentIndex().row()
        current_id = model.cached_ticket_id(current) if current >= 0 else None
        # the ids the agent selected (kept when selected: a row's page may be gone by now)
        ids = tuple(dict.fromkeys(i for i in (current_id, *self._selected_ids) if i))
        self._tracked = (current_id, ids)
        # scrolled down, the rows on screen stay in place; at the top, new rows come into view
        follow = self.inbox.verticalScrollBar().value() > 0
        return model.update_reader(first, last, anchor, ids, follow=follow)

    def _refresh_in_background(self) -> None:
        self._refresh_running = True
        self._refresh_worker.start(self._refresh_reader())
        self._reading, self._changed = self._changed, set()

    def _refresh_failed(self, _generation: int, error: BaseException) -> None:
        self._refresh_running = False
        self._changed |= self._reading
        log.warning("the inbox could not be re-read: %s", error)
        self.show_error(error, self.tr("The inbox could not be refreshed."))

    def _apply_refresh(self, update: InboxUpdate) -> None:
        """Show a re-read of the inbox (on the loop: only Qt signals, no queries)."""
        self._refresh_running = False
        changed, self._reading = self._reading, set()
        current_id, ids = self._tracked
        bar = self.inbox.verticalScrollBar()
        value = bar.value()
        self._refreshing = True  # rows move under the selection: not the agent's choice
        try:
            if not self.inbox_model.apply_update(update):
                return
            if not self._columns_frozen:
                QTimer.singleShot(0, self._freeze_columns)  # once the first rows are measured
            if update.shift and value:  # keep the rows the agent is looking at in place
                per_item = self.inbox.verticalScrollMode() == self.inbox.ScrollMode.ScrollPerItem
                bar.setValue(value + update.shift * (1 if per_item else self.inbox.rowHeight(0)))
            self._restore_selection(current_id, ids, update.positions)
        finally:
            self._refreshing = False
        if current_id is None or current_id in changed or current_id != self.current_ticket_id():
            self.show_current()
        self.supervisor.schedule_refresh()
        self.views_pane.schedule_recount()
        if self._changed:  # changes that came in meanwhile
            self._refresh_timer.start()

    def _restore_selection(
        self, current_id: int | None, ids: tuple[int, ...], positions: dict[int, int]
    ) -> None:
        """Select the same tickets at their new rows (no-op where the selection followed them,
        as it does when rows are inserted above it)."""
        model, selection = self.inbox_model, self.inbox.selectionModel()
        wanted = sorted(positions[i] for i in ids if i in positions)
        current = positions.get(current_id) if current_id is not None else None
        if len(ids) < SELECTION_TRACKED:  # the whole selection is known: no stale row may stay
            same = {index.row() for index in selection.selectedRows()} == set(wanted)
        else:
            same = all(selection.isRowSelected(row) for row in wanted)
        if same and (current is None or self.inbox.currentIndex().row() == current):
            return
        flags = selection.SelectionFlag
        block = QItemSelection()
        for row in wanted:
            block.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        selection.select(block, flags.ClearAndSelect | flags.Rows)
        if current is not None:
            selection.setCurrentIndex(model.index(current, 0), flags.NoUpdate)

    def refresh_views(self) -> None:
        """Re-read the inbox, the open ticket and the supervisor counts from the cache now
        (the same re-read as after sync events, on the calling thread)."""
        self._refresh_timer.stop()
        self._refresh_worker.cancel()  # an older re-read must not land after this one
        reader = self._refresh_reader()
        self._reading, self._changed = self._reading | self._changed, set()
        self._apply_refresh(reader())

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

    def _remember_selection(self) -> None:
        """The first selected tickets by id (rows move during a sync; tickets do not)."""
        rows: list[int] = []  # the first selected rows, without listing a huge selection
        for block in self.inbox.selectionModel().selection():
            rows.extend(
                range(block.top(), min(block.bottom() + 1, block.top() + 1 + SELECTION_TRACKED))
            )
            if len(rows) >= SELECTION_TRACKED:
                break
        model = self.inbox_model
        self._selected_ids = tuple(
            i for i in map(model.cached_ticket_id, rows[:SELECTION_TRACKED]) if i
        )

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._refreshing:
            self._remember_selection()
        if not self._refreshing and self.is_attached:  # attach shows it otherwise
            self.show_current()

    def show_current(self) -> None:
        """Show the selected ticket's conversation (from the cache only)."""
        if not self.is_attached:  # the conversation pane comes with the core
            return
        from app.cache import drafts, queries

        ticket_id = self.current_ticket_id()
        self._load_customer()
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
        if not self.is_attached:
            return
        from app.sync.health import Light
        from ui.labels import reason_label

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

    def _reply(self, ticket_id: int, body: str, public: bool, macro: Canned | None) -> None:
        from app.actions import Reply
        from app.cache import drafts, queries
        from ui import canned
        from ui.bridge import run_op

        then = canned.follow_up(macro, ticket_id, self.bulk.me())
        if then:  # only what the ticket's system allows (a read-only tag system: no tags)
            with self.ws.cache.engine.connect() as conn:
                row = queries.ticket(conn, ticket_id)
            allowed = self.ws.capabilities(str(row.system_id)) if row is not None else frozenset()
            then = [command for command in then if command.capability in allowed]

        async def follow_up() -> None:  # in order, each its own audited action
            for command in then:
                await self.ws.actions.submit(command)

        def recorded(_action_id: str) -> None:
            self.conversation.clear_editor()
            run_op(self.ws.writer.run(drafts.clear, ticket_id), on_error=self._report)
            if then:
                run_op(follow_up(), on_error=self._report)

        files = self.conversation.files.files() if self.conversation.ticket_id == ticket_id else ()
        run_op(
            self.ws.actions.submit(Reply(ticket_id, body, public, files)),
            on_success=recorded,
            on_error=self._report,
        )

    def _set_status(self, ticket_id: int, status: str) -> None:
        from app.actions import ChangeStatus
        from app.domain import Status
        from ui.bridge import run_op

        run_op(
            self.ws.actions.submit(ChangeStatus(ticket_id, Status(status))), on_error=self._report
        )

    def set_status_of_selection(self, status: str) -> None:
        """Apply ``status`` to every selected ticket (several: one bulk command, ``ui.bulk``)."""
        ids = self.selected_ticket_ids()
        if len(ids) > 1:
            self.bulk.set_status(ids, status)  # progress, undo; closing asks for a step-up
        elif ids:
            self._set_status(ids[0], status)

    def _save_draft(self, ticket_id: int, body: str, public: bool) -> None:
        from app.cache import drafts
        from ui.bridge import run_op

        run_op(
            self.ws.writer.run(drafts.save, ticket_id, body, public, utcnow()),
            on_error=self._report,
        )

    def _decide(self, action_id: str, decision: str) -> None:
        from ui.bridge import run_op

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
        self.save_layout()
        if not self.is_attached:  # closed before the core came up
            super().closeEvent(event)
            self.closed.emit()
            return
        self.conversation.flush_draft()
        self.tray.close()
        self.bridge.detach()
        self.worker.shutdown()
        self._refresh_timer.stop()
        self._refresh_worker.shutdown()
        self.supervisor.shutdown()
        self.views_pane.shutdown()
        self.search_runner.close()
        super().closeEvent(event)
        self.closed.emit()
