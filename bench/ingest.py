"""``python -m bench ingest``: how fast normalized tickets (with their messages) reach the cache.

Three runs on fresh cache files, each over the same generated tickets (a realistic Chinese and
English mix built from ``sandbox.dataset``'s texts), pages of ``--page`` tickets, one transaction
per page as the sync engine writes them:

- ``raw_rows_per_s``: the limit, plain ``sqlite3.executemany`` of the prepared ticket and
  message rows into the same tables in ONE transaction, without the search index;
- ``rows_per_s``: the cache's upsert (``repo.upsert_ticket_rows``) from domain objects;
- ``indexed_rows_per_s``: the whole path until the tickets are searchable
  (``repo.store_pull``: upsert + search index + cursor);

both through ``CacheWriter`` (the sync engine's single writer and its tuned connection);
- ``row_trigger_rows_per_s``: for comparison, the raw rows with FTS triggers firing row by row
  (normalization as a SQL function, no facets, no doc map: an optimistic bound for triggers).

A row is one ticket with its messages.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.cache import CacheWriter, open_cache, repo, search
from app.cache.types import to_micros
from app.domain import Message, MessageKind, Person, Priority, Status, Ticket, TicketKey
from sandbox import dataset

_ORDER = re.compile(r"\d{6}")
RARE_WORD = "defibrillator"  # about one message in 2,000 mentions it
_EXTRA_EN = ("Thanks for your patience.", "Please keep the reference number.", "Any update?")
_EXTRA_ZH = ("请尽快回复。", "谢谢您的耐心等待。", "麻烦再确认一下。")


def make_tickets(count: int, seed: int = 7) -> Iterator[Ticket]:
    """``count`` normalized tickets over four systems, about three messages each."""
    rng = random.Random(seed)
    templates = dataset.build(seed=42, now=datetime(2026, 11, 30, tzinfo=UTC))
    people = [Person(name=a.name, email=a.email) for a in dataset.AGENTS]
    start = datetime(2024, 12, 1, tzinfo=UTC)
    span = int(timedelta(days=730).total_seconds())
    for number in range(count):
        template = rng.choice(templates)
        order = str(rng.randrange(100000, 999999))
        created = start + timedelta(seconds=span * number / count + rng.random())
        at = created
        messages = []
        for index, entry in enumerate(template.entries):
            body = _ORDER.sub(order, entry.body)
            if rng.random() < 0.3:
                body += " " + rng.choice(_EXTRA_ZH if rng.random() < 0.6 else _EXTRA_EN)
            if rng.random() < 0.0005:
                body += f" The {RARE_WORD} in room {rng.randrange(1, 99)} was checked."
            at = at + timedelta(minutes=rng.randrange(1, 300))
            kind = MessageKind.REPLY if entry.public else MessageKind.NOTE
            author = Person(name=entry.author_name, email=entry.author_email)
            messages.append(Message(f"{number}-{index}", kind, body, at, author=author))
        yield Ticket(
            key=TicketKey(template.system, str(100_000 + number)),
            subject=_ORDER.sub(order, template.subject),
            status=Status(rng.choices(dataset.STATUSES, dataset.STATUS_WEIGHTS)[0]),
            native_status=template.status,
            created_at=created,
            updated_at=at,
            priority=Priority(template.priority),
            requester=Person(template.customer.name, template.customer.email),
            assignee=None if rng.random() < 0.15 else rng.choice(people),
            queue=template.queue,
            tags=tuple(template.tags),
            messages=tuple(messages),
        )


def _pages(tickets: list[Ticket], size: int) -> Iterator[list[Ticket]]:
    for start in range(0, len(tickets), size):
        yield tickets[start : start + size]


_TRIGGERS = (
    "CREATE TEMP TRIGGER bench_ticket_ai AFTER INSERT ON main.tickets BEGIN"
    " INSERT INTO search_fts (rowid, body, tail, facets)"
    " VALUES (new.id + 1099511627776, idx_body(new.subject), idx_tail(new.subject), '');"
    " END",
    "CREATE TEMP TRIGGER bench_message_ai AFTER INSERT ON main.messages BEGIN"
    " INSERT INTO search_fts (rowid, body, tail, facets)"
    " VALUES (new.id, idx_body(new.body_text), idx_tail(new.body_text), ''); END",
)


def raw_seconds(path: Path, tickets: list[Ticket], now: datetime, page: int | None = None) -> float:
    """Plain executemany of the same rows, one transaction, no search index.

    With ``page``: one transaction per page and FTS triggers firing row by row (the same
    normalization as a SQL function, without facets) — the alternative to batch indexing.
    """
    open_cache(path).close()
    synced = to_micros(now)
    ticket_rows = [repo._ticket_values(t, synced) for t in tickets]
    message_rows = [
        repo._message_values(number, m)
        for number, t in enumerate(tickets, start=1)
        for m in t.messages
    ]
    columns = ", ".join(repo._TICKET_COLUMNS)
    m_columns = ", ".join(repo._MESSAGE_COLUMNS)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    if page:
        conn.create_function("idx_body", 1, lambda t: search.index_text(t)[0], deterministic=True)
        conn.create_function("idx_tail", 1, lambda t: search.index_text(t)[1], deterministic=True)
        for trigger in _TRIGGERS:
            conn.execute(trigger)
    size = page or len(ticket_rows)
    per_ticket = [len(t.messages) for t in tickets]
    began = time.perf_counter()
    done = 0
    for start in range(0, len(ticket_rows), size):
        count = sum(per_ticket[start : start + size])
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO tickets ({columns})"
            f" VALUES ({', '.join('?' * len(repo._TICKET_COLUMNS))})",
            ticket_rows[start : start + size],
        )
        conn.executemany(
            f"INSERT INTO messages ({m_columns})"
            f" VALUES ({', '.join('?' * len(repo._MESSAGE_COLUMNS))})",
            message_rows[done : done + count],
        )
        conn.execute("COMMIT")
        done += count
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def cache_seconds(
    path: Path, tickets: list[Ticket], now: datetime, page: int, index: bool
) -> float:
    """The cache's own write path (the sync engine's single writer), one transaction per page."""
    cache = open_cache(path)
    writer = CacheWriter(cache)
    began = time.perf_counter()
    for chunk in _pages(tickets, page):
        if index:
            writer.run_sync(repo.store_pull, chunk[0].key.system_id, chunk, [], "c", now, True)
        else:
            writer.run_sync(repo.upsert_ticket_rows, chunk, now)
    elapsed = time.perf_counter() - began
    writer.close()
    with cache.engine.connect() as conn:
        found = search.search(conn, "退款").total if index else None
    cache.close()
    if index and not found:
        raise SystemExit("the indexed run found nothing for 退款")
    return elapsed


def main(argv: list[str]) -> int:
    """Print the figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args(argv)
    tickets = list(make_tickets(args.tickets))
    messages = sum(len(t.messages) for t in tickets)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="tabless-ingest-") as folder:
        base = Path(folder)
        raw = raw_seconds(base / "raw.sqlite3", tickets, now)
        upsert = cache_seconds(base / "upsert.sqlite3", tickets, now, args.page, index=False)
        indexed = cache_seconds(base / "indexed.sqlite3", tickets, now, args.page, index=True)
        size_mb = (base / "indexed.sqlite3").stat().st_size / 1e6
        triggers = raw_seconds(base / "triggers.sqlite3", tickets, now, args.page)
    figures = {
        "tickets": args.tickets,
        "messages": messages,
        "rows_per_s": round(args.tickets / upsert),
        "raw_rows_per_s": round(args.tickets / raw),
        "ratio_to_raw": round(raw / upsert, 3),
        "indexed_rows_per_s": round(args.tickets / indexed),
        "indexed_db_mb": round(size_mb, 1),
        "row_trigger_rows_per_s": round(args.tickets / triggers),
    }
    print(
        f"{args.tickets} tickets, {messages} messages: raw {raw:.2f}s, "
        f"cache upsert {upsert:.2f}s, upsert + search index {indexed:.2f}s, "
        f"raw rows + per-row FTS triggers {triggers:.2f}s"
    )
    print(json.dumps(figures))
    return 0
