"""The sync engine over real stand-ins: independence, backoff and circuit breaker, adaptive
polling, and a push channel (a small SSE server written here) with fallback to polling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from adapters._http import HttpSettings
from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.cache import CacheWriter, open_cache, queries
from app.domain import UnreachableError
from app.events import EventBus, TicketsChanged
from app.sync import Breaker, PollPolicy, SyncEngine, SystemCoordinator
from sandbox.zendesk import ZendeskStandIn


def _adapter(
    system_id: str, connection: dict[str, Any], http: HttpSettings | None = None
) -> ZendeskAdapter:
    settings = {**connection["settings"], "page_size": 25}
    context = AdapterContext(system_id, settings, lambda key: connection["secrets"][key])
    return ZendeskAdapter(context, http=http)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait until ``predicate()`` holds (checked every 10 ms); fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def cache_writer(tmp_path: Path):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    yield cache, writer
    writer.close()
    cache.close()


def test_a_slow_system_never_delays_a_fast_one(seed_tickets, serve, cache_writer) -> None:  # type: ignore[no-untyped-def]
    cache, writer = cache_writer
    fast, slow = ZendeskStandIn(seed_tickets), ZendeskStandIn(seed_tickets)
    slow.plan.update({"latency_s": 3.0})
    fast.plan.update({"latency_s": 0.05})
    adapters = [
        _adapter("fast", fast.connection(serve(fast.app))),
        _adapter("slow", slow.connection(serve(slow.app))),
    ]
    engine = SyncEngine(adapters, writer, EventBus(), interval_s=60)

    async def scenario() -> tuple[bool, int, int]:
        engine.start()
        await asyncio.wait_for(engine.coordinators["fast"].first_sync.wait(), 30)
        slow_done = engine.coordinators["slow"].first_sync.is_set()
        with cache.engine.connect() as conn:
            counts = queries.ticket_count(conn, "fast"), queries.ticket_count(conn, "slow")
        await engine.stop()
        return slow_done, *counts

    slow_done, fast_count, slow_count = asyncio.run(scenario())
    assert fast_count == len(fast.ticket_ids())  # every fast ticket committed...
    assert not slow_done and slow_count == 0  # ...while the slow system is still loading


def test_a_failing_system_is_backed_off_and_its_circuit_opens(  # type: ignore[no-untyped-def]
    seed_tickets, serve, cache_writer
) -> None:
    _cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    adapter = _adapter("zendesk", stand_in.connection(serve(stand_in.app)), HttpSettings(retries=0))
    policy = PollPolicy(interval_s=0.05, max_backoff_s=0.2, failure_threshold=3, cooldown_s=0.6)
    coordinator = SystemCoordinator(adapter, writer, EventBus(), policy=policy)
    stand_in.plan.update({"down": True})
    window_s = 2.0

    async def scenario() -> tuple[int, list[Breaker]]:
        task = asyncio.create_task(coordinator.run())
        states: list[Breaker] = []
        started = time.monotonic()
        while time.monotonic() - started < window_s:  # the agent keeps clicking "refresh"
            coordinator.poke()
            states.append(coordinator.health.breaker)
            await asyncio.sleep(0.02)
        seen = stand_in.plan.requests_seen
        stand_in.plan.update({"down": False})
        await eventually(lambda: coordinator.health.breaker is Breaker.CLOSED)
        await asyncio.wait_for(coordinator.first_sync.wait(), 20)
        task.cancel()
        await adapter.aclose()
        return seen, states

    seen, states = asyncio.run(scenario())
    pokes = len(states)
    # three failures, then the circuit opens: at most two half-open trials in the window
    assert seen <= 5, f"{seen} requests in {window_s} s despite the backoff ({pokes} pokes)"
    assert Breaker.OPEN in states and Breaker.CLOSED in states
    health = coordinator.health
    assert health.requests_skipped > 0  # pokes while failing waited instead of hammering
    assert health.stale_since is None and health.last_error is None  # recovered
    assert health.first_sync_done and health.breaker_trips == 0


def test_breaker_fields_describe_the_outage(seed_tickets, serve, cache_writer) -> None:  # type: ignore[no-untyped-def]
    _cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    adapter = _adapter("zendesk", stand_in.connection(serve(stand_in.app)), HttpSettings(retries=0))
    policy = PollPolicy(interval_s=0.02, max_backoff_s=0.05, failure_threshold=2, cooldown_s=30)
    coordinator = SystemCoordinator(adapter, writer, EventBus(), policy=policy)
    stand_in.plan.update({"down": True})

    async def scenario() -> None:
        task = asyncio.create_task(coordinator.run())
        await eventually(lambda: coordinator.health.breaker is Breaker.OPEN)
        task.cancel()
        await adapter.aclose()

    asyncio.run(scenario())
    health = coordinator.health
    assert health.consecutive_failures == 2 and "503" in (health.last_error or "")
    assert health.stale_since is not None and health.last_error_at is not None
    assert health.breaker_open_until is not None
    assert 25 < (health.breaker_open_until - health.last_error_at).total_seconds() <= 30
    assert coordinator.next_delay() > 25  # nothing is called during the cool-down


class _RecordingCoordinator(SystemCoordinator):
    """A real coordinator that remembers each delay it chose."""

    delays: list[float]

    def next_delay(self) -> float:
        delay = super().next_delay()
        self.delays.append(delay)
        return delay


def test_polling_stretches_when_idle_and_quickens_on_focus_or_change(  # type: ignore[no-untyped-def]
    seed_tickets, serve, cache_writer
) -> None:
    cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    adapter = _adapter("zendesk", stand_in.connection(serve(stand_in.app)))
    policy = PollPolicy(interval_s=0.05, focus_interval_s=0.03, idle_max_s=0.4, stretch=2.0)
    bus = EventBus()
    coordinator = _RecordingCoordinator(adapter, writer, bus, policy=policy)
    coordinator.delays = []

    async def scenario() -> tuple[list[float], list[float], list[float]]:
        arrived = asyncio.Event()
        bus.subscribe(TicketsChanged, lambda _e: arrived.set())
        task = asyncio.create_task(coordinator.run())
        await eventually(lambda: coordinator.delays[-2:] == [0.4, 0.4])
        idle = list(coordinator.delays)
        arrived.clear()
        mark = len(coordinator.delays)
        target = stand_in.ticket_ids()[0]
        stand_in.add_comment(target, "还有一个问题")
        await asyncio.wait_for(arrived.wait(), 5)
        await eventually(lambda: len(coordinator.delays) >= mark + 2)
        after_change = coordinator.delays[mark : mark + 2]
        coordinator.set_focus(True)
        mark = len(coordinator.delays)
        await eventually(lambda: len(coordinator.delays) >= mark + 3)
        focused = coordinator.delays[mark:]
        task.cancel()
        await adapter.aclose()
        return idle, after_change, focused

    idle, after_change, focused = asyncio.run(scenario())
    assert idle[:4] == [0.05, 0.1, 0.2, 0.4]  # the first sync found everything, then nothing
    # the pass that found the change (the first or, if it raced, the second) is quick again
    assert 0.05 in after_change
    assert set(focused) == {0.03}
    with cache.engine.connect() as conn:
        bodies = [m.body_text for m in queries.conversation(conn, queries.inbox_ids(conn)[0])]
    assert "还有一个问题" in bodies


class _Events:
    """A tiny SSE server: ``data: changed`` per ``signal()``; ``drop()`` ends the stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.signals = 0
        self.dropped = False
        self.refusing = False
        self.connections = 0
        self.app = Starlette(routes=[Route("/events", self._events)])

    def signal(self) -> None:
        with self._lock:
            self.signals += 1

    def drop(self) -> None:
        """Close open streams and refuse new ones (the push service went away)."""
        self.refusing = self.dropped = True

    async def _events(self, request: Request) -> Response:
        if self.refusing:
            return Response("push service unavailable", status_code=503)
        self.connections += 1

        async def stream() -> AsyncIterator[bytes]:
            sent = self.signals
            yield b"event: hello\ndata: connected\n\n"
            while not self.dropped:
                if self.signals > sent:
                    sent = self.signals
                    yield b"data: changed\n\n"
                await asyncio.sleep(0.01)

        return StreamingResponse(stream(), media_type="text/event-stream")


