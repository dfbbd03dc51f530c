"""``python -m bench polling``: what one idle system costs per hour, next to naive polling.

The idle system is the Zendesk stand-in (the shared data set, nothing changing) synced by a real
``SystemCoordinator`` with the workstation's default policy for ``sync_interval_s = 30``
(stretching to 10 minutes while idle). The hour is shortened: every duration (the policy's
delays and the stand-in's 5-minute token lifetime) is divided by ``--speedup`` (default 100, so
the hour lasts 36 s); request and byte counts do not depend on the time scale. Naive polling
lists every ticket every 10 s: its cost is one full listing (the export pages, measured on the
same stand-in) times 360, plus a token every 5 minutes. ``naive_with_conversations`` also counts
the per-ticket conversation requests a naive integration needs to see new replies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.cache import CacheWriter, open_cache
from app.events import EventBus
from app.sync import PollPolicy, SystemCoordinator
from bench._traffic import Traffic
from sandbox import dataset
from sandbox.server import ServerThread
from sandbox.zendesk import ZendeskStandIn

HOUR_S = 3600.0
NAIVE_EVERY_S = 10.0
TOKEN_TTL_S = 300.0
EXPORT = "/api/v2/incremental/"
TOKEN = "/oauth/"
CONVERSATIONS = "/api/v2/tickets/"


def scaled(policy: PollPolicy, factor: float) -> PollPolicy:
    """Every duration of ``policy`` divided by ``factor``."""
    return dataclasses.replace(
        policy,
        **{
            f.name: getattr(policy, f.name) / factor
            for f in dataclasses.fields(policy)
            if f.name.endswith("_s")
        },
    )


def _adapter(connection: dict[str, Any]) -> ZendeskAdapter:
    context = AdapterContext("zendesk", connection["settings"], connection["secrets"].get)
    return ZendeskAdapter(context)


async def _measure(traffic: Traffic, connection: dict[str, Any], speedup: float, path: Path) -> Any:
    cache = open_cache(path)
    writer = CacheWriter(cache)
    adapter = _adapter(connection)
    policy = scaled(PollPolicy.for_interval(30.0), speedup)
    coordinator = SystemCoordinator(adapter, writer, EventBus(), policy=policy)
    traffic.reset()
    await coordinator.sync_once()  # the first sync: the full listing plus every conversation
    full = dict(traffic.requests), dict(traffic.bytes)
    traffic.reset()
    task = asyncio.create_task(coordinator.run())
    await asyncio.sleep(HOUR_S / speedup)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    idle = traffic.total(), coordinator.pulls
    await adapter.aclose()
    writer.close()
    cache.close()
    return full, idle


def main(argv: list[str]) -> int:
    """Print the figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench polling")
    parser.add_argument("--speedup", type=float, default=100.0)
    args = parser.parse_args(argv)
    stand_in = ZendeskStandIn(dataset.build(seed=42), token_ttl_s=TOKEN_TTL_S / args.speedup)
    traffic = Traffic(stand_in.app, (EXPORT, TOKEN, CONVERSATIONS))
    server = ServerThread(traffic).start()
    started = time.monotonic()
    try:
        with TemporaryDirectory(prefix="tabless-polling-") as home:
            (full_requests, full_bytes), ((idle_requests, idle_bytes), pulls) = asyncio.run(
                _measure(traffic, stand_in.connection(server.url), args.speedup, Path(home) / "c")
            )
    finally:
        server.stop()
    polls = HOUR_S / NAIVE_EVERY_S
    tokens = HOUR_S / TOKEN_TTL_S
    token_bytes = full_bytes.get(TOKEN, 0) / max(1, full_requests.get(TOKEN, 1))
    naive_requests = polls * full_requests.get(EXPORT, 0) + tokens
    naive_bytes = polls * full_bytes.get(EXPORT, 0) + tokens * token_bytes
    with_conversations = polls * (
        full_requests.get(EXPORT, 0) + full_requests.get(CONVERSATIONS, 0)
    )
    figures = {
        "idle_requests_per_hour": idle_requests,
        "idle_bytes_per_hour": idle_bytes,
        "idle_pulls_per_hour": pulls,
        "naive_requests_per_hour": round(naive_requests),
        "naive_bytes_per_hour": round(naive_bytes),
        "naive_with_conversations_requests_per_hour": round(with_conversations + tokens),
        "ratio": round(idle_requests / naive_requests, 4),
        "bytes_ratio": round(idle_bytes / naive_bytes, 5),
        "speedup": args.speedup,
        "wall_s": round(time.monotonic() - started, 1),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))
    return 0
