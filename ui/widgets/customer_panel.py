"""The customer panel: one person across every system — identities, tickets, QA results.

Fed by :func:`app.cache.customers.profile` off the GUI thread. Phone numbers are masked until
the agent asks (``reveal_requested``: the window audits it, then calls :meth:`reveal`). Linking
another e-mail or phone, or unlinking a matched identity, is asked of the window through
``link_requested`` / ``unlink_requested``; the panel never writes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.cache.customers import Profile, identity_key
from ui import timefmt
from ui.labels import status_label

TICKET_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def mask_phone(number: str) -> str:
    """``138****8000``: the first three and last four digits, the rest hidden."""
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 7:
        return "*" * len(digits)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


class CustomerPanel(QWidget):
    """Who the selected ticket's customer is, everywhere."""

    open_ticket = Signal(int)
    """open_ticket(cache ticket id): the agent double-clicked one of the customer's tickets."""
    link_requested = Signal(str, str)
    """link_requested(identity key of this customer, identity key typed by the agent)."""
    unlink_requested = Signal(str, str)
    """unlink_requested(identity key of this customer, identity key that is someone else)."""
    reveal_requested = Signal(str)
    """reveal_requested(field): the agent asked to see the masked ``phone``."""

    def __init__(
        self, system_title: Callable[[str], str] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._title = system_title or (lambda system: system)
        self.profile: Profile | None = None
        self.revealed = False
        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        font = self.name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.name.setFont(font)
        self.contact = QLabel()
        self.contact.setTextFormat(Qt.TextFormat.PlainText)
        self.contact.setWordWrap(True)
        self.contact.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_button = QPushButton()
        self.reveal_button.clicked.connect(lambda: self.reveal_requested.emit("phone"))
        self.tickets_title = QLabel()
        self.tickets = QTreeWidget()
        self.tickets.setRootIsDecorated(False)
        self.tickets.setUniformRowHeights(True)
        self.tickets.setColumnCount(4)
        self.tickets.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tickets.header().setStretchLastSection(False)
        self.tickets.itemActivated.connect(self._activated)
        self.qa_title = QLabel()
        self.qa = QTreeWidget()
        self.qa.setRootIsDecorated(False)
        self.qa.setColumnCount(4)
        self.qa.setMaximumHeight(120)
        self.identities_title = QLabel()
        self.identities = QListWidget()
        self.identities.setMaximumHeight(110)
        self.identities.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.unlink_button = QPushButton()
        self.unlink_button.clicked.connect(self._unlink)
        self.link_edit = QLineEdit()
        self.link_edit.textChanged.connect(lambda *_: self._update_buttons())
        self.link_edit.returnPressed.connect(self._link)
        self.link_button = QPushButton()
        self.link_button.clicked.connect(self._link)
        self.empty = QLabel()
        self.empty.setWordWrap(True)

        header = QHBoxLayout()
        header.addWidget(self.name, 1)
        contact = QHBoxLayout()
        contact.addWidget(self.contact, 1)
        contact.addWidget(self.reveal_button)
        link = QHBoxLayout()
        link.addWidget(self.link_edit, 1)
        link.addWidget(self.link_button)
        link.addWidget(self.unlink_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(contact)
        layout.addWidget(self.empty)
        layout.addWidget(self.tickets_title)
        layout.addWidget(self.tickets, 1)
        layout.addWidget(self.qa_title)
        layout.addWidget(self.qa)
        layout.addWidget(self.identities_title)
        layout.addWidget(self.identities)
        layout.addLayout(link)
        self.retranslate()
        self.show_profile(None)

    # --- texts ------------------------------------------------------------------------------

    def retranslate(self) -> None:
        """Set every text in the current language."""
        self.tickets.setHeaderLabels(
            [self.tr("System"), self.tr("Subject"), self.tr("Status"), self.tr("Updated")]
        )
        self.qa.setHeaderLabels(
            [self.tr("Score"), self.tr("Result"), self.tr("Inspected ticket"), self.tr("Updated")]
        )
        self.reveal_button.setText(self.tr("Show phone"))
        self.reveal_button.setAccessibleName(self.tr("Show the customer's phone number"))
        self.link_edit.setPlaceholderText(self.tr("Link another e-mail or phone…"))
        self.link_edit.setAccessibleName(self.tr("E-mail or phone to link to this customer"))
        self.link_button.setText(self.tr("Link"))
        self.unlink_button.setText(self.tr("Unlink"))
        self.unlink_button.setToolTip(
            self.tr("The selected identity is someone else: stop matching it to this customer")
        )
        self.tickets.setAccessibleName(self.tr("The customer's tickets in every system"))
        self.identities.setAccessibleName(self.tr("How this customer is recognised"))
        self.empty.setText(self.tr("Select a ticket to see its customer across every system."))
        self._fill()

    def _origin(self, origin: str) -> str:
        return {
            "ticket": self.tr("this ticket"),
            "matched": self.tr("matched"),
            "linked": self.tr("linked by an agent"),
        }.get(origin, origin)

    @staticmethod
    def key_label(key: str) -> str:
        """``email:x`` → ``x``, ``phone:…`` masked digits, ``ext:system:id`` → ``system #id``."""
        kind, _, value = key.partition(":")
        if kind == "phone":
            return mask_phone(value)
        if kind == "ext":
            system, _, external = value.partition(":")
            return f"{system} #{external}"
        return value

    # --- content ----------------------------------------------------------------------------

    def show_profile(self, profile: Profile | None) -> None:
        """Show ``profile`` (None: nothing selected); phones are masked again."""
        self.profile = profile
        self.revealed = False
        self._fill()

    def reveal(self) -> None:
        """Show the phone numbers in full (after the window audited the reveal)."""
        self.revealed = True
        self._fill()

    def _fill(self) -> None:
        profile = self.profile
        has = profile is not None
        for widget in (
            self.tickets_title,
            self.tickets,
            self.qa_title,
            self.qa,
            self.identities_title,
            self.identities,
            self.link_edit,
            self.link_button,
            self.unlink_button,
        ):
            widget.setVisible(has)
        self.empty.setVisible(not has)
        self.reveal_button.setVisible(bool(profile and profile.phones and not self.revealed))
        self.tickets.clear()
        self.qa.clear()
        self.identities.clear()
        if profile is None:
            self.name.setText("")
            self.contact.setText("")
            return
        self.name.setText(profile.name or self.tr("Unknown customer"))
        phones = profile.phones if self.revealed else [mask_phone(p) for p in profile.phones]
        self.contact.setText("  ·  ".join([*profile.emails, *phones]))
        self.tickets_title.setText(
            self.tr("{n} tickets in {systems} systems").format(
                n=len(profile.tickets), systems=len(profile.systems)
            )
        )
        for ticket in profile.tickets:
            item = QTreeWidgetItem(
                [
                    self._title(ticket.system_id),
                    ticket.subject,
                    status_label(ticket.status),
                    timefmt.short(ticket.updated_at),
                ]
            )
            item.setData(0, TICKET_ROLE, ticket.id)
            item.setToolTip(1, f"{ticket.system_id} #{ticket.external_id}: {ticket.subject}")
            self.tickets.addTopLevelItem(item)
        for column in (0, 2, 3):
            self.tickets.resizeColumnToContents(column)
        self.qa_title.setText(
            self.tr("Quality inspections: {n}").format(n=len(profile.inspections))
        )
        for inspection in profile.inspections:
            verdict = {True: self.tr("passed"), False: self.tr("did not pass"), None: "—"}[
                inspection.passed
            ]
            item = QTreeWidgetItem(
                [
                    inspection.score or "—",
                    verdict,
                    inspection.ticket_ref or "—",
                    timefmt.short(inspection.updated_at),
                ]
            )
            item.setData(0, TICKET_ROLE, inspection.ticket_id)
            self.qa.addTopLevelItem(item)
        self.identities_title.setText(self.tr("Recognised by"))
        for key, origin in profile.keys.items():
            label = key.partition(":")[2] if self.revealed and key.startswith("phone:") else None
            text = f"{label or self.key_label(key)} — {self._origin(origin)}"
            item = QListWidgetItem(text)
            item.setData(KEY_ROLE, key)
            item.setData(KEY_ROLE + 1, origin)
            self.identities.addItem(item)
        self._update_buttons()

    def _update_buttons(self) -> None:
        current = self.identities.currentItem()
        self.unlink_button.setEnabled(
            current is not None and current.data(KEY_ROLE + 1) in ("matched", "linked")
        )
        typed = identity_key(self.link_edit.text())
        self.link_button.setEnabled(
            self.profile is not None and typed is not None and typed not in self.profile.keys
        )

    def _anchor(self) -> str | None:
        """The identity the decisions are recorded against: this ticket's own first key."""
        if self.profile is None:
            return None
        own = [key for key, origin in self.profile.keys.items() if origin == "ticket"]
        return own[0] if own else next(iter(self.profile.keys), None)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self.open_ticket.emit(int(item.data(0, TICKET_ROLE)))

    def _link(self) -> None:
        typed = identity_key(self.link_edit.text())
        anchor = self._anchor()
        if typed is None or anchor is None or not self.link_button.isEnabled():
            return
        self.link_edit.clear()
        self.link_requested.emit(anchor, typed)

    def _unlink(self) -> None:
        current = self.identities.currentItem()
        anchor = self._anchor()
        if current is None or anchor is None or not self.unlink_button.isEnabled():
            return
        self.unlink_requested.emit(anchor, str(current.data(KEY_ROLE)))
