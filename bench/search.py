"""``python -m bench search``: the search box's query over a large cache, against a LIKE scan.

Builds (or reuses, ``--db``) a cache of about ``--messages`` messages generated from
``sandbox.dataset``'s Chinese and English texts through the real write path, then times what
the search box runs (``SearchSession``, its own read connection and worker thread): the total
count of matches plus the first page of 50, newest first, for

- ``common``: an English word in many messages (``refund``),
- ``rare``: a word in about one message in 2,000,
- ``zh2``: a two-character Chinese word (``退款``),
- ``filtered``: ``refund`` in one system's open tickets,

next to the same count and page from an unindexed ``LIKE '%…%'`` scan of the same data.
``speedup_vs_like`` is the smallest ratio of the scan's p50 to ours. Every timed run counts
afresh (the session's remembered counts are dropped first: what a new keystroke costs);
``repeat_p50_ms`` and ``repeat_speedup_vs_like`` time the same query asked again (the next
page, another order), whose count the session remembers until the cache changes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from app.cache import open_cache, repo, search
from bench.ingest import RARE_WORD, make_tickets

QUERIES: dict[str, tuple[str, search.SearchFilters]] = {
    "common": ("refund", search.SearchFilters()),
    "rare": (RARE_WORD, search.SearchFilters()),
    "zh2": ("退款", search.SearchFilters()),
    "filtered": ("refund", search.SearchFilters(systems=("zendesk",), statuses=("open",))),
}

_LIKE_TEXTS = """
    SELECT m.id AS id, m.created_at AS at, m.body_text AS text, t.id AS ticket
    FROM messages m JOIN tickets t ON t.id = m.ticket_id
    WHERE NOT t.deleted AND m.body_text LIKE :pattern {extra}
    UNION ALL
    SELECT -t.id, t.created_at, t.subject, t.id FROM tickets t
    WHERE NOT t.deleted AND t.subject LIKE :pattern {extra}
"""


def build(path: Path, messages: int, page: int = 2000) -> None:
    """Fill a fresh cache with at least ``messages`` messages (plus their tickets)."""
    cache = open_cache(path)
    stream = make_tickets(messages // 2)  # never exhausted: about three messages a ticket
    now = datetime(2026, 12, 1, tzinfo=UTC)
    stored = 0
    began = time.perf_counter()
    while stored < messages:
        chunk = list(islice(stream, page))
        if not chunk:
            break
        with cache.engine.begin() as conn:
            repo.store_pull(conn, "bench", chunk, [], None, now, True)
        stored += sum(len(t.messages) for t in chunk)
    print(f"built {stored} messages in {time.perf_counter() - began:.1f}s")
    cache.close()


def like_query(conn: Connection, text: str, filters: search.SearchFilters) -> tuple[int, list[Any]]:
    """The count and newest 50 by a plain scan (what search would cost without the index)."""
    extra = ""
    params: dict[str, Any] = {"pattern": f"%{text}%"}
    if filters.systems:
        extra += " AND t.system_id = :system"
        params["system"] = filters.systems[0]
    if filters.statuses:
        extra += " AND t.status = :status"
        params["status"] = filters.statuses[0]
    texts = _LIKE_TEXTS.format(extra=extra)
    db = conn.connection.driver_connection
    assert db is not None
    total = db.execute(f"SELECT count(*) FROM ({texts})", params).fetchone()[0]
    page = db.execute(
        f"SELECT id, ticket, text FROM ({texts}) ORDER BY at DESC LIMIT 50", params
    ).fetchall()
    return int(total), page


def _time(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    result = fn()  # warm-up, not counted
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples, result


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    """Print the figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench search")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--like-runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="reuse (or create) this cache file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tabless-search-") as folder:
        path = args.db or Path(folder) / "search.sqlite3"
        if not path.exists():
            build(path, args.messages)
        cache = open_cache(path)
        p50: dict[str, float] = {}
        p99: dict[str, float] = {}
        like_p50: dict[str, float] = {}
        repeat_p50: dict[str, float] = {}
        session = search.SearchSession(cache)  # what the search box uses

        def box(text: str, filters: search.SearchFilters) -> search.SearchResult:
            session.forget_counts()  # every run counts: what a new query (a keystroke) costs
            return session.submit(text, filters, prefix_last=False).result()

        def again(text: str, filters: search.SearchFilters) -> search.SearchResult:
            return session.submit(text, filters, prefix_last=False).result()

        with cache.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM messages").scalar_one()
            for name, (text, filters) in QUERIES.items():
                ours, result = _time(partial(box, text, filters), args.runs)
                repeated, _same = _time(partial(again, text, filters), args.runs)
                repeat_p50[name] = round(statistics.median(repeated), 2)
                like, (like_total, _page) = _time(
                    partial(like_query, conn, text, filters), args.like_runs
                )
                p50[name] = round(statistics.median(ours), 2)
                p99[name] = round(_p99(ours), 2)
                like_p50[name] = round(statistics.median(like), 1)
                print(
                    f"{name:9} {text!r:16} total={result.total:>7} (LIKE {like_total:>7}) "
                    f"p50={p50[name]:.2f}ms p99={p99[name]:.2f}ms LIKE p50={like_p50[name]}ms "
                    f"repeated p50={repeat_p50[name]:.2f}ms"
                )
        session.close()
        cache.close()
    figures = {
        "messages": stored,
        "p50_ms": p50,
        "p99_ms": p99,
        "like_p50_ms": like_p50,
        "speedup_vs_like": round(min(like_p50[k] / max(p50[k], 1e-3) for k in QUERIES), 1),
        "repeat_p50_ms": repeat_p50,
        "repeat_speedup_vs_like": round(
            min(like_p50[k] / max(repeat_p50[k], 1e-3) for k in QUERIES), 1
        ),
    }
    print(json.dumps(figures, ensure_ascii=False))
    return 0
