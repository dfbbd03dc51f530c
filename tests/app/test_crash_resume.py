"""kill -9 of a real workstation process: mid-sync, and mid-delivery of the outbox.

A child process syncs (or delivers) into a real SQLite file from a stand-in served by this
test; the test kills it with SIGKILL, reopens the file, checks its integrity, and resumes in
this process: nothing lost, nothing duplicated, every action delivered exactly once, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func, select

from adapters.base import AdapterContext
from adapters.quality.adapter import QualityAdapter
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import OutboxDelivery
from app.cache import CacheWriter, open_cache, repo
from app.cache.schema import audit_log, messages, outbox, tickets
from app.events import EventBus
from app.sync import SystemCoordinator
from bench._seeds import stand_in as large_stand_in
from sandbox.zendesk import ZendeskStandIn

ROOT = Path(__file__).resolve().parents[2]
TICKETS = 3000
IDENTITY = ("li.siyuan", "device-crash", "test")

SYNC_CHILD = """
import asyncio, json, sys
from adapters.base import AdapterContext
from adapters.quality.adapter import QualityAdapter
from app.cache import CacheWriter, open_cache
from app.events import EventBus, TicketsChanged
from app.sync import SystemCoordinator

connection = json.loads(sys.argv[2])
settings = {**connection["settings"], "page_size": 50}
adapter = QualityAdapter(AdapterContext("quality", settings, connection["secrets"].__getitem__))
writer = CacheWriter(open_cache(__import__("pathlib").Path(sys.argv[1])))
bus = EventBus()
bus.subscribe(TicketsChanged, lambda e: print("committed", len(e.ticket_ids), flush=True))
asyncio.run(SystemCoordinator(adapter, writer, bus).sync_once())
print("finished", flush=True)
"""

OUTBOX_CHILD = """
import asyncio, json, sys
from pathlib import Path
from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import ActionService, Identity, OutboxDelivery, Reply
from app.cache import CacheWriter, open_cache
from app.events import ActionStateChanged, EventBus

connection = json.loads(sys.argv[2])
ticket_ids = json.loads(sys.argv[3])
adapter = ZendeskAdapter(
    AdapterContext("zendesk", connection["settings"], connection["secrets"].__getitem__)
)
writer = CacheWriter(open_cache(Path(sys.argv[1])))
bus = EventBus()
bus.subscribe(
    ActionStateChanged, lambda e: e.state == "sent" and print("sent", e.action_id, flush=True)
)
service = ActionService(
    writer, bus, Identity("li.siyuan", "device-crash", "test"),
    lambda _s: adapter.manifest.capabilities,
)
delivery = OutboxDelivery(writer, {"zendesk": adapter}, bus, ("li.siyuan", "device-crash", "test"))

async def main():
    for round_ in range(3):
        for ticket_id in ticket_ids:
            await service.submit(Reply(ticket_id, f"crash-{ticket_id}-{round_}", public=False))
    print("recorded", flush=True)
    while await delivery.deliver_pending():
        pass

