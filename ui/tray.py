"""The tray icon (show/hide, do-not-disturb, quit) and desktop notifications.

``app.notify`` decides what is news; this module words it and shows it: a tray balloon
(``QSystemTrayIcon.showMessage``) where the desktop has a tray, otherwise an in-window toast
(the offscreen platform and some Wayland desktops have no tray).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app.cache.views import ViewFilter
from app.config import Config
from app.config.store import set_user_setting
from app.notify import (
    ASSIGNED,
    CUSTOMER_REPLY,
    SLA_DUE,
    SUMMARY,
    Notification,
    Notifier,
    NotifySettings,
)
from app.runtime import Workstation
from app.timeutil import utcnow
from ui import timefmt
from ui.workers import LatestOnly

log = logging.getLogger(__name__)
FLUSH_DELAY_MS = 1500  # events arriving within this window are shown together
SLA_CHECK_MS = 60_000
MESSAGE_MS = 8000
BASELINE_DELAY_MS = 1500  # the baseline scan waits until the inbox is painted (startup)


def app_icon() -> QIcon:
    """The Tabless icon, drawn (no image files to ship)."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#2f6fdb"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(4, 4, 56, 56, 12, 12)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(40)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "T")
    painter.end()
    return QIcon(pixmap)


def notify_settings(config: Config) -> NotifySettings:
    """The notification settings in effect (read at each use: a switch applies at once)."""
    return NotifySettings(
        dnd=bool(config.get("notify_dnd")),
        quiet_hours=str(config.get("notify_quiet_hours") or ""),
        zone=str(config.get("agent_zone") or ""),
        sla_minutes=float(config.get("notify_sla_minutes")),
    )


def words(item: Notification) -> tuple[str, str]:
    """The translated title and text of one notification."""
    if item.kind == SUMMARY:
        names = {
            ASSIGNED: QCoreApplication.translate("Tray", "{n} newly assigned"),
            CUSTOMER_REPLY: QCoreApplication.translate("Tray", "{n} customer replies"),
            SLA_DUE: QCoreApplication.translate("Tray", "{n} SLAs about to breach"),
        }
        parts = [names[kind].format(n=n) for kind, n in item.counts if kind in names]
        return QCoreApplication.translate("Tray", "Tabless: several updates"), " · ".join(parts)
    if item.kind == ASSIGNED:
        return QCoreApplication.translate("Tray", "Assigned to you"), QCoreApplication.translate(
            "Tray", "{subject} — {who}"
        ).format(subject=item.subject, who=item.who)
    if item.kind == CUSTOMER_REPLY:
        return QCoreApplication.translate("Tray", "{who} replied").format(
            who=item.who
        ), item.subject
    due = timefmt.short(item.due_at) if item.due_at else ""
    return QCoreApplication.translate("Tray", "SLA due at {when}").format(when=due), item.subject


