"""Typed events and the in-process bus. Events are named ``<subject>_<past tense>``.

Subscribers run synchronously on the publishing thread (the asyncio loop thread); the UI bridge
re-emits them as Qt signals. A failing subscriber is logged and never breaks the publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TicketsChanged:
    """tickets_changed: rows of ``system_id`` were inserted or updated in the cache."""

    system_id: str
    ticket_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SyncHealthChanged:
    """sync_health_changed: a system's health (light colour, reason) changed."""

    system_id: str


@dataclass(frozen=True, slots=True)
class FirstSyncCompleted:
    """first_sync_completed: a system finished its first full pass into the cache."""

    system_id: str


@dataclass(frozen=True, slots=True)
class ActionStateChanged:
    """action_state_changed: an outbox action became pending, sent, failed, conflict
    (someone changed the ticket since the agent saw it) or discarded."""

    action_id: str
    ticket_id: int
    state: str


@dataclass(frozen=True, slots=True)
class AuditUploaded:
    """audit_uploaded: audit records reached the backend (or the upload failed: ``error``)."""

    accepted: int
    pending: int
    error: str | None = None


Event = TicketsChanged | SyncHealthChanged | FirstSyncCompleted | ActionStateChanged | AuditUploaded
E = TypeVar("E")


class EventBus:
    """Publish/subscribe by event type."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` for every ``event_type``; returns the matching unsubscribe."""
        self._subscribers[event_type].append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers[event_type]:
                self._subscribers[event_type].remove(callback)

        return unsubscribe

    def publish(self, event: object) -> None:
        """Deliver ``event`` to its subscribers, in subscription order."""
        for callback in list(self._subscribers[type(event)]):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed for %s", type(event).__name__)