asyncio.run(main())
print("finished", flush=True)
"""


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(child: subprocess.Popen[str], word: str, count: int) -> list[str]:
    """Read the child's lines until ``count`` start with ``word``; then SIGKILL it."""
    lines: list[str] = []
    out: IO[str] | None = child.stdout
    assert out is not None
    while sum(line.startswith(word) for line in lines) < count:
        line = out.readline()
        if not line:
            raise AssertionError(
                f"child ended early: {lines} {child.stderr and child.stderr.read()}"
            )
        lines.append(line.strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    out.close()
    if child.stderr is not None:
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return lines


def _integrity(path: Path) -> str:
    cache = open_cache(path)
    with cache.engine.connect() as conn:
        result = str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    cache.close()
    return result


def _quality_adapter(connection: dict[str, Any]) -> QualityAdapter:
    settings = {**connection["settings"], "page_size": 50}
    return QualityAdapter(AdapterContext("quality", settings, connection["secrets"].__getitem__))


def _snapshot(path: Path) -> dict[str, tuple[Any, int]]:
    """external id -> (updated_at, message count)."""
    cache = open_cache(path)
    with cache.engine.connect() as conn:
        rows = conn.execute(
            select(tickets.c.external_id, tickets.c.updated_at, func.count(messages.c.id))
            .outerjoin(messages, messages.c.ticket_id == tickets.c.id)
            .group_by(tickets.c.id)
        )
        result = {row[0]: (row[1], int(row[2])) for row in rows}
    cache.close()
    return result


def _sync(path: Path, connection: dict[str, Any]) -> int:
    cache = open_cache(path)
    writer = CacheWriter(cache)
    adapter = _quality_adapter(connection)

    async def run() -> int:
        stored = await SystemCoordinator(adapter, writer, EventBus()).sync_once()
        await adapter.aclose()
        return stored

    stored = asyncio.run(run())
    writer.close()
    cache.close()
    return stored


@pytest.fixture
def quality(serve) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    served = large_stand_in("quality", TICKETS)
    served.plan.update({"latency_s": 0.02})
    yield served.connection(serve(served.app))


def test_kill_9_mid_sync_leaves_a_consistent_cache_that_resumes(quality, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cache.sqlite3"
    open_cache(path).close()  # migrated before the child starts, as the workstation does
    lines = _kill_after(_child(SYNC_CHILD, str(path), json.dumps(quality)), "committed", 8)
    assert "finished" not in lines
    assert _integrity(path) == "ok"
    partial = _snapshot(path)
    cache = open_cache(path)
    with cache.engine.connect() as conn:
        cursor, complete = repo.load_cursor(conn, "quality")
    cache.close()
    assert 8 * 50 <= len(partial) < TICKETS and cursor is not None and not complete
    resumed = _sync(path, quality)
    assert resumed == TICKETS - len(partial)  # resumed at the committed page, not from zero
    reference = tmp_path / "reference.sqlite3"
    assert _sync(reference, quality) == TICKETS
    assert _snapshot(path) == _snapshot(reference)  # nothing lost, nothing duplicated


def test_kill_9_mid_delivery_delivers_each_action_exactly_once_in_order(  # type: ignore[no-untyped-def]
    seed_tickets, serve, tmp_path: Path, real_keyring: str
) -> None:
    served = ZendeskStandIn(seed_tickets)
    connection = served.connection(serve(served.app))
    path = tmp_path / "cache.sqlite3"
    cache = open_cache(path)
    writer = CacheWriter(cache)

    def zendesk() -> ZendeskAdapter:
        context = AdapterContext("zendesk", connection["settings"], connection["secrets"].get)
        return ZendeskAdapter(context)

    async def first_sync() -> None:
        adapter = zendesk()
        await SystemCoordinator(adapter, writer, EventBus()).sync_once()
        await adapter.aclose()

    asyncio.run(first_sync())
    with cache.engine.connect() as conn:
        chosen = list(
            conn.execute(
                select(tickets.c.id, tickets.c.external_id)
                .where(tickets.c.status.in_(("open", "new", "pending")))
                .order_by(tickets.c.id)
                .limit(4)
            )
        )
    ids = [row.id for row in chosen]
    # every write waits 0.3 s, and so does the read-back after it: the kill lands mid-flight
    served.plan.update({"latency_s": 0.3, "path_prefix": "/api/v2/tickets/"})
    child = _child(OUTBOX_CHILD, str(path), json.dumps(connection), json.dumps(ids))
    lines = _kill_after(child, "sent", 4)
    assert "recorded" in lines and "finished" not in lines
    assert _integrity(path) == "ok"
    served.plan.update({"latency_s": 0.0})

    async def resume() -> int:
        adapter = zendesk()
        delivery = OutboxDelivery(writer, {"zendesk": adapter}, EventBus(), IDENTITY)
        remaining = await delivery.deliver_pending()
        await adapter.aclose()
        return remaining

    assert asyncio.run(resume()) == 0
    for row in chosen:
        ours = [
            str(c["body"])
            for c in served.comments_of(int(row.external_id))
            if str(c["body"]).startswith("crash-")
        ]
        assert ours == [f"crash-{row.id}-{n}" for n in range(3)]  # once each, in order
    with cache.engine.connect() as conn:
        states = [r.state for r in conn.execute(select(outbox.c.state))]
        records = [r.record for r in conn.execute(select(audit_log))]
    assert states == ["sent"] * 12
    delivered = [r["after"]["action_id"] for r in records if r["outcome"] == "delivered"]
    assert len(delivered) == len(set(delivered)) == 12
    writer.close()
    cache.close()
