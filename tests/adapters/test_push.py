"""Push channels (SSE, long-poll, websocket) and conditional requests (ETag, If-Modified-Since)
of the declarative adapter, over real HTTP to the in-house stand-in, through the sync engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters._http import HttpSettings
from adapters.base import AdapterContext
from adapters.declarative import DeclarativeAdapter
from app.cache import CacheWriter, open_cache, queries
from app.domain import AuthError, RemoteError, SecretError, UnreachableError
from app.events import EventBus, TicketsChanged
from app.sync import PollPolicy, SystemCoordinator
from sandbox.inhouse import InhouseStandIn

FIXTURES = Path(__file__).parent.parent / "fixtures" / "declarative"
FAST = HttpSettings(retries=1, backoff_base=0.01, backoff_max=0.05, read_timeout=10)
PUSH = {
    "sse": '[push]\nkind = "sse"\npath = "/api/events"\nevent = "changed"\n',
    "long_poll": '[push]\nkind = "long_poll"\npath = "/api/changes"\nwait_s = 2\n',
    "websocket": '[push]\nkind = "websocket"\npath = "/api/ws"\n',
}


def _mapping(tmp_path: Path, extra: str = "", *, conditional: bool = False) -> Path:
    """The ``page`` example mapping file plus ``extra`` (a ``[push]`` table)."""
    text = (FIXTURES / "page.toml").read_text(encoding="utf-8")
    if conditional:
        text = text.replace(
            'records = "$.tickets[*]"\n', 'records = "$.tickets[*]"\nconditional = true\n', 1
        )
    path = tmp_path / "mapping.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


def _adapter(
    stand: InhouseStandIn, url: str, mapping: Path, secrets: dict[str, str] | None = None
) -> DeclarativeAdapter:
    conn = stand.connection(url, str(mapping))
    values = conn["secrets"] if secrets is None else secrets

    def secret(key: str) -> str:
        if key not in values:
            raise SecretError(f"no secret {key!r}")
        return values[key]

    context = AdapterContext("inhouse", conn["settings"], secret, conn["naive_zone"])
    return DeclarativeAdapter(context, http=FAST)


async def _eventually(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", sorted(PUSH))
def test_each_channel_signals_a_change_and_ends_when_dropped(
    kind: str, seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand = InhouseStandIn(seed_tickets, heartbeat_s=0.2)
    adapter = _adapter(stand, serve(stand.app), _mapping(tmp_path, PUSH[kind]))
    target = stand.ordered()[0].id

    async def scenario() -> tuple[float, str]:
        channel = adapter.listen(None)
        assert channel is not None
        iterator = channel.__aiter__()
        first = asyncio.ensure_future(iterator.__anext__())
        await _eventually(lambda: stand.push_open > 0)
        await asyncio.sleep(0.3)  # long-poll: its first answer (the current version) is in
        assert not first.done()  # nothing changed yet: no signal (keep-alives are not signals)
        started = time.monotonic()
        stand.add_message(target, "客户：推送通道测试")
        await asyncio.wait_for(first, 5)
        latency = time.monotonic() - started
        stand.drop_push()
        if kind == "long_poll":  # a dropped long-poll just answers; the next request waits again
            stand.add_message(target, "客户：再来一条")
            await asyncio.wait_for(iterator.__anext__(), 5)
            outcome = "continued"
        else:
            try:
                await asyncio.wait_for(iterator.__anext__(), 10)
                outcome = "signalled"
            except StopAsyncIteration:
                outcome = "ended"
            except UnreachableError:
                outcome = "dropped"
        await adapter.aclose()
        return latency, outcome

    latency, outcome = asyncio.run(scenario())
    assert latency < 2.0
    assert outcome == {"sse": "ended", "websocket": "dropped", "long_poll": "continued"}[kind]


@pytest.mark.parametrize("kind", ["sse", "websocket", "long_poll"])
def test_a_channel_with_wrong_credentials_fails_clearly(
    kind: str, seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand = InhouseStandIn(seed_tickets)
    adapter = _adapter(
        stand, serve(stand.app), _mapping(tmp_path, PUSH[kind]), {"api_key": "wrong"}
    )

    async def scenario() -> BaseException:
        channel = adapter.listen(None)
        assert channel is not None
        with pytest.raises((AuthError, RemoteError)) as caught:
            async for _ in channel:
                pass
        await adapter.aclose()
        return caught.value

    error = asyncio.run(scenario())
    assert "401" in str(error) or "403" in str(error) or "credentials" in str(error)
    assert error.context.system == "inhouse" and error.context.stream == "push"  # type: ignore[attr-defined]


def test_without_push_table_the_adapter_only_polls(
    seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand = InhouseStandIn(seed_tickets)
    adapter = _adapter(stand, serve(stand.app), _mapping(tmp_path))
    assert adapter.listen(None) is None
    asyncio.run(adapter.aclose())


@pytest.mark.parametrize("kind", sorted(PUSH))
def test_the_sync_engine_pulls_on_push_long_before_its_next_poll(
    kind: str, seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand = InhouseStandIn(seed_tickets, heartbeat_s=0.5)
    adapter = _adapter(stand, serve(stand.app), _mapping(tmp_path, PUSH[kind]))
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    # while the channel is up the next poll is 60 s away: only push can bring the reply in time
    policy = PollPolicy(interval_s=60, idle_max_s=60, push_interval_s=60, push_retry_s=0.2)
    coordinator = SystemCoordinator(adapter, writer, bus, policy=policy)
    target = stand.ordered()[-1].id

    async def scenario() -> float:
        task = asyncio.create_task(coordinator.run())
        await asyncio.wait_for(coordinator.first_sync.wait(), 20)
        await _eventually(lambda: coordinator.health.push_connected or stand.push_open > 0)
        await asyncio.sleep(0.3)
        arrived = asyncio.Event()
        unsubscribe = bus.subscribe(TicketsChanged, lambda _e: arrived.set())
        started = time.monotonic()
        stand.add_message(target, f"客户通过{kind}又回复了")
        await asyncio.wait_for(arrived.wait(), 10)
        unsubscribe()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await adapter.aclose()
        return time.monotonic() - started

    try:
        latency = asyncio.run(scenario())
        with cache.engine.connect() as conn:
            bodies = [
                m.body_text
                for ticket_id in queries.inbox_ids(conn)
                for m in queries.conversation(conn, ticket_id)
            ]
    finally:
        writer.close()
        cache.close()
    assert latency < 5
    assert f"客户通过{kind}又回复了" in bodies


def test_conditional_list_requests_answer_304_until_something_changes(
    seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand = InhouseStandIn(seed_tickets)
    adapter = _adapter(stand, serve(stand.app), _mapping(tmp_path, conditional=True))
    target = stand.ordered()[0].id

    async def pass_from(cursor: str | None) -> tuple[str | None, int]:
        count = 0
        while True:
            result = await adapter.pull(cursor)
            cursor, count = result.cursor, count + len(result.tickets)
            if not result.has_more:
                return cursor, count

    async def scenario() -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        cursor = None
        for change in (None, None, None, "changed after the 304s"):
            if change:
                stand.add_message(target, change)
            cursor, count = await pass_from(cursor)
            seen.append((count, stand.not_modified))
        await adapter.aclose()
        return seen

    full, first_incremental, unchanged, changed = asyncio.run(scenario())
    assert full == (len(stand.tickets), 0)
    # the first incremental pass asks a new query (updated_since): a new ETag, a 200
    assert first_incremental == (0, 0)
    assert unchanged == (0, 1)  # same query, nothing changed: 304, no body, no tickets
    assert changed == (1, 1)  # the changed ticket came back with a 200


def test_if_modified_since_alone_is_honoured(seed_tickets: Any, serve: Any, tmp_path: Path) -> None:
    stand = InhouseStandIn(seed_tickets)
    adapter = _adapter(stand, serve(stand.app), _mapping(tmp_path, conditional=True))

    async def scenario() -> tuple[bool, bool]:
        first = await adapter._client.list_page(None, None)
        modified = {"Last-Modified": first.validators["Last-Modified"]}
        again = await adapter._client.list_page(None, None, modified)
        stand.add_message(stand.ordered()[0].id, "newer than Last-Modified")
        after = await adapter._client.list_page(None, None, modified)
        await adapter.aclose()
        return again.not_modified, after.not_modified

    assert asyncio.run(scenario()) == (True, False)
