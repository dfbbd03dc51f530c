"""``python -m bench stall``: the longest stall of the Qt/asyncio loop while a large sync runs.

A child process serves the quality-inspection stand-in with ``--tickets`` generated inspections
(default 100,000; listing pages carry whole inspections, so the sync is pages, not per-ticket
requests). This process runs the real workstation core and its main window (inbox shown,
offscreen Qt, one qasync loop, as ``tabless workstation``) and samples the loop every 5 ms:
``max_gap_ms`` is the longest time the loop could not run a ready callback (target <= 50).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench._keyring import with_keyring

TICK_S = 0.005
LONG_GAP_MS = 30.0  # --trace lists when these happened
REEXEC = "TABLESS_BENCH_STALL_CHILD"


def _serve(tickets: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "bench._seeds", "quality", str(tickets)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


class GapMonitor:
    """Samples the loop: how late each 5 ms tick runs."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.long: list[tuple[float, float]] = []  # (seconds since the monitor began, ms)
        self.running = True
        self.beat = time.perf_counter()

    async def run(self) -> None:
        began = time.perf_counter()
        while self.running:
            started = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.beat = now = time.perf_counter()
            gap = (now - started - TICK_S) * 1000
            self.gaps.append(gap)
            if gap > LONG_GAP_MS:
                self.long.append((round(started - began, 2), round(gap, 1)))


class StallTracer(threading.Thread):
    """``--trace``: a watchdog thread that, while the loop's heartbeat is late by more than
    ``threshold_ms``, samples the loop thread's stack every millisecond; the stacks seen most
    often in long gaps are where the loop was stuck (printed to stderr at the end)."""

    def __init__(self, monitor: GapMonitor, threshold_ms: float = 25.0) -> None:
        super().__init__(daemon=True, name="stall-tracer")
        self._monitor = monitor
        self._threshold_s = threshold_ms / 1000
        self._loop_thread = threading.get_ident()
        self.samples: Counter[tuple[str, ...]] = Counter()
        self.others: Counter[str] = Counter()
        self.collections: list[tuple[int, float, int]] = []  # (generation, ms, freed) if slow
        self._gc_started = 0.0
        self.running = True
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif (spent := (time.perf_counter() - self._gc_started) * 1000) > 5:
            self.collections.append((info["generation"], spent, info["collected"]))

    def run(self) -> None:
        while self.running:
            time.sleep(0.001)
            if time.perf_counter() - self._monitor.beat < self._threshold_s:
                continue
            frames = sys._current_frames()
            frame = frames.get(self._loop_thread)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-14:]
                self.samples[tuple(f"{f.filename}:{f.lineno} {f.name}" for f in stack)] += 1
            for ident, other in frames.items():  # who else was running Python meanwhile
                if ident not in (self._loop_thread, threading.get_ident()):
                    top = traceback.extract_stack(other)[-3:]
                    self.others[" < ".join(f"{f.name}:{f.lineno}" for f in reversed(top))] += 1

    def report(self, top: int = 12) -> None:
        """When the long gaps happened; the most frequent stuck stacks (one millisecond per
        sample); the slow garbage collections."""
        sys.stderr.write(f"gaps over {LONG_GAP_MS:.0f} ms (s since start, ms): ")
        sys.stderr.write(f"{self._monitor.long}\n")
        for stack, hits in self.samples.most_common(top):
            sys.stderr.write(f"--- {hits} ms\n    " + "\n    ".join(stack) + "\n")
        for where, hits in self.others.most_common(top):
            sys.stderr.write(f"other thread {hits}: {where}\n")
        gc.callbacks.remove(self._gc)
        slow = sorted(self.collections, key=lambda c: -c[1])[:top]
        sys.stderr.write(f"garbage collections over 5 ms: {len(self.collections)}; longest: ")
        sys.stderr.write(", ".join(f"gen{g} {ms:.0f} ms ({n} freed)" for g, ms, n in slow) + "\n")


async def _session(
    connection: dict[str, Any], home: Path, tickets: int, trace: bool = False
) -> dict[str, Any]:
    from app.cache import open_cache, queries
    from app.config import SETTINGS, Config, SystemEntry
    from app.heap import settle_heap
    from app.runtime import Workstation
    from app.secrets import SecretStore
    from ui.views.main_window import MainWindow

    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="parse")
    asyncio.get_running_loop().set_default_executor(executor)
    secrets = SecretStore(service="tabless-bench")
    for key, value in connection["secrets"].items():
        secrets.set("quality", key, value)
    entry = SystemEntry(
        "quality", "quality", "QA", connection["settings"], connection["naive_zone"]
    )
    values = {s.key: s.default for s in SETTINGS} | {"backend_url": ""}
    ws = Workstation(
        config=Config(values, {"quality": entry}, []),
        cache=open_cache(home / "cache.sqlite3"),
        secrets=secrets,
    )
    window = MainWindow(ws)
    window.show()
    settle_heap()  # as ui.main does once the window and the core are up
    monitor = GapMonitor()
    sampler = asyncio.create_task(monitor.run())
    tracer = StallTracer(monitor)
    if trace:
        tracer.start()
    started = time.perf_counter()
    ws.start()
    failures = await ws.sync.wait_first_sync(1800)
    sync_s = time.perf_counter() - started
    await asyncio.sleep(0.5)  # the window's debounced refresh of the last pages
    monitor.running = False
    await sampler
    tracer.running = False
    if trace:
        tracer.join()
        tracer.report()
    with ws.cache.engine.connect() as conn:
        cached = queries.ticket_count(conn)
    rows = window.inbox_model.rowCount()
    window.close()
    await ws.stop()
    ws.close()
    executor.shutdown(wait=True)
    gaps = monitor.gaps
    return {
        "max_gap_ms": round(max(gaps), 1),
        "p99_gap_ms": round(statistics.quantiles(gaps, n=100)[98], 1),
        "gaps_over_50ms": sum(g > 50 for g in gaps),
        "samples": len(gaps),
        "tickets": tickets,
        "cached": cached,
        "inbox_rows": rows,
        "sync_s": round(sync_s, 1),
        "failed": sorted(failures),
    }


def _measure(tickets: int, trace: bool = False) -> dict[str, Any]:
    import qasync

    from ui.main import application

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    app.setQuitOnLastWindowClosed(False)  # closing the window must not stop the loop
    child, connection = _serve(tickets)
    try:
        with TemporaryDirectory(prefix="tabless-stall-") as home:
            result: dict[str, Any] = qasync.run(_session(connection, Path(home), tickets, trace))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)
    del app
    return result


def main(argv: list[str]) -> int:
    """Print the figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench stall")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--trace", action="store_true", help="print the loop's stack during long gaps (stderr)"
    )
    args = parser.parse_args(argv)
    command = with_keyring([sys.executable, "-m", "bench", "stall", *argv])
    if command[0] != sys.executable and not os.environ.get(REEXEC):
        os.environ[REEXEC] = "1"  # a keyring session is needed for the system's secret
        return subprocess.run(command, check=False).returncode
    figures = _measure(args.tickets, args.trace)
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))
    return 0
