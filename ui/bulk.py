"""Bulk actions on the inbox's selection: close, set a status, assign to me — with progress,
cancel and undo.

A bulk command is one outbox action per ticket, each recorded through ``ActionService.submit``
(permission check, outbox row and audit record in one transaction): nothing bypasses the
outbox. The work runs as a coroutine on the loop with a non-blocking, cancellable
``QProgressDialog``. Afterwards a toast offers *Undo* for ``UNDO_MS``: it re-enqueues each
ticket's previous status (systems without status changes are skipped and counted). Closing
several tickets at once is a step-up operation (``ui.stepup_prompt``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QMainWindow, QMenu, QProgressDialog

from app.actions import ActionRejected, Assign, ChangeStatus, Command
from app.cache import queries
from app.domain import Person, Status
from app.registry import Capability
from ui.bridge import run_op
from ui.labels import status_label
from ui.stepup_prompt import BULK_CLOSE, request_step_up
from ui.tray import Toast

UNDO_MS = 10_000
PROGRESS_AFTER_MS = 500  # the dialog appears only for work longer than this


@dataclass(slots=True)
class BulkResult:
    """What a bulk command did: tickets done (each with the command that undoes it, or None),
    skipped, failed."""

    label: str
    done: list[tuple[int, Command | None]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    cancelled: bool = False


class BulkActions(QObject):
    """The inbox's bulk commands and their context menu, for one main window."""

    finished = Signal(object)
    """finished(BulkResult): a bulk command (or its undo) has recorded all its actions."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window: Any = window
        self.ws = self.window.ws
        self.toast = Toast(window)
        self.toast.action_clicked.connect(self.undo)
        self.progress: QProgressDialog | None = None
        self.last: BulkResult | None = None
        self.menu: QMenu | None = None
        self._cancel = False
        self.running = False
        inbox = self.window.inbox
        inbox.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        inbox.customContextMenuRequested.connect(self.offer)

    # --- the menu -----------------------------------------------------------------------------
    def offer(self, where: QPoint | None = None) -> QMenu:
        """The selection's context menu: Close selected, Set status ▸, Assign to me."""
        ids = self.window.selected_ticket_ids()
        menu = QMenu(self.window)
        count = len(ids)
        close = menu.addAction(
            QCoreApplication.translate("Bulk", "Close selected ({n})").format(n=count)
        )
        close.triggered.connect(lambda: self.set_status(ids, Status.CLOSED.value))
        statuses = menu.addMenu(QCoreApplication.translate("Bulk", "Set status"))
        for status in Status:
            item = statuses.addAction(status_label(status.value))
            item.triggered.connect(
                lambda _c=False, s=status.value: self.set_status(ids, s)  # type: ignore[misc]
            )
        assign = menu.addAction(QCoreApplication.translate("Bulk", "Assign to me"))
        assign.triggered.connect(lambda: self.assign_to_me(ids))
        systems = self._systems(ids)
        caps = [self.ws.capabilities(s) for s in systems]
        for action, capability in (
            (close, Capability.STATUS),
            (statuses.menuAction(), Capability.STATUS),
            (assign, Capability.ASSIGN),
        ):
            usable = any(capability in c for c in caps)
            action.setEnabled(bool(ids) and usable and not self.running)
            if not usable and ids:
                action.setToolTip(
                    QCoreApplication.translate(
                        "Bulk", "None of the selected tickets' systems allows this."
                    )
                )
        if assign.isEnabled() and not self.me().email:
            assign.setEnabled(False)
            assign.setToolTip(
                QCoreApplication.translate(
                    "Bulk", "Set your e-mail address (agent_email) to assign tickets."
                )
            )
        menu.setToolTipsVisible(True)
        self.menu = menu
        if where is not None:
            menu.popup(self.window.inbox.viewport().mapToGlobal(where))
        return menu

    def _systems(self, ids: Sequence[int]) -> set[str]:
        rows = self._rows(ids)
        return {str(r.system_id) for r in rows.values()}

    def _rows(self, ids: Sequence[int]) -> dict[int, Any]:
        with self.ws.cache.engine.connect() as conn:
            return queries.inbox_rows(conn, list(ids))

    # --- commands -----------------------------------------------------------------------------
    def set_status(self, ids: Sequence[int], status: str) -> None:
        """Set ``status`` on every ticket of ``ids`` (closing several asks for a step-up)."""
        ids = list(ids)
        if not ids or self.running:
            return
        label = QCoreApplication.translate("Bulk", "{status}: {n} tickets").format(
            status=status_label(status), n=len(ids)
        )
        rows = self._rows(ids)

        def build(ticket_id: int) -> Command:
            return ChangeStatus(ticket_id, Status(status))

        def start() -> None:
            undo = {i: ChangeStatus(i, Status(str(rows[i].status))) for i in ids if i in rows}
            self.run(ids, build, label, undo)

        if status == Status.CLOSED.value and len(ids) > 1:
            systems = ", ".join(sorted({str(r.system_id) for r in rows.values()}))
            used_for = f"bulk close of {len(ids)} tickets in {systems}"
            request_step_up(
                self.window, BULK_CLOSE, len(ids), used_for, on_granted=lambda _grant: start()
            )
        else:
            start()

    def me(self) -> Person:
        """The agent as an assignee (from the settings agent_name / agent_email)."""
        config = self.ws.config
        email = str(config.values.get("agent_email") or "") or None
        return Person(name=str(config.get("agent_name") or "") or None, email=email)

    def assign_to_me(self, ids: Sequence[int]) -> None:
        """Assign every ticket of ``ids`` to the agent (systems that allow it); Undo gives each
        back to whoever had it (or unassigns it)."""
        me = self.me()
        with self.ws.cache.engine.connect() as conn:
            previous = queries.assignees(conn, list(ids))
        self.run(
            list(ids),
            lambda i: Assign(i, me),
            QCoreApplication.translate("Bulk", "Assign to me: {n} tickets").format(n=len(ids)),
            {i: Assign(i, who) for i, who in previous.items()},
        )

    def run(
        self,
        ids: list[int],
        build: Callable[[int], Command],
        label: str,
        undo: Mapping[int, Command] | None = None,
    ) -> asyncio.Task[BulkResult] | None:
        """Record ``build(id)`` for each ticket with progress and cancel; then offer Undo when
        ``undo`` says how to reverse each ticket's command."""
        if not ids or self.running:
            return None
        self.running = True
        self._cancel = False
        progress = QProgressDialog(
            label, QCoreApplication.translate("Bulk", "Cancel"), 0, len(ids), self.window
        )
        progress.setWindowTitle(QCoreApplication.translate("Bulk", "Bulk action"))
        progress.setWindowModality(Qt.WindowModality.NonModal)  # the window stays usable
        progress.setMinimumDuration(PROGRESS_AFTER_MS)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(self.cancel)
        progress.setValue(0)
        self.progress = progress

        rows = self._rows(ids)

        async def work() -> BulkResult:
            result = BulkResult(label)
            for position, ticket_id in enumerate(ids):
                if self._cancel:
                    result.cancelled = True
                    break
                command = build(ticket_id)
                row = rows.get(ticket_id)
                try:
                    if row is None or command.capability not in self.ws.capabilities(
                        str(row.system_id)
                    ):
                        result.skipped.append(ticket_id)
                        continue
                    await self.ws.actions.submit(command)
                except ActionRejected as exc:
                    result.failed.append((ticket_id, str(exc)))
                else:
                    result.done.append((ticket_id, (undo or {}).get(ticket_id)))
                finally:
                    progress.setValue(position + 1)
                    progress.setLabelText(
                        QCoreApplication.translate("Bulk", "{label} — {done} of {total}").format(
                            label=label, done=position + 1, total=len(ids)
                        )
                    )
            return result

        def settle(result: BulkResult) -> None:
            self.running = False
            progress.hide()  # close() would emit canceled and reset it
            undoable = any(reverse is not None for _ticket, reverse in result.done)
            self.last = result if undoable else None
            self._announce(result, undo=undoable)
            self.finished.emit(result)

        def failed(error: BaseException) -> None:
            self.running = False
            progress.hide()  # close() would emit canceled and reset it
            self.window.show_error(
                error, QCoreApplication.translate("Bulk", "The bulk action stopped.")
            )

        return run_op(work(), on_success=settle, on_error=failed)

    def cancel(self) -> None:
        """Stop after the ticket being recorded (recorded ones stay recorded; Undo covers
        them)."""
        self._cancel = True

    def _announce(self, result: BulkResult, *, undo: bool) -> None:
        parts = [QCoreApplication.translate("Bulk", "{n} done").format(n=len(result.done))]
        if result.skipped:
            parts.append(
                QCoreApplication.translate(
                    "Bulk", "{n} skipped (the system does not allow it)"
                ).format(n=len(result.skipped))
            )
        if result.failed:
            parts.append(
                QCoreApplication.translate("Bulk", "{n} refused").format(n=len(result.failed))
            )
        if result.cancelled:
            parts.append(QCoreApplication.translate("Bulk", "cancelled"))
        self.toast.show_message(
            result.label,
            " · ".join(parts),
            UNDO_MS,
            QCoreApplication.translate("Bulk", "Undo") if undo else "",
        )

    def undo(self) -> asyncio.Task[BulkResult] | None:
        """Re-enqueue what each ticket had before the last bulk command (its status, its
        assignee), offered for ``UNDO_MS`` after it."""
        last, self.last = self.last, None
        if last is None:
            return None
        reverse = {ticket: command for ticket, command in last.done if command is not None}
        return self.run(
            list(reverse),
            reverse.__getitem__,
            QCoreApplication.translate("Bulk", "Undo: {n} tickets").format(n=len(reverse)),
        )
