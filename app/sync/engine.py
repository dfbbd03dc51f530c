"""The sync engine: one coordinator (and push listener) per system; systems never wait for each
other — each runs in its own task with its own schedule, backoff and circuit breaker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from app.cache import CacheWriter
from app.events import EventBus
from app.registry import Adapter
from app.sync.coordinator import SystemCoordinator
from app.sync.policy import PollPolicy


class SyncEngine:
    """Owns the coordinators and their asyncio tasks."""

    def __init__(
        self,
        adapters: Iterable[Adapter],
        writer: CacheWriter,
        bus: EventBus,
        *,
        interval_s: float = 30.0,
        policy: PollPolicy | None = None,
    ) -> None:
        policy = policy or PollPolicy.for_interval(interval_s)
        self._writer, self._bus, self._policy = writer, bus, policy
        self._started = False
        self.coordinators = {
            adapter.system_id: SystemCoordinator(adapter, writer, bus, policy=policy)
            for adapter in adapters
        }
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every coordinator (in the running loop)."""
        self._started = True
        for system_id, coordinator in self.coordinators.items():
            self._tasks.append(asyncio.create_task(coordinator.run(), name=f"sync:{system_id}"))

    def add(self, adapter: Adapter) -> None:
        """Sync a system connected during the session (it starts now if the engine runs)."""
        system_id = adapter.system_id
        coordinator = SystemCoordinator(adapter, self._writer, self._bus, policy=self._policy)
        self.coordinators[system_id] = coordinator
        if self._started:
            self._tasks.append(asyncio.create_task(coordinator.run(), name=f"sync:{system_id}"))

    async def remove(self, system_id: str) -> None:
        """Stop one system's coordinator and close its adapter (removed or re-configured)."""
        coordinator = self.coordinators.pop(system_id, None)
        if coordinator is None:
            return
        for task in [t for t in self._tasks if t.get_name() == f"sync:{system_id}"]:
            self._tasks.remove(task)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await coordinator.adapter.aclose()

    def poke(self, system_id: str) -> None:
        """Ask one system to sync now."""
        if system_id in self.coordinators:
            self.coordinators[system_id].poke()

    def set_focus(self, system_id: str | None) -> None:
        """The agent looks at ``system_id``'s queue (``None``: at no single system)."""
        for key, coordinator in self.coordinators.items():
            coordinator.set_focus(key == system_id)

    async def wait_first_sync(self, timeout_s: float) -> dict[str, str]:
        """Wait until every system synced once; returns ``{system_id: last error}`` of laggards."""
        waits = [asyncio.create_task(c.first_sync.wait()) for c in self.coordinators.values()]
        if waits:
            _done, pending = await asyncio.wait(waits, timeout=timeout_s)
            for task in pending:
                task.cancel()
        return {
            system_id: c.health.last_error or "no answer before the timeout"
            for system_id, c in self.coordinators.items()
            if not c.first_sync.is_set()
        }

    async def stop(self) -> None:
        """Cancel the coordinators and close the adapters' clients."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for coordinator in self.coordinators.values():
            with contextlib.suppress(Exception):
                await coordinator.adapter.aclose()
