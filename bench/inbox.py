"""``python -m bench inbox``: the inbox over a cache of a million tickets.

A child process fills a fresh cache (``--tickets`` rows, bulk-inserted straight into the
``tickets`` table: the inbox reads only that table). This process then measures, offscreen:

- ``show_ms``: creating the model and the table view until the first rows are painted (after
  one throwaway table was shown, so Qt's style and font set-up — startup's cost, measured by
  ``bench startup`` — is not counted here),
- ``end_ms``: jumping to the last row (Ctrl+End) until it is painted,
- ``count_ms``: until the exact row count, counted on a thread, is in the view,
- ``sort_ms``: sorting by a column (priority, status, system, waiting; descending, as a header
  click does) until the first rows of the new order are painted — the slowest one,
- ``peak_rss_mb``: this process's peak resident memory (PySide6 included).

Targets: ``show_ms`` <= 100, ``end_ms`` <= 100, ``peak_rss_mb`` <= 250.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SYSTEMS = ("zendesk", "freshdesk", "zammad", "znuny", "rt", "quality")
STATUSES = ("new", "open", "open", "pending", "on_hold", "solved", "closed")
PRIORITIES = ("low", "normal", "normal", "high", "urgent", None)
SUBJECTS = ("订单 {n} 申请退款", "Refund for order {n}", "无法登录账户 {n}", "Invoice {n} is wrong")
T0_MICROS = 1_764_547_200_000_000  # 2025-12-01 UTC
SORTED_COLUMNS = ("priority", "status", "system", "waiting")  # the indexed ones


def fill(path: Path, count: int, seed: int = 7) -> None:
    """A migrated cache at ``path`` holding ``count`` tickets (bulk insert, no messages)."""
    from app.cache import open_cache

    open_cache(path).engine.dispose()
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")

    def rows() -> Iterator[tuple[object, ...]]:
        for n in range(count):
            created = T0_MICROS + n * 30_000_000 + rng.randrange(1_000_000)
            updated = created + rng.randrange(86_400_000_000)
            yield (
                SYSTEMS[n % len(SYSTEMS)],
                str(100_000 + n),
                rng.choice(SUBJECTS).format(n=n),
                rng.choice(STATUSES),
                "open",
                rng.choice(PRIORITIES),
                f"客户 {n % 5000}",
                f"customer{n % 5000}@example.cn",
                None if n % 3 else "li.siyuan",
                f"queue-{n % 4}",
                created,
                updated,
                updated,
            )

    db.executemany(
        "INSERT INTO tickets (system_id, external_id, subject, status, native_status, priority,"
        " requester_name, requester_email, assignee_name, queue, tags, extra, created_at,"
        " updated_at, deleted, synced_at) VALUES (?,?,?,?,?,?,?,?,?,?,'[]','{}',?,?,0,?)",
        rows(),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _once(app: Any, engine: Any) -> dict[str, float]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTableView

    from ui.models.inbox import InboxModel

    view = QTableView()
    view.resize(1200, 800)
    began = time.perf_counter()
    model = InboxModel(engine, str)
    model.refresh_in_background()
    view.setModel(model)
    view.show()
    view.viewport().repaint()
    show_ms = (time.perf_counter() - began) * 1000
    assert model.index(0, 1).data(), "the inbox painted no rows"
    while model.counting:  # the exact count arrives from a thread
        app.processEvents()
        time.sleep(0.001)
    count_ms = (time.perf_counter() - began) * 1000
    app.processEvents()
    began = time.perf_counter()
    view.scrollToBottom()
    view.viewport().repaint()
    end_ms = (time.perf_counter() - began) * 1000
    assert model.index(model.rowCount() - 1, 1).data(), "the last row is empty"
    sort_ms = []
    for column in SORTED_COLUMNS:  # click a header: re-order and paint the first rows
        began = time.perf_counter()
        model.sort(model.COLUMNS.index(column), Qt.SortOrder.DescendingOrder)
        view.scrollToTop()
        view.viewport().repaint()
        sort_ms.append((time.perf_counter() - began) * 1000)
        expected = "updated" if column == "waiting" else column  # waiting: oldest update first
        assert model.order.key == expected, f"the inbox refused to sort by {column}"
        assert model.index(0, 1).data(), f"sorted by {column}, the inbox painted no rows"
    rows = model.rowCount()
    view.close()
    view.deleteLater()
    app.processEvents()
    return {
        "rows": rows,
        "show_ms": show_ms,
        "count_ms": count_ms,
        "end_ms": end_ms,
        "sort_ms": max(sort_ms),
    }


def measure(path: Path, rounds: int) -> dict[str, float]:
    """Open the inbox on ``path`` offscreen ``rounds`` times; median timings, peak memory."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QLabel

    from app.cache import open_cache

    app = QApplication.instance() or QApplication([])
    cache = open_cache(path)
    warm = QLabel("订单 Refund")  # the style's and the CJK fonts' first use is startup's cost
    warm.show()
    warm.repaint()
    warm.close()
    runs = [_once(app, cache.engine) for _ in range(rounds)]
    cache.engine.dispose()
    result: dict[str, float] = {"rows": runs[0]["rows"]}
    for key in ("show_ms", "count_ms", "end_ms", "sort_ms"):
        result[key] = round(statistics.median(run[key] for run in runs), 1)
    result["first_show_ms"] = round(runs[0]["show_ms"], 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main(argv: list[str]) -> int:
    """Fill, measure, print the figures and one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench inbox")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="reuse (or create) this cache file")
    parser.add_argument("--rounds", type=int, default=5, help="report the median of N")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "cache.sqlite3"
        if args.fill_only:
            fill(path, args.tickets)
            return 0
        if not path.exists():
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    *("-m", "bench", "inbox", "--fill-only", "--db", str(path)),
                    *("--tickets", str(args.tickets)),
                ],
                check=True,
            )
            print(f"filled {args.tickets} tickets in {time.perf_counter() - began:.1f} s")
        result = measure(path, args.rounds)
    targets = {"show_ms": 100, "end_ms": 100, "peak_rss_mb": 250}
    for key, target in targets.items():
        print(f"{key}: {result[key]} (target <= {target})")
    print(json.dumps({"bench": "inbox", "tickets": args.tickets, **result, "targets": targets}))
    return 0