class Toast(QFrame):
    """A small message in the window's bottom-right corner, with an optional action button."""

    action_clicked = Signal()
    """action_clicked(): the agent pressed the toast's button (Undo, Open…)."""
    clicked = Signal()
    """clicked(): the agent clicked the message itself."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(self.palette().ColorRole.ToolTipBase)
        self.setForegroundRole(self.palette().ColorRole.ToolTipText)
        self.title = QLabel()
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton()
        self.button.clicked.connect(self._action)
        texts = QVBoxLayout()
        texts.addWidget(self.title)
        texts.addWidget(self.text)
        layout = QHBoxLayout(self)
        layout.addLayout(texts, 1)
        layout.addWidget(self.button)
        self.setMinimumWidth(300)
        self.setMaximumWidth(460)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.hide)
        parent.installEventFilter(self)
        self.hide()

    def show_message(self, title: str, text: str, timeout_ms: int, action: str = "") -> None:
        """Show ``title``/``text`` for ``timeout_ms``; ``action`` labels the button (none if "")."""
        self.title.setText(title)
        self.text.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.setAccessibleName(title)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start(timeout_ms)

    def _action(self) -> None:
        self.hide()
        self.action_clicked.emit()

    def mousePressEvent(self, event: object) -> None:
        self.hide()
        self.clicked.emit()

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            corner = parent.rect().bottomRight() - QPoint(self.width() + 16, self.height() + 40)
            self.move(max(0, corner.x()), max(0, corner.y()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False


class TrayController(QObject):
    """Tray icon with its menu, and the notifications of ``notifier``."""

    open_ticket = Signal(int)
    """open_ticket(ticket_id): the agent clicked a notification about this ticket."""
    dnd_changed = Signal(bool)
    """dnd_changed(on): do-not-disturb was switched (already saved)."""
    _pending = Signal()  # the notifier found news (on its worker thread): queued to the GUI

    def __init__(
        self,
        window: QMainWindow,
        notifier: Notifier,
        save_dnd: Callable[[bool], None],
        *,
        dnd: bool = False,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.notifier = notifier
        self._save_dnd = save_dnd
        self.dnd = dnd
        self.shown: list[tuple[str, str]] = []  # what was shown, newest last (for the tests)
        self._last_ticket: int | None = None
        self.tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.menu = QMenu(window)
        self.show_hide = QAction(self.menu)
        self.dnd_action = QAction(self.menu, checkable=True)
        self.dnd_action.setChecked(dnd)
        self.quit_action = QAction(self.menu)
        self.menu.addAction(self.show_hide)
        self.menu.addAction(self.dnd_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.toast = Toast(window)
        self.show_hide.triggered.connect(self.toggle_window)
        self.dnd_action.toggled.connect(self.set_dnd)
        self.quit_action.triggered.connect(window.close)
        self.icon.messageClicked.connect(self._clicked)
        self.icon.activated.connect(self._activated)
        self.toast.clicked.connect(self._clicked)
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_DELAY_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.start_timer = QTimer(self, singleShot=True)
        self.start_timer.timeout.connect(self.start)
        self._sla_timer = QTimer(self, interval=SLA_CHECK_MS)
        self._sla_timer.timeout.connect(self.check_sla)
        self._pending.connect(self.schedule)
        notifier.on_pending = self._pending.emit
        self._reader = LatestOnly(self)
        self._reader.finished.connect(lambda _g, baseline: notifier.start_in_background(baseline))
        self._reader.failed.connect(lambda _g, exc: log.warning("no notifications: %s", exc))
        self._sla_reader = LatestOnly(self)
        self._sla_reader.finished.connect(self._sla_read)
        self._sla_reader.failed.connect(lambda _g, exc: log.warning("SLA check failed: %s", exc))
        window.installEventFilter(self)
        self.retranslate()
        if self.tray_available:
            self.icon.show()
        self._sla_timer.start()

    def retranslate(self) -> None:
        """Menu texts (again on a live language switch)."""
        self.show_hide.setText(QCoreApplication.translate("Tray", "Show or hide the window"))
        self.dnd_action.setText(QCoreApplication.translate("Tray", "Do not disturb"))
        self.quit_action.setText(QCoreApplication.translate("Tray", "Quit Tabless"))
        tip = (
            QCoreApplication.translate("Tray", "Tabless — do not disturb")
            if self.dnd
            else "Tabless"
        )
        self.icon.setToolTip(tip)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def set_dnd(self, on: bool) -> None:
        """Switch do-not-disturb and remember it in the user's configuration."""
        if on == self.dnd:
            return
        self.dnd = on
        self.dnd_action.setChecked(on)
        self._save_dnd(on)
        self.retranslate()
        self.dnd_changed.emit(on)

    def toggle_window(self) -> None:
        """Hide the window, or bring it back to the front."""
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window()

    def _clicked(self) -> None:
        if self._last_ticket is not None:
            self.window.showNormal()
            self.window.raise_()
            self.open_ticket.emit(self._last_ticket)

    def schedule(self) -> None:
        """Something is pending: show it shortly (bursts are shown together)."""
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def start(self) -> None:
        """Read the notifier's baseline off the GUI thread (~0.7 s for a million tickets)."""
        self._reader.start(self.notifier.baseline)

    def check_sla(self) -> None:
        """Look for SLAs about to breach (the cache is read off the GUI thread); show them."""
        self._sla_reader.start(self.notifier.sla_candidates)

    def _sla_read(self, _generation: int, rows: object) -> None:
        if self.notifier.sla_due(utcnow(), cast(list[Any], rows)):
            self.flush()

    def flush(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Show what is pending (nothing under do-not-disturb); returns the shown texts."""
        items = self.notifier.take(now or utcnow())
        shown = []
        for item in items:
            title, text = words(item)
            self._last_ticket = item.ticket_id
            if self.tray_available and QSystemTrayIcon.supportsMessages():
                self.icon.showMessage(
                    title, text, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS
                )
            else:
                self.toast.show_message(title, text, MESSAGE_MS)
            shown.append((title, text))
        self.shown.extend(shown)
        return shown

    def close(self) -> None:
        """Remove the icon and stop listening (the window is closing)."""
        self.start_timer.stop()
        self._sla_timer.stop()
        self._flush_timer.stop()
        self._reader.shutdown()
        self._sla_reader.shutdown()
        self.notifier.detach()
        self.icon.hide()


def install_tray(window: QMainWindow, workstation: Workstation) -> TrayController:
    """The tray of the main window: a notifier over the workstation's cache and bus, DND saved
    in the user's configuration, and a click on a notification selecting its ticket."""
    config = workstation.config
    agent = str(config.get("agent_name") or "")
    notifier = Notifier(workstation.cache.engine, agent, lambda: notify_settings(config))
    notifier.attach(workstation.bus, prime=False)  # the baseline follows: tray.start()

    def save_dnd(on: bool) -> None:
        config.values["notify_dnd"] = on  # in effect now, even if the file cannot be written
        try:
            set_user_setting("notify_dnd", on)
        except (OSError, ValueError) as exc:
            log.warning("could not save do-not-disturb: %s", exc)
            window.statusBar().showMessage(
                QCoreApplication.translate(
                    "Tray", "Do not disturb could not be saved: {error}"
                ).format(error=exc),
                10_000,
            )

    def open_ticket(ticket_id: int) -> None:
        inbox, model = window.inbox, window.inbox_model  # type: ignore[attr-defined]
        position = model.position_of(ticket_id)
        if position is None:  # not in the current view: show it on its own
            model.set_view(ViewFilter(ticket_ids=(ticket_id,)))
            position = model.position_of(ticket_id)
        if position is not None:
            inbox.selectRow(position)

    tray = TrayController(window, notifier, save_dnd, dnd=bool(config.get("notify_dnd")))
    tray.open_ticket.connect(open_ticket)
    tray.start_timer.start(BASELINE_DELAY_MS)  # the baseline after the first paint
    return tray