class _PushingZendesk(ZendeskAdapter):
    """Zendesk plus an SSE channel: what an adapter adds to offer push."""

    events_url = ""

    async def listen(self, cursor: str | None) -> AsyncIterator[None]:
        timeout = httpx.Timeout(5.0, read=None)
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", self.events_url) as response,
        ):
            if response.status_code != 200:
                raise UnreachableError(f"push channel answered {response.status_code}")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield None


def test_push_channel_pokes_a_pull_and_polling_takes_over_when_it_drops(  # type: ignore[no-untyped-def]
    seed_tickets, serve, cache_writer
) -> None:
    cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    connection = stand_in.connection(serve(stand_in.app))
    events = _Events()
    settings = {**connection["settings"], "page_size": 25}
    adapter = _PushingZendesk(
        AdapterContext("zendesk", settings, lambda key: connection["secrets"][key])
    )
    adapter.events_url = serve(events.app) + "/events"
    # polling alone would take 60 s while the channel is up, 0.2 s without it
    policy = PollPolicy(
        interval_s=0.2, idle_max_s=0.2, push_interval_s=60, push_retry_s=0.2, push_retry_max_s=0.4
    )
    bus = EventBus()
    coordinator = SystemCoordinator(adapter, writer, bus, policy=policy)
    target = stand_in.ticket_ids()[0]

    async def arrival(body: str, trigger: Callable[[], None]) -> float:
        arrived = asyncio.Event()
        unsubscribe = bus.subscribe(TicketsChanged, lambda _e: arrived.set())
        stand_in.add_comment(target, body)
        started = time.monotonic()
        trigger()
        await asyncio.wait_for(arrived.wait(), 10)
        unsubscribe()
        return time.monotonic() - started

    async def scenario() -> tuple[float, float, bool]:
        task = asyncio.create_task(coordinator.run())
        await asyncio.wait_for(coordinator.first_sync.wait(), 20)
        await eventually(lambda: coordinator.health.push_connected)
        pushed = await arrival("推送：客户又回复了", events.signal)
        events.drop()
        await eventually(lambda: not coordinator.health.push_connected)
        polled = await arrival("轮询：客户再次回复", lambda: None)
        still_supported = coordinator.health.push_supported
        task.cancel()
        await adapter.aclose()
        return pushed, polled, still_supported

    pushed, polled, supported = asyncio.run(scenario())
    assert pushed < 5 and polled < 5  # neither waited for the 60 s safety-net poll
    assert supported and not coordinator.health.push_connected
    with cache.engine.connect() as conn:
        ticket_id = queries.inbox_ids(conn)[0]
        bodies = [m.body_text for m in queries.conversation(conn, ticket_id)]
    assert "推送：客户又回复了" in bodies and "轮询：客户再次回复" in bodies


