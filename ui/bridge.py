"""Events from the core delivered as Qt signals on the GUI thread, and ``run_op`` for coroutines.

``run_op`` is our ``CollectionOp``: it runs a coroutine on the asyncio loop (qasync), routes
errors to one place and calls back on success — the window never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from app.events import (
    ActionStateChanged,
    AuditUploaded,
    EventBus,
    FirstSyncCompleted,
    SyncHealthChanged,
    TicketsChanged,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_tasks: set[asyncio.Task[Any]] = set()


class Bridge(QObject):
    """Re-emits bus events as Qt signals."""

    tickets_changed = Signal(str, list)
    """tickets_changed(system_id, ticket_ids): cached tickets were inserted or updated."""
    health_changed = Signal(str)
    """health_changed(system_id): a system's light or reason may have changed."""
    first_sync_completed = Signal(str)
    """first_sync_completed(system_id): a system's first full sync is in the cache."""
    action_state_changed = Signal(str, int, str)
    """action_state_changed(action_id, ticket_id, state): pending, sent or failed."""
    audit_uploaded = Signal(int, int, str)
    """audit_uploaded(accepted, pending, error): audit upload progress (error empty if fine)."""
    error_raised = Signal(str, str)
    """error_raised(summary, details): an operation failed; the window shows it."""

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = [
            bus.subscribe(
                TicketsChanged, lambda e: self.tickets_changed.emit(e.system_id, list(e.ticket_ids))
            ),
            bus.subscribe(SyncHealthChanged, lambda e: self.health_changed.emit(e.system_id)),
            bus.subscribe(
                FirstSyncCompleted, lambda e: self.first_sync_completed.emit(e.system_id)
            ),
            bus.subscribe(
                ActionStateChanged,
                lambda e: self.action_state_changed.emit(e.action_id, e.ticket_id, e.state),
            ),
            bus.subscribe(
                AuditUploaded,
                lambda e: self.audit_uploaded.emit(e.accepted, e.pending, e.error or ""),
            ),
        ]

    def detach(self) -> None:
        """Stop listening to the bus (the window is closing)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


def run_op(
    coroutine: Coroutine[Any, Any, T],
    *,
    on_success: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> asyncio.Task[T]:
    """Run ``coroutine`` on the loop; call ``on_success(result)`` or ``on_error(exc)`` after."""
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)

    def done(finished: asyncio.Task[T]) -> None:
        _tasks.discard(finished)
        if finished.cancelled():
            return
        error = finished.exception()
        if error is not None:
            if on_error:
                on_error(error)
            else:
                log.error("operation failed: %s", error, exc_info=error)
        elif on_success:
            on_success(finished.result())

    task.add_done_callback(done)
    return task
