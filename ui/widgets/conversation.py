"""The selected ticket: header, conversation rendered safely, action states and the composer."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QPalette
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
from ui import canned, timefmt
from ui.labels import message_label, priority_label, size_label, status_label
from ui.theme import BubbleColours, bubble_colours, muted_text
from ui.widgets.outgoing_files import OutgoingFiles

DRAFT_DELAY_MS = 800
UNSETTLED = ("pending", "failed", "conflict")


ATTACHMENT_SCHEME = "attachment"


def attachment_href(message_id: int, position: int) -> str:
    """The in-view link of an attachment: it asks the panel, it never loads anything."""
    return f"{ATTACHMENT_SCHEME}:{message_id}/{position}"


def render_attachments(
    attachments: list[Any], colours: BubbleColours | None = None, message_id: int | None = None
) -> str:
    """Escaped list of attachments (name, type, size). With ``message_id`` each name links to
    ``attachment:<message>/<n>`` — a request to the panel; nothing is fetched or opened."""
    muted = colours.muted if colours else "#5f5f5f"
    items = []
    for position, attachment in enumerate(attachments or []):
        name = html.escape(str(attachment.get("filename") or "?"))
        kind = html.escape(str(attachment.get("content_type") or "?"))
        if message_id is not None:
            link = f" style='color:{colours.link}'" if colours else ""
            name = f'<a href="{attachment_href(message_id, position)}"{link}>{name}</a>'
        items.append(
            f"📎 {name} <span style='color:{muted}'>({kind}, "
            f"{size_label(attachment.get('size'))})</span>"
        )
    return "<br>".join(items)


def render_conversation(
    messages: list[Any], states: dict[str, str], colours: BubbleColours | None = None
) -> str:
    """HTML of the conversation. Every body is escaped text: no markup, scripts or images.

    ``colours`` come from the view's palette (``ui.theme``), so dark themes stay readable;
    internal notes get an amber tint and a bold amber "Internal note" label in every theme.
    """
    colours = colours or bubble_colours(QPalette())
    parts = []
    for message in messages:
        note = message.kind == "note"
        event = message.kind == "event"
        background = colours.background(str(message.kind))
        badge = ""
        state = states.get(message.pending_action_id or "", "")
        if state in ("failed", "conflict"):
            badge = (
                f' <span style="color:{colours.error}">⚠ '
                + html.escape(message_label("failed"))
                + "</span>"
            )
        elif message.pending_action_id:
            badge = (
                f' <span style="color:{colours.muted}">⏳ '
                + html.escape(message_label("sending"))
                + "</span>"
            )
        kind = html.escape(message_label("note" if note else "event" if event else "reply"))
        if note:
            kind = f'<b style="color:{colours.note_label}">{kind}</b>'
        body = html.escape(message.body_text).replace("\n", "<br>")
        files = render_attachments(message.attachments, colours, getattr(message, "id", None))
        parts.append(
            f'<table width="100%" cellpadding="8" bgcolor="{background}" '
            f'style="background:{background}; color:{colours.text}; margin-bottom:6px">'
            f"<tr><td><b>{html.escape(message.author_name or '')}</b> "
            f'<span style="color:{colours.muted}">· {kind} · '
            f"{html.escape(timefmt.short(message.created_at))}</span>{badge}"
            f"<br>{body}{'<br>' + files if files else ''}</td></tr></table>"
        )
    return "".join(parts)


class ActionRow(QWidget):
    """One unsettled action: what, its state, and Retry / Discard / Send anyway."""

    def __init__(self, panel: ConversationPanel, action: Any) -> None:
        super().__init__()
        self.action_id = str(action.action_id)
        self.state = str(action.state)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        what = {
            "reply": panel.tr("Reply"),
            "note": panel.tr("Note"),
            "set_status": panel.tr("Status change"),
        }.get(str(action.kind), str(action.kind))
        state = {
            "pending": panel.tr("sending…"),
            "failed": panel.tr("failed"),
            "conflict": panel.tr("conflict: the ticket changed remotely"),
        }.get(self.state, self.state)
        self.label = QLabel(f"{what}: {state}")
        if action.last_error:
            self.label.setToolTip(str(action.last_error))
        layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        choices: list[tuple[str, str]] = []
        if self.state == "failed":
            choices = [("retry", panel.tr("Retry")), ("discard", panel.tr("Discard"))]
        elif self.state == "conflict":
            choices = [("send_anyway", panel.tr("Send anyway")), ("discard", panel.tr("Discard"))]
        for decision, text in choices:
            button = QPushButton(text)
            button.clicked.connect(
                lambda _checked=False, d=decision: panel.decision_requested.emit(self.action_id, d)
            )
            self.buttons[decision] = button
            layout.addWidget(button)


class ConversationPanel(QWidget):
    """Shows one ticket and lets the agent reply, note and change the status."""

    reply_requested = Signal(int, str, bool, object)
    """reply_requested(ticket_id, body, public, macro): Send (``macro``: the chosen
    :class:`~ui.canned.Canned` whose status, tags and assignee follow the reply, or None)."""
    status_requested = Signal(int, str)
    """status_requested(ticket_id, status): the agent applied a new status."""
    draft_changed = Signal(int, str, bool)
    """draft_changed(ticket_id, body, public): the composer settled; save the draft."""
    decision_requested = Signal(str, str)
    """decision_requested(action_id, decision): retry, discard or send_anyway an action."""
    attachment_requested = Signal(int, int)
    """attachment_requested(message_id, position): the agent clicked an attachment's name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ticket_id: int | None = None
        self.ticket: Any = None
        self.agent = ""
        self.macro: canned.Canned | None = None
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setOpenExternalLinks(False)
        self.view.anchorClicked.connect(self._anchor_clicked)
        self._messages: list[Any] = []
        self._system_title = ""
        self._states: dict[str, str] = {}
        self.actions_box = QVBoxLayout()
        self.action_rows: list[ActionRow] = []
        self.editor = QPlainTextEdit()
        self.editor.setMaximumHeight(140)
        self.mode = QComboBox()
        self.canned = QComboBox()
        for combo, letters in ((self.mode, 8), (self.canned, 10)):  # long titles must not widen
            combo.setSizeAdjustPolicy(  # the panel and squeeze the inbox
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(letters)
        self.send = QPushButton()
        self.status = QComboBox()
        for status in Status:
            self.status.addItem("", status.value)
        self.apply_status = QPushButton()
        self.macro_label = QLabel()
        self.macro_label.setWordWrap(True)  # a macro's steps may not fit beside the status
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.files = OutgoingFiles()  # attachments of the next reply (systems that take them)

        controls = QHBoxLayout()  # two rows: the panel stays narrow beside a wide inbox
        controls.addWidget(self.mode)
        controls.addWidget(self.canned, 1)
        controls.addWidget(self.send)
        ticket_controls = QHBoxLayout()
        ticket_controls.addWidget(self.macro_label, 1)
        ticket_controls.addWidget(self.status)
        ticket_controls.addWidget(self.apply_status)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addLayout(self.actions_box)
        layout.addWidget(self.editor)
        layout.addWidget(self.files)
        layout.addLayout(controls)
        layout.addLayout(ticket_controls)
        layout.addWidget(self.notice)

        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self._emit_draft)
        self._restoring = False
        self.editor.textChanged.connect(self._text_changed)
        self.mode.currentIndexChanged.connect(lambda _i: self._text_changed())
        self.send.clicked.connect(self._send)
        self.apply_status.clicked.connect(self._apply_status)
        self.canned.activated.connect(self._canned_chosen)
        self.retranslate()
        self.show_ticket(None, [], [], frozenset())

    def retranslate(self) -> None:
        """Set every visible string (called again on a live language switch)."""
        current = self.mode.currentIndex()
        self.mode.clear()
        self.mode.addItem(self.tr("Public reply"), True)
        self.mode.addItem(self.tr("Internal note"), False)
        self.mode.setCurrentIndex(max(0, current))
        self.canned.clear()
        self.canned.addItem(self.tr("Canned reply…"), -1)
        for position, reply in enumerate(canned.replies()):
            self.canned.addItem(reply.title, position)
        self.files.retranslate()
        self.send.setText(self.tr("Send"))
        self.send.setToolTip(self.tr("Send (Ctrl+Enter)"))
        self.apply_status.setText(self.tr("Set status"))
        self.editor.setPlaceholderText(self.tr("Write a reply…"))
        for position in range(self.status.count()):
            self.status.setItemText(position, status_label(self.status.itemData(position)))
        self.mode.setAccessibleName(self.tr("Reply or note"))
        self.canned.setAccessibleName(self.tr("Canned replies"))
        self.status.setAccessibleName(self.tr("Status"))
        self.editor.setAccessibleName(self.tr("Message"))
        self.view.setAccessibleName(self.tr("Conversation"))
        self._show_macro()

    def show_ticket(
        self,
        ticket: Any,
        messages: list[Any],
        actions: list[Any],
        capabilities: frozenset[str],
        system_title: str = "",
        draft: Any = None,
    ) -> None:
        """Display ``ticket`` (a cache row) with its conversation; None clears the panel.

        ``draft`` (an ``app.cache.drafts.Draft``) is restored when another ticket is opened.
        """
        changed = ticket is None or ticket.id != self.ticket_id
        if changed:
            self.flush_draft()
        self.ticket_id = None if ticket is None else ticket.id
        self.ticket = ticket
        enabled = ticket is not None
        can_reply = enabled and bool({"reply", "internal_note"} & capabilities)
        for widget in (self.editor, self.mode, self.send, self.canned):
            widget.setEnabled(can_reply)
        self.files.setVisible(can_reply and "attachments" in capabilities)
        if changed and self.files.files():
            self.files.clear()  # attachments belong to the reply on the ticket they were for
        self.status.setEnabled(enabled and "status" in capabilities)
        self.apply_status.setEnabled(enabled and "status" in capabilities)
        self._show_actions(actions)
        if ticket is None:
            self.header.setText(self.tr("Select a ticket to see its conversation."))
            self.view.clear()
            self._messages, self._states = [], {}
            self.notice.clear()
            self._restore(None)
            return
        self._system_title = system_title
        self._show_header()
        position = self.status.findData(ticket.status)
        if changed and position >= 0:
            self.status.setCurrentIndex(position)
        scroll = self.view.verticalScrollBar()
        at_end = scroll.value() >= scroll.maximum() - 4
        self._messages = list(messages)
        self._states = {str(a.action_id): str(a.state) for a in actions}
        self._render()
        if changed or at_end:
            scroll.setValue(scroll.maximum())
        if changed:
            self._restore(draft)
        if not can_reply:
            self.notice.setText(self.tr("This system is read-only: replies are not possible."))
        else:
            self.notice.clear()

    def _show_header(self) -> None:
        ticket = self.ticket
        requester = ticket.requester_name or ticket.requester_email or ""
        contact = " · ".join(x for x in (ticket.requester_email, ticket.requester_phone) if x)
        self.header.setText(
            f"<b style='font-size:15px'>{html.escape(ticket.subject)}</b><br>"
            f"{html.escape(self._system_title)} #{html.escape(ticket.external_id)} · "
            f"{html.escape(status_label(ticket.status))} · "
            f"{html.escape(priority_label(ticket.priority))}<br>"
            f"{html.escape(requester)} "
            f"<span style='color:{muted_text(self.palette())}'>{html.escape(contact)}</span>"
        )

    def _render(self) -> None:
        colours = bubble_colours(self.palette())  # the view's own follows only after ours
        self.view.setHtml(render_conversation(self._messages, self._states, colours))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and self.ticket is not None:
            self._show_header()  # the OS switched between light and dark
            self._render()
        super().changeEvent(event)

    def _anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() != ATTACHMENT_SCHEME:
            return  # bodies are escaped text: no other link can exist
        message, _, position = url.path().partition("/")
        if message.isdigit() and position.isdigit():
            self.attachment_requested.emit(int(message), int(position))

    def attachment(self, message_id: int, position: int) -> dict[str, Any] | None:
        """The metadata of attachment ``position`` of message ``message_id`` on screen."""
        for message in self._messages:
            if getattr(message, "id", None) == message_id:
                files = list(message.attachments or [])
                return dict(files[position]) if 0 <= position < len(files) else None
        return None

    def _show_actions(self, actions: list[Any]) -> None:
        for row in self.action_rows:
            self.actions_box.removeWidget(row)
            row.deleteLater()
        self.action_rows = [ActionRow(self, a) for a in actions if a.state in UNSETTLED]
        for row in self.action_rows:
            self.actions_box.addWidget(row)

    # --- composer -----------------------------------------------------------------------------
    def _restore(self, draft: Any) -> None:
        self._restoring = True
        try:
            self.macro = None
            self.editor.setPlainText(draft.body if draft is not None else "")
            if draft is not None:
                self.mode.setCurrentIndex(0 if draft.public else 1)
        finally:
            self._restoring = False
        self._show_macro()

    def _text_changed(self) -> None:
        if not self._restoring and self.ticket_id is not None:
            self._draft_timer.start()

    def flush_draft(self) -> None:
        """Save the pending draft now (before switching tickets or closing)."""
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            self._emit_draft()

    def _emit_draft(self) -> None:
        if self.ticket_id is None:
            return
        self.draft_changed.emit(
            self.ticket_id, self.editor.toPlainText(), bool(self.mode.currentData())
        )

    def set_public(self, public: bool) -> None:
        """Switch the composer to a public reply or an internal note and focus it."""
        self.mode.setCurrentIndex(0 if public else 1)
        self.editor.setFocus()

    def insert_canned(self, position: int) -> bool:
        """Fill the composer from canned reply ``position`` (a macro also queues its status,
        tags and assignee for after the reply)."""
        items = canned.replies()
        if self.ticket is None or not (0 <= position < len(items)) or not self.editor.isEnabled():
            return False
        reply = items[position]
        text = canned.render(reply.body, self.ticket, self.agent)
        signature = canned.signature(self.ticket.system_id)
        if signature:
            text += "\n\n" + signature
        self.mode.setCurrentIndex(0)
        self.editor.setPlainText(text)
        self.macro = reply if reply.is_macro else None
        self._show_macro()
        self.editor.setFocus()
        return True

    def _canned_chosen(self, index: int) -> None:
        position = self.canned.itemData(index)
        self.canned.setCurrentIndex(0)
        if isinstance(position, int) and position >= 0:
            self.insert_canned(position)

    @property
    def macro_status(self) -> str:
        """The status the chosen macro sets after the reply ("" for none)."""
        return (self.macro.status or "") if self.macro is not None else ""

    def _show_macro(self) -> None:
        macro = self.macro
        steps: list[str] = []
        if macro is not None and macro.status:
            steps.append(status_label(macro.status))
        if macro is not None and macro.tags:
            steps.append(self.tr("tags: {tags}").format(tags=", ".join(macro.tags)))
        if macro is not None and macro.assign_to_me:
            steps.append(self.tr("assign to me"))
        self.macro_label.setText(
            self.tr("then: {status}").format(status=" · ".join(steps)) if steps else ""
        )

    def _send(self) -> None:
        body = self.editor.toPlainText()
        if self.ticket_id is None or not body.strip() or not self.send.isEnabled():
            return
        self.reply_requested.emit(self.ticket_id, body, bool(self.mode.currentData()), self.macro)

    def clear_editor(self) -> None:
        """Empty the composer after the action was recorded (its draft is gone too)."""
        self._restoring = True
        try:
            self.editor.clear()
        finally:
            self._restoring = False
        self._draft_timer.stop()
        self.files.clear()
        self.macro = None
        self._show_macro()

    def _apply_status(self) -> None:
        if self.ticket_id is not None:
            self.status_requested.emit(self.ticket_id, str(self.status.currentData()))
