"""One coordinator per connected system: pull pages, commit each with its cursor, report health.

A page and its cursor are committed together, so a crash or kill resumes from the last committed
page: nothing lost, nothing duplicated (upserts are idempotent). Polling adapts (quick while the
agent watches the system or changes keep coming, stretched while idle); failures back off
exponentially and open a circuit breaker; an optional push channel pokes the coordinator.
Nothing here ever wipes local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from app.cache import CacheWriter, drift, repo
from app.cache.drift import DriftNote
from app.cache.schema import messages, tickets
from app.domain import AdapterError, ErrorContext, RecordError, TablessError, Ticket
from app.events import EventBus, FirstSyncCompleted, SyncHealthChanged, TicketsChanged
from app.registry import Adapter, PullResult
from app.sync.health import Breaker, Health
from app.sync.policy import PollPolicy
from app.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_PAGES_PER_PASS = 10_000
LOOKUP_CHUNK = 500


Version = tuple[datetime, bool, str, int]


def _version(ticket: Ticket) -> Version:
    return ticket.updated_at, ticket.deleted, ticket.native_status, len(ticket.messages)


def _known_versions(conn: Connection, system_id: str, keys: list[str]) -> dict[str, Version]:
    """What the cache holds of these tickets: updated_at, deleted, native status, messages."""
    known: dict[str, Version] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        rows = conn.execute(
            select(
                tickets.c.external_id,
                tickets.c.updated_at,
                tickets.c.deleted,
                tickets.c.native_status,
                func.count(messages.c.id),
            )
            .outerjoin(messages, messages.c.ticket_id == tickets.c.id)
            .where(
                tickets.c.system_id == system_id,
                tickets.c.external_id.in_(keys[start : start + LOOKUP_CHUNK]),
            )
            .group_by(tickets.c.id)
        )
        known.update({row[0]: (row[1], bool(row[2]), row[3], int(row[4])) for row in rows})
    return known


def store_page(
    conn: Connection,
    system_id: str,
    tickets_in: Sequence[Ticket],
    errors: Sequence[RecordError],
    cursor: str | None,
    now: datetime,
    complete: bool,
    drift_notes: Sequence[DriftNote] = (),
) -> tuple[list[int], list[int]]:
    """Commit one page with its cursor; returns (stored ids, ids that really changed).

    A ticket re-read unchanged (a lookback window, an idempotent replay) is stored again but
    does not count as a change, so an idle system's polling still stretches. Besides
    ``updated_at`` the comparison includes the message count and native status, because many
    systems stamp changes to the second: two replies within one second share an ``updated_at``.
    """
    known = _known_versions(conn, system_id, [t.key.external_id for t in tickets_in])
    ids = repo.store_pull(conn, system_id, tickets_in, errors, cursor, now, complete)
    if drift_notes:
        for note in drift.record(conn, system_id, drift_notes, now):
            log.warning(
                "schema drift in %s/%s: %s %r%s (e.g. record %s)",
                system_id,
                note.stream,
                note.kind.replace("_", " "),
                note.field,
                f" = {note.value!r}" if note.value else "",
                note.record_id,
            )
    return ids, [
        ticket_id
        for ticket_id, ticket in zip(ids, tickets_in, strict=True)
        if known.get(ticket.key.external_id) != _version(ticket)
    ]


class SystemCoordinator:
    """Keeps one system's tickets in the cache."""

    def __init__(
        self,
        adapter: Adapter,
        writer: CacheWriter,
        bus: EventBus,
        *,
        interval_s: float = 30.0,
        policy: PollPolicy | None = None,
    ) -> None:
        self.adapter = adapter
        self.system_id = adapter.system_id
        self.writer = writer
        self.bus = bus
        self.policy = policy or PollPolicy.for_interval(interval_s)
        self.interval_s = self.policy.interval_s
        self.health = Health(system_id=self.system_id)
        self._wake = asyncio.Event()
        self._idle_passes = 0
        self.first_sync = asyncio.Event()
        self.pulls = 0  # adapter.pull() calls, for the benchmarks and tests

    # ------------------------------------------------------------------------ control

    def poke(self) -> None:
        """Sync again now (after an action, a push signal, or when the agent looks here).

        While the system is failing the poke waits for the backoff or cool-down to end.
        """
        self._wake.set()

    def set_focus(self, focused: bool) -> None:
        """The agent is (or stops) looking at this system's queue: poll quickly meanwhile."""
        if focused == self.health.focused:
            return
        self.health.focused = focused
        if focused:
            self._idle_passes = 0
            self.poke()

    def _changed_health(self) -> None:
        self.bus.publish(SyncHealthChanged(self.system_id))

    # -------------------------------------------------------------------------- pulling

    def _committed_cursor(self) -> tuple[str | None, bool]:
        with self.writer.cache.engine.connect() as conn:
            return repo.load_cursor(conn, self.system_id)

    async def _store(self, page: PullResult, complete: bool) -> tuple[list[int], list[int]]:
        return await self.writer.run(
            store_page,
            self.system_id,
            page.tickets,
            page.quarantined,
            page.cursor,
            utcnow(),
            complete,
            page.drift,
        )

    async def sync_once(self) -> int:
        """Pull until the system has nothing more; returns how many tickets were stored."""
        stored, _changed = await self._pass()
        return stored

    async def _pass(self) -> tuple[int, int]:
        cursor, first_done = self._committed_cursor()
        self.health.first_sync_done = self.health.first_sync_done or first_done
        self.health.syncing = True
        stored = changed = 0
        try:
            for _ in range(MAX_PAGES_PER_PASS):
                started = time.perf_counter()
                self.pulls += 1
                page = await self.adapter.pull(cursor)
                self.health.last_latency_ms = (time.perf_counter() - started) * 1000
                for error in page.quarantined:
                    log.warning("quarantined: %s", error)
                ids, fresh = await self._store(page, complete=not page.has_more)
                cursor = page.cursor
                stored += len(ids)
                changed += len(fresh)
                if fresh:
                    self.bus.publish(TicketsChanged(self.system_id, tuple(fresh)))
                if not page.has_more:
                    break
        finally:
            self.health.syncing = False
        self._record_success()
        return stored, changed

    def _record_success(self) -> None:
        health = self.health
        health.last_success_at = utcnow()
        health.consecutive_failures = 0
        health.last_error = health.last_error_code = None
        health.stale_since = None
        health.breaker, health.breaker_open_until, health.breaker_trips = Breaker.CLOSED, None, 0
        if not health.first_sync_done:
            health.first_sync_done = True
            self.bus.publish(FirstSyncCompleted(self.system_id))
        self.first_sync.set()
        self._changed_health()

    async def _record_failure(self, error: TablessError) -> None:
        health = self.health
        now = utcnow()
        health.consecutive_failures += 1
        health.last_error = str(error)
        health.last_error_code = error.code
        health.last_error_at = now
        health.stale_since = health.stale_since or now
        if (
            health.breaker is Breaker.HALF_OPEN
            or health.consecutive_failures >= self.policy.failure_threshold
        ):
            health.breaker_trips += 1
            cooldown = self.policy.cooldown(health.breaker_trips)
            health.breaker = Breaker.OPEN
            health.breaker_open_until = now + timedelta(seconds=cooldown)
            log.warning("%s: circuit open for %.0f s after %s", self.system_id, cooldown, error)
        try:
            await self.writer.run(repo.save_error, self.system_id, str(error), now)
        except Exception:  # the cache itself failing must not kill the loop
            log.exception("could not record the sync error of %s", self.system_id)
        self._changed_health()

    # ------------------------------------------------------------------------- schedule

    def next_delay(self) -> float:
        """Seconds until the next pull: cool-down, backoff, focus, push safety net or idle."""
        health = self.health
        if health.breaker is Breaker.OPEN and health.breaker_open_until is not None:
            return max(0.0, (health.breaker_open_until - utcnow()).total_seconds())
        if health.consecutive_failures:
            return self.policy.backoff(health.consecutive_failures)
        if health.focused:
            return self.policy.focus_interval_s
        if health.push_connected:
            return self.policy.push_interval_s
        return self.policy.idle_delay(self._idle_passes)

    async def _wait(self, delay: float) -> None:
        """Sleep ``delay``; a poke ends it early only while the system is healthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        self.health.poll_interval_s = delay
        self.health.next_pull_at = utcnow() + timedelta(seconds=delay)
        while (remaining := deadline - loop.time()) > 0:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=remaining)
            except TimeoutError:
                return
            if not self.health.consecutive_failures:
                return
            self._wake.clear()  # backing off: the poke waits, the system is not hammered
            self.health.requests_skipped += 1

    async def _one_pass(self) -> None:
        health = self.health
        if health.breaker is Breaker.OPEN:
            health.breaker = Breaker.HALF_OPEN  # the cool-down is over: one trial
            self._changed_health()
        try:
            _stored, changed = await self._pass()
        except AdapterError as error:
            log.warning("sync of %s failed: %s", self.system_id, error)
            await self._record_failure(error)
        except TablessError as error:
            log.error("sync of %s failed: %s", self.system_id, error)
            await self._record_failure(error)
        except Exception as exc:  # an adapter's bug or a library's own error type
            # Not the end of this system's sync: reported like any failure and tried again
            # with backoff (a keyring backend's ItemNotFoundException once ended the loop).
            log.exception("sync of %s failed unexpectedly", self.system_id)
            await self._record_failure(
                AdapterError(
                    f"unexpected {type(exc).__name__}: {exc}",
                    ErrorContext(system=self.system_id),
                    code="unexpected_error",
                )
            )
        else:
            self._idle_passes = 0 if changed else self._idle_passes + 1

    async def run(self) -> None:
        """Sync forever: on schedule, when poked, backing off while the system fails."""
        push = asyncio.create_task(self.listen_forever(), name=f"push:{self.system_id}")
        try:
            while True:
                self._wake.clear()  # before the pass: a poke during the pass is not lost
                await self._one_pass()
                await self._wait(self.next_delay())
        finally:
            push.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await push

    # ----------------------------------------------------------------------------- push

    async def listen_forever(self) -> None:
        """Follow the adapter's push channel, if any: each signal pokes a pull.

        When the channel drops the coordinator pulls at once (changes may have been missed),
        polls at its normal pace, and reconnects with a growing delay.
        """
        delay = self.policy.push_retry_s
        while True:
            channel = self.adapter.listen(self._committed_cursor()[0])
            if channel is None:
                self.health.push_supported = False
                return
            self.health.push_supported = True
            try:
                async for _signal in channel:
                    if not self.health.push_connected:
                        self.health.push_connected = True
                        self._changed_health()
                    delay = self.policy.push_retry_s
                    self.poke()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a dropped channel is routine: fall back to polling
                log.info("push channel of %s dropped: %s", self.system_id, error)
            finally:
                close = getattr(channel, "aclose", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close()
            if self.health.push_connected:
                self.health.push_connected = False
                self._idle_passes = 0
                self._changed_health()
                self.poke()
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter
            delay = min(delay * 2, self.policy.push_retry_max_s)
