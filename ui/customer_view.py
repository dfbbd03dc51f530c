"""The customer panel wired to the workstation: loads profiles off the GUI thread, records the
agent's link / unlink decisions through the cache writer, and audits every one of them and every
reveal of a masked field."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.cache import customers
from app.runtime import Workstation
from app.timeutil import utcnow
from ui.widgets.customer_panel import CustomerPanel
from ui.workers import LatestOnly


class CustomerView(QWidget):
    """A :class:`CustomerPanel` that follows the selected ticket."""

    open_ticket = Signal(int)
    """open_ticket(cache ticket id): show that ticket (it may be in another system)."""
    changed = Signal()
    """changed(): a profile was shown (tests and the status bar wait on it)."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workstation
        self.panel = CustomerPanel(workstation.title)
        self.ticket_id: int | None = None
        self._worker = LatestOnly(self)
        self._worker.finished.connect(self._loaded)
        self._worker.failed.connect(self._failed)
        self.panel.open_ticket.connect(self.open_ticket)
        self.panel.link_requested.connect(lambda _anchor, other: self._decide(other, True))
        self.panel.unlink_requested.connect(lambda _anchor, other: self._decide(other, False))
        self.panel.reveal_requested.connect(self._reveal)
        self.pending: set[asyncio.Task[Any]] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel)

    def retranslate(self) -> None:
        """Re-set the panel's texts."""
        self.panel.retranslate()

    def load(self, ticket_id: int | None) -> None:
        """Show the customer of ``ticket_id`` (None: clear)."""
        self.ticket_id = ticket_id
        if ticket_id is None:
            self.panel.show_profile(None)
            return
        engine = self.ws.cache.engine

        def find() -> customers.Profile | None:
            with engine.connect() as conn:
                return customers.profile(conn, ticket_id)

        self._worker.start(find)

    def reload(self) -> None:
        """Read the profile of the current ticket again (after a decision)."""
        self.load(self.ticket_id)

    def _loaded(self, _generation: int, result: object) -> None:
        self.panel.show_profile(cast(customers.Profile | None, result))
        self.changed.emit()

    def _failed(self, _generation: int, error: object) -> None:
        self.panel.show_profile(None)
        self.panel.empty.setText(
            self.tr("The customer could not be looked up: {error}").format(error=error)
        )
        self.changed.emit()

    def _track(self, task: asyncio.Task[Any]) -> None:
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def _decide(self, other: str, linked: bool) -> None:
        profile = self.panel.profile
        if profile is None:
            return
        own = [key for key, origin in profile.keys.items() if origin == "ticket"]
        agent = self.ws.identity.agent
        system = None
        if profile.tickets:
            system = next((t.system_id for t in profile.tickets if t.id == self.ticket_id), None)

        def record(conn: Any) -> None:
            at = utcnow()
            for anchor in own:
                if anchor != other:
                    customers.decide(conn, anchor, other, linked=linked, agent=agent, at=at)

        async def run() -> None:
            await self.ws.writer.run(record)
            await self.ws.record_event(
                "customer_linked" if linked else "customer_unlinked",
                system_id=system,
                ticket_id=self._external_id(),
                details={"identities": own, "other": other},
            )
            self.reload()

        self._track(asyncio.ensure_future(run()))

    def _external_id(self) -> str | None:
        profile = self.panel.profile
        if profile is None:
            return None
        return next((t.external_id for t in profile.tickets if t.id == self.ticket_id), None)

    def _reveal(self, field: str) -> None:
        profile = self.panel.profile
        if profile is None:
            return
        system = next((t.system_id for t in profile.tickets if t.id == self.ticket_id), None)

        async def run() -> None:
            await self.ws.record_event(
                "field_revealed",
                system_id=system,
                ticket_id=self._external_id(),
                details={"field": field},
            )
            self.panel.reveal()  # only once the reveal is in the audit journal

        self._track(asyncio.ensure_future(run()))