def test_engine_focus_reaches_only_the_watched_system(seed_tickets, cache_writer) -> None:  # type: ignore[no-untyped-def]
    _cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    connection = stand_in.connection("http://127.0.0.1:1")
    engine = SyncEngine(
        [_adapter("a", connection), _adapter("b", connection)], writer, EventBus(), interval_s=30
    )
    engine.set_focus("a")
    assert engine.coordinators["a"].health.focused
    assert not engine.coordinators["b"].health.focused
    assert engine.coordinators["a"].next_delay() == 5.0
    assert engine.coordinators["b"].next_delay() == 30.0
    engine.set_focus(None)
    assert not engine.coordinators["a"].health.focused


class _BrokenOnceZendesk(ZendeskAdapter):
    """Zendesk whose first pull fails with an error type Tabless does not know (a bug)."""

    failed = False

    async def pull(self, cursor: str | None) -> Any:
        if not self.failed:
            self.failed = True
            raise LookupError("Item does not exist!")
        return await super().pull(cursor)


def test_an_unexpected_error_is_reported_and_the_sync_goes_on(  # type: ignore[no-untyped-def]
    seed_tickets, serve, cache_writer
) -> None:
    cache, writer = cache_writer
    stand_in = ZendeskStandIn(seed_tickets)
    connection = stand_in.connection(serve(stand_in.app))
    settings = {**connection["settings"], "page_size": 25}
    context = AdapterContext("zendesk", settings, lambda key: connection["secrets"][key])
    adapter = _BrokenOnceZendesk(context)
    policy = PollPolicy(interval_s=0.05, max_backoff_s=0.1, failure_threshold=5)
    coordinator = SystemCoordinator(adapter, writer, EventBus(), policy=policy)
    errors: list[str | None] = []

    async def scenario() -> None:
        task = asyncio.create_task(coordinator.run())
        await eventually(lambda: coordinator.health.consecutive_failures > 0)
        errors.append(coordinator.health.last_error)
        await asyncio.wait_for(coordinator.first_sync.wait(), 20)
        assert not task.done()  # the loop lives on
        task.cancel()
        await adapter.aclose()

    asyncio.run(scenario())
    assert errors == ["unexpected LookupError: Item does not exist! (system=zendesk)"]
    assert coordinator.health.last_error is None and coordinator.health.first_sync_done
    with cache.engine.connect() as conn:
        stored = queries.ticket_count(conn, "zendesk")
    assert stored == sum(1 for seed in seed_tickets if seed.system == "zendesk") > 0
