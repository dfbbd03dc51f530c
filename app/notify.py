"""What deserves a desktop notification, decided from sync events and the cache (no Qt).

Three things notify the agent: a ticket newly assigned to them, a new public message from the
customer on a ticket they own, and an SLA that breaches within ``notify_sla_minutes``. Nothing
notifies while a system runs its first full sync (its tickets are not news), nothing while
do-not-disturb or quiet hours are on, and a burst (30 tickets from one pull) becomes one summary.

SLA due times come from ``Ticket.extra["due_by"]`` (ISO-8601 UTC), which the CSV export adapter
fills from the help desk's "Due by Time" column; systems that do not carry it never warn.

The :class:`Notifier` returns plain :class:`Notification` values; the UI words them (translated)
and shows them in the tray or, where there is no tray, in the window.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from app.cache.schema import messages, sync_state, tickets
from app.domain import ErrorContext, Status, TablessError
from app.events import EventBus, FirstSyncCompleted, TicketsChanged
from app.timeutil import parse_timestamp, to_local

log = logging.getLogger(__name__)

ASSIGNED = "assigned"
CUSTOMER_REPLY = "customer_reply"
SLA_DUE = "sla_due"
SUMMARY = "summary"
COALESCE_ABOVE = 3  # more than this many at once: one summary instead
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ACTIVE = tuple(s.value for s in Status if s.is_active)
_CHUNK = 500  # ticket ids per IN (...) query


class NotifySettingError(TablessError):
    """A notification setting cannot be read (for example quiet hours not ``HH:MM-HH:MM``)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell the agent. ``kind`` is one of ASSIGNED, CUSTOMER_REPLY, SLA_DUE or
    SUMMARY; a summary carries ``counts`` (kind, how many) instead of a ticket."""

    kind: str
    system_id: str = ""
    ticket_id: int | None = None
    subject: str = ""
    who: str = ""  # the customer who wrote, or the requester of an assigned ticket
    due_at: datetime | None = None
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Do-not-disturb, optional quiet hours (``"22:00-07:00"`` in ``zone``), SLA warning lead."""

    dnd: bool = False
    quiet_hours: str = ""
    zone: str = ""
    sla_minutes: float = 30.0


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"HH:MM-HH:MM"`` as (start, end); empty means none. Raises ``NotifySettingError``."""
    if not text.strip():
        return None
    match = _QUIET.match(text)
    if match is None:
        raise NotifySettingError(
            f"notify_quiet_hours must look like 22:00-07:00 (got {text!r})",
            ErrorContext(field="notify_quiet_hours"),
        )
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise NotifySettingError(
            f"notify_quiet_hours has an impossible time: {text!r}",
            ErrorContext(field="notify_quiet_hours"),
        )
    return time(h1, m1), time(h2, m2)


def silenced(settings: NotifySettings, now: datetime) -> bool:
    """True under do-not-disturb or inside the quiet hours (in the agent's zone)."""
    if settings.dnd:
        return True
    span = parse_quiet_hours(settings.quiet_hours)
    if span is None:
        return False
    start, end = span
    local = to_local(now, settings.zone or None).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # across midnight


def coalesce(items: Sequence[Notification], limit: int = COALESCE_ABOVE) -> list[Notification]:
    """``items`` as they are, or one summary counting each kind when there are more than
    ``limit``."""
    if len(items) <= limit:
        return list(items)
    counts = Counter(item.kind for item in items)
    order = (ASSIGNED, CUSTOMER_REPLY, SLA_DUE)
    return [Notification(SUMMARY, counts=tuple((k, counts[k]) for k in order if counts[k]))]


def _mine(agent: str) -> Any:
    return or_(tickets.c.assignee_name == agent, tickets.c.assignee_email == agent)


def _same(left: str | None, right: str | None) -> bool:
    return bool(left and right and left.strip().casefold() == right.strip().casefold())


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the cache held when the notifier started: no news in it."""

    ready: frozenset[str]
    mine: dict[int, int]  # the agent's tickets -> their newest message id


class Notifier:
    """Follows the bus and the cache; collects notifications for the UI to take.

    Remembers only the agent's own tickets (id -> newest message id seen), so it stays small
    with a million cached tickets. The cache as it is at start is the baseline (``attach``).
    """

    def __init__(
        self,
        engine: Engine,
        agent: str,
        settings: Callable[[], NotifySettings],
        on_pending: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.agent = agent
        self.settings = settings
        self.on_pending = on_pending
        self.pending: list[Notification] = []
        self.missed = 0  # dropped while silenced
        self._mine: dict[int, int] = {}
        self._ready: set[str] = set()
        self._warned: set[tuple[int, str]] = set()
        self._unsubscribe: list[Callable[[], None]] = []
        self._early: list[tuple[str, tuple[int, ...]]] | None = []
        self._lock = threading.RLock()  # events are handled on a worker, taken on the GUI
        self._worker: ThreadPoolExecutor | None = None

    def attach(self, bus: EventBus, *, prime: bool = True) -> None:
        """Follow ``bus``; with ``prime`` take the baseline now (else call :meth:`start` with
        :meth:`baseline` read off the GUI thread — events until then wait and are replayed)."""
        self._unsubscribe = [
            bus.subscribe(TicketsChanged, self._on_tickets_changed),
            bus.subscribe(FirstSyncCompleted, self._on_first_sync),
        ]
        if prime:
            self.start(self.baseline())

    @property
    def started(self) -> bool:
        """True once the baseline is taken (:meth:`start`)."""
        return self._early is None

    def _submit(self, work: Callable[[], None]) -> None:
        # The bus runs on the event loop: the cache is read on one worker thread, and events
        # are handled there in the order they came (a first sync's pages before its end).
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")
        self._worker.submit(work)

    def _on_tickets_changed(self, event: TicketsChanged) -> None:
        ids = tuple(event.ticket_ids)
        self._submit(lambda: self._changed_safely(event.system_id, ids))

    def _on_first_sync(self, event: FirstSyncCompleted) -> None:
        self._submit(lambda: self._ready.add(event.system_id))

    def _changed_safely(self, system_id: str, ticket_ids: tuple[int, ...]) -> None:
        try:
            self.tickets_changed(system_id, ticket_ids)
        except Exception:  # a notification must never take the session down
            log.exception("notifications: could not read changed tickets")

    def drain(self) -> None:
        """Wait until every event received so far is handled (tests, shutdown)."""
        if self._worker is not None:
            self._worker.submit(lambda: None).result()

    def detach(self) -> None:
        """Stop following the bus."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    def baseline(self) -> Baseline:
        """Read the cache as it is (any thread; a full scan of the tickets: ~0.7 s for a
        million): the systems past their first sync and the agent's tickets."""
        with self.engine.connect() as conn:
            ready = set(
                conn.scalars(select(sync_state.c.system_id).where(sync_state.c.first_sync_done))
            )
            newest = (
                select(tickets.c.id, func.coalesce(func.max(messages.c.id), 0))
                .select_from(tickets.outerjoin(messages, messages.c.ticket_id == tickets.c.id))
                .where(tickets.c.deleted.is_(False), _mine(self.agent))
                .group_by(tickets.c.id)
            )
            mine = {int(row[0]): int(row[1]) for row in conn.execute(newest)}
        return Baseline(frozenset(ready), mine)

    def start(self, baseline: Baseline) -> None:
        """Take ``baseline`` (nothing in it is news), then replay the events that waited (this
        reads the cache: from the GUI, use :meth:`start_in_background`)."""
        with self._lock:
            self._start(baseline)

    def start_in_background(self, baseline: Baseline) -> None:
        """:meth:`start` on the notifier's worker thread, after the events already queued
        there: during a first sync the replay covers tens of thousands of tickets, and on the
        GUI thread it stalled the window for hundreds of milliseconds."""

        def start() -> None:
            try:
                self.start(baseline)
            except Exception:  # a notification must never take the session down
                log.exception("notifications: could not replay the changes seen before")

        self._submit(start)

    def _start(self, baseline: Baseline) -> None:
        self._ready |= baseline.ready
        self._mine = dict(baseline.mine)
        early, self._early = self._early, None
        waiting: dict[str, dict[int, None]] = {}  # each ticket once per system, in order
        for system_id, ids in early or []:
            waiting.setdefault(system_id, {}).update(dict.fromkeys(ids))
        for system_id, unique in waiting.items():
            self._tickets_changed(system_id, list(unique))

    def tickets_changed(self, system_id: str, ticket_ids: Sequence[int]) -> list[Notification]:
        """Update the baseline with these tickets; returns (and queues) what is news."""
        with self._lock:
            return self._tickets_changed(system_id, ticket_ids)

    def _tickets_changed(self, system_id: str, ticket_ids: Sequence[int]) -> list[Notification]:
        if self._early is not None:
            self._early.append((system_id, tuple(ticket_ids)))  # before the baseline
            return []
        found: list[Notification] = []
        with self.engine.connect() as conn:
            for ids in _chunks(list(ticket_ids)):
                rows = conn.execute(
                    select(
                        tickets.c.id,
                        tickets.c.subject,
                        tickets.c.requester_name,
                        tickets.c.requester_email,
                        tickets.c.deleted,
                        _mine(self.agent).label("mine"),
                    ).where(tickets.c.id.in_(ids))
                ).all()
                found.extend(self._compare(conn, system_id, rows))
        if system_id not in self._ready:
            return []  # the first full sync only builds the baseline
        if found:
            self.pending.extend(found)
            if self.on_pending:
                self.on_pending()
        return found

    def _compare(self, conn: Any, system_id: str, rows: Sequence[Any]) -> list[Notification]:
        found: list[Notification] = []
        owned = [r for r in rows if r.mine and not r.deleted]
        for row in rows:
            if not row.mine or row.deleted:
                self._mine.pop(row.id, None)
        if not owned:
            return found
        newest: dict[int, list[Any]] = {}
        query = (
            select(messages)
            .where(
                messages.c.ticket_id.in_([r.id for r in owned]),
                messages.c.pending_action_id.is_(None),
            )
            .order_by(messages.c.id)
        )
        for message in conn.execute(query):
            newest.setdefault(message.ticket_id, []).append(message)
        for row in owned:
            entries = newest.get(row.id, [])
            top = max((m.id for m in entries), default=0)
            requester = row.requester_name or row.requester_email or ""
            if row.id not in self._mine:
                self._mine[row.id] = top
                found.append(Notification(ASSIGNED, system_id, row.id, row.subject, requester))
                continue
            seen = self._mine[row.id]
            self._mine[row.id] = max(seen, top)
            for message in entries:
                if (
                    message.id > seen
                    and message.kind == "reply"
                    and self._from_customer(message, row)
                ):
                    who = message.author_name or message.author_email or requester
                    found.append(Notification(CUSTOMER_REPLY, system_id, row.id, row.subject, who))
        return found

    @staticmethod
    def _from_customer(message: Any, ticket: Any) -> bool:
        if message.author_email and ticket.requester_email:
            return _same(message.author_email, ticket.requester_email)
        return _same(message.author_name, ticket.requester_name)

    def sla_candidates(self) -> list[Any]:
        """The agent's open tickets that carry a due time (any thread: a scan of the tickets)."""
        due_by = func.json_extract(tickets.c.extra, "$.due_by")
        query = select(
            tickets.c.id, tickets.c.system_id, tickets.c.subject, due_by.label("due_by")
        ).where(
            and_(
                tickets.c.deleted.is_(False),
                tickets.c.status.in_(_ACTIVE),
                _mine(self.agent),
                due_by.is_not(None),
            )
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def sla_due(self, now: datetime, rows: Sequence[Any] | None = None) -> list[Notification]:
        """Queue a warning for each of ``rows`` (default: :meth:`sla_candidates`) due within
        the lead time, once per ticket and due time; returns them."""
        lead = timedelta(minutes=float(self.settings().sla_minutes))
        found: list[Notification] = []
        for row in self.sla_candidates() if rows is None else rows:
            if row.system_id not in self._ready or (row.id, row.due_by) in self._warned:
                continue
            try:
                due = parse_timestamp(str(row.due_by))
            except ValueError:
                continue  # an unreadable due time was reported when the record was mapped
            if now <= due <= now + lead:
                self._warned.add((row.id, row.due_by))
                found.append(Notification(SLA_DUE, row.system_id, row.id, row.subject, due_at=due))
        if found:
            with self._lock:
                self.pending.extend(found)
        return found

    def take(self, now: datetime) -> list[Notification]:
        """Everything queued, coalesced — or nothing (counted in ``missed``) while silenced."""
        with self._lock:
            items, self.pending = self.pending, []
        if not items:
            return []
        if silenced(self.settings(), now):
            self.missed += len(items)
            return []
        return coalesce(items)
