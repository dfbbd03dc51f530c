"""The selected ticket: header, conversation rendered safely, and the composer."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.domain import Status
from ui import timefmt
from ui.labels import message_label, priority_label, status_label


def render_conversation(messages: list[Any], pending: set[str], failed: set[str]) -> str:
    """HTML of the conversation. Every body is escaped text: no markup, scripts or images."""
    parts = []
    for message in messages:
        note = message.kind == "note"
        background = "#fff6d6" if note else "#f2f5f9"
        badge = ""
        if message.pending_action_id in failed:
            badge = (
                ' <span style="color:#d23b3b">⚠ ' + html.escape(message_label("failed")) + "</span>"
            )
        elif message.pending_action_id:
            badge = (
                ' <span style="color:#8a8a8a">⏳ '
                + html.escape(message_label("sending"))
                + "</span>"
            )
        kind = message_label("note" if note else "reply")
        body = html.escape(message.body_text).replace("\n", "<br>")
        parts.append(
            f'<table width="100%" cellpadding="8" style="background:{background};'
            f' margin-bottom:6px"><tr><td>'
            f"<b>{html.escape(message.author_name or '')}</b> "
            f'<span style="color:#666">· {html.escape(kind)} · '
            f"{html.escape(timefmt.short(message.created_at))}</span>{badge}"
            f"<br>{body}</td></tr></table>"
        )
    return "".join(parts)


class ConversationPanel(QWidget):
    """Shows one ticket and lets the agent reply, note and change the status."""

    reply_requested = Signal(int, str, bool)
    """reply_requested(ticket_id, body, public): the agent pressed Send."""
    status_requested = Signal(int, str)
    """status_requested(ticket_id, status): the agent applied a new status."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ticket_id: int | None = None
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setOpenExternalLinks(False)
        self.editor = QPlainTextEdit()
        self.editor.setMaximumHeight(120)
        self.mode = QComboBox()
        self.send = QPushButton()
        self.status = QComboBox()
        for status in Status:
            self.status.addItem("", status.value)
        self.apply_status = QPushButton()
        self.notice = QLabel()
        self.notice.setWordWrap(True)

        controls = QHBoxLayout()
        controls.addWidget(self.mode)
        controls.addWidget(self.send)
        controls.addStretch(1)
        controls.addWidget(self.status)
        controls.addWidget(self.apply_status)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.editor)
        layout.addLayout(controls)
        layout.addWidget(self.notice)

        self.send.clicked.connect(self._send)
        self.apply_status.clicked.connect(self._apply_status)
        QShortcut(QKeySequence("Ctrl+Return"), self.editor, activated=self._send)
        self.retranslate()
        self.show_ticket(None, [], set(), set(), frozenset())

    def retranslate(self) -> None:
        """Set every visible string (called again on a live language switch)."""
        current = self.mode.currentIndex()
        self.mode.clear()
        self.mode.addItem(self.tr("Public reply"), True)
        self.mode.addItem(self.tr("Internal note"), False)
        self.mode.setCurrentIndex(max(0, current))
        self.send.setText(self.tr("Send"))
        self.send.setToolTip(self.tr("Send (Ctrl+Enter)"))
        self.apply_status.setText(self.tr("Set status"))
        self.editor.setPlaceholderText(self.tr("Write a reply…"))
        for position in range(self.status.count()):
            self.status.setItemText(position, status_label(self.status.itemData(position)))
        self.mode.setAccessibleName(self.tr("Reply or note"))
        self.status.setAccessibleName(self.tr("Status"))
        self.editor.setAccessibleName(self.tr("Message"))

    def show_ticket(
        self,
        ticket: Any,
        messages: list[Any],
        pending: set[str],
        failed: set[str],
        capabilities: frozenset[str],
        system_title: str = "",
    ) -> None:
        """Display ``ticket`` (a cache row) with its conversation; None clears the panel."""
        changed = ticket is None or ticket.id != self.ticket_id
        self.ticket_id = None if ticket is None else ticket.id
        enabled = ticket is not None
        can_reply = enabled and bool({"reply", "internal_note"} & capabilities)
        self.editor.setEnabled(can_reply)
        self.mode.setEnabled(can_reply)
        self.send.setEnabled(can_reply)
        self.status.setEnabled(enabled and "status" in capabilities)
        self.apply_status.setEnabled(enabled and "status" in capabilities)
        if ticket is None:
            self.header.setText(self.tr("Select a ticket to see its conversation."))
            self.view.clear()
            self.notice.clear()
            return
        requester = ticket.requester_name or ticket.requester_email or ""
        contact = " · ".join(x for x in (ticket.requester_email, ticket.requester_phone) if x)
        self.header.setText(
            f"<b style='font-size:15px'>{html.escape(ticket.subject)}</b><br>"
            f"{html.escape(system_title)} #{html.escape(ticket.external_id)} · "
            f"{html.escape(status_label(ticket.status))} · "
            f"{html.escape(priority_label(ticket.priority))}<br>"
            f"{html.escape(requester)} <span style='color:#666'>{html.escape(contact)}</span>"
        )
        position = self.status.findData(ticket.status)
        if changed and position >= 0:
            self.status.setCurrentIndex(position)
        scroll = self.view.verticalScrollBar()
        at_end = scroll.value() >= scroll.maximum() - 4
        self.view.setHtml(render_conversation(messages, pending, failed))
        if changed or at_end:
            scroll.setValue(scroll.maximum())
        if not can_reply:
            self.notice.setText(self.tr("This system is read-only: replies are not possible."))
        else:
            self.notice.clear()

    def _send(self) -> None:
        body = self.editor.toPlainText()
        if self.ticket_id is None or not body.strip() or not self.send.isEnabled():
            return
        self.reply_requested.emit(self.ticket_id, body, bool(self.mode.currentData()))

    def clear_editor(self) -> None:
        """Empty the composer after the action was recorded."""
        self.editor.clear()

    def _apply_status(self) -> None:
        if self.ticket_id is not None:
            self.status_requested.emit(self.ticket_id, str(self.status.currentData()))
