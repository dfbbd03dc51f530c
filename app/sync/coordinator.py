"""One coordinator per connected system: pull pages, commit each with its cursor, report health.

A page and its cursor are committed together, so a crash or kill resumes from the last committed
page: nothing lost, nothing duplicated (upserts are idempotent). Failures back off exponentially
(with a cap) and never wipe local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from adapters.base import Adapter, PullResult
from app.cache import CacheWriter, repo
from app.domain import AdapterError, TablessError
from app.events import EventBus, FirstSyncCompleted, SyncHealthChanged, TicketsChanged
from app.sync.health import Health
from app.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0
MAX_PAGES_PER_PASS = 10_000


class SystemCoordinator:
    """Keeps one system's tickets in the cache."""

    def __init__(
        self,
        adapter: Adapter,
        writer: CacheWriter,
        bus: EventBus,
        *,
        interval_s: float = 30.0,
    ) -> None:
        self.adapter = adapter
        self.system_id = adapter.system_id
        self.writer = writer
        self.bus = bus
        self.interval_s = interval_s
        self.health = Health(system_id=self.system_id)
        self._wake = asyncio.Event()
        self.first_sync = asyncio.Event()

    def poke(self) -> None:
        """Sync again now (after an action, or when the agent looks at this system)."""
        self._wake.set()

    def _changed_health(self) -> None:
        self.bus.publish(SyncHealthChanged(self.system_id))

    async def _store(self, page: PullResult, complete: bool) -> list[int]:
        return await self.writer.run(
            repo.store_pull,
            self.system_id,
            page.tickets,
            page.quarantined,
            page.cursor,
            utcnow(),
            complete,
        )

    async def sync_once(self) -> int:
        """Pull until the system has nothing more; returns how many tickets were stored."""
        with self.writer.cache.engine.connect() as conn:
            cursor, first_done = repo.load_cursor(conn, self.system_id)
        self.health.first_sync_done = self.health.first_sync_done or first_done
        self.health.syncing = True
        stored = 0
        try:
            for _ in range(MAX_PAGES_PER_PASS):
                started = time.perf_counter()
                page = await self.adapter.pull(cursor)
                self.health.last_latency_ms = (time.perf_counter() - started) * 1000
                for error in page.quarantined:
                    log.warning("quarantined: %s", error)
                ids = await self._store(page, complete=not page.has_more)
                cursor = page.cursor
                stored += len(ids)
                if ids:
                    self.bus.publish(TicketsChanged(self.system_id, tuple(ids)))
                if not page.has_more:
                    break
        finally:
            self.health.syncing = False
        self.health.last_success_at = utcnow()
        self.health.consecutive_failures = 0
        self.health.last_error = self.health.last_error_code = None
        if not self.health.first_sync_done:
            self.health.first_sync_done = True
            self.bus.publish(FirstSyncCompleted(self.system_id))
        self.first_sync.set()
        self._changed_health()
        return stored

    async def _record_failure(self, error: TablessError) -> None:
        self.health.consecutive_failures += 1
        self.health.last_error = str(error)
        self.health.last_error_code = error.code
        self.health.last_error_at = utcnow()
        try:
            await self.writer.run(repo.save_error, self.system_id, str(error), utcnow())
        except Exception:  # the cache itself failing must not kill the loop
            log.exception("could not record the sync error of %s", self.system_id)
        self._changed_health()

    def next_delay(self) -> float:
        """Seconds until the next pull: the interval, or jittered exponential backoff."""
        failures = self.health.consecutive_failures
        if failures == 0:
            return self.interval_s
        ceiling = min(MAX_BACKOFF_S, self.interval_s * 2 ** min(failures - 1, 10))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    async def run(self) -> None:
        """Sync forever: on schedule, when poked, and backing off while the system fails."""
        while True:
            self._wake.clear()  # before the pass: a poke during the pass is not lost
            try:
                await self.sync_once()
            except AdapterError as error:
                log.warning("sync of %s failed: %s", self.system_id, error)
                await self._record_failure(error)
            except TablessError as error:
                log.error("sync of %s failed: %s", self.system_id, error)
                await self._record_failure(error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.next_delay())
