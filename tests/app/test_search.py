"""Full-text search over a real SQLite cache: Chinese and English, filters, order, highlight,
cancellation, index consistency and the 0002 -> 0003 migration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, text

from app.cache import Cache, open_cache, repo, search
from app.cache.schema import messages, outbox
from app.domain import Message, MessageKind, Person, Priority, Status, Ticket, TicketKey, replace

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
WEBER = Person(name="Daniel Weber", email="Daniel.Weber@support.example.com")


def _ticket(
    system: str,
    number: int,
    subject: str,
    *bodies: str,
    status: Status = Status.OPEN,
    priority: Priority | None = Priority.NORMAL,
    assignee: Person | None = None,
    deleted: bool = False,
) -> Ticket:
    created = T0 + timedelta(days=number)
    return Ticket(
        key=TicketKey(system, str(number)),
        subject=subject,
        status=status,
        native_status=status.value,
        created_at=created,
        updated_at=created + timedelta(hours=len(bodies)),
        priority=priority,
        assignee=assignee,
        deleted=deleted,
        messages=tuple(
            Message(
                f"{number}-{i}",
                MessageKind.REPLY if i % 2 == 0 else MessageKind.NOTE,
                body,
                created + timedelta(hours=i + 1),
            )
            for i, body in enumerate(bodies)
        ),
    )


TICKETS = [
    _ticket(
        "zendesk",
        1,
        "Refund for order 123456",
        "Hi, the blender arrived cracked.",
        "Sorry! Your refund has been issued.",
        assignee=WEBER,
        priority=Priority.HIGH,
    ),
    _ticket(
        "zendesk",
        2,
        "Cannot log in",
        "My account is locked after the password reset.",
        status=Status.SOLVED,
    ),
    _ticket(
        "osticket",
        3,
        "订单 123456 申请退款",
        "你好，我的订单收到的商品有破损，想申请退款。",
        "退款申请已经提交，预计3到5个工作日到账。",
        priority=Priority.URGENT,
    ),
    _ticket(
        "osticket",
        4,
        "物流一直没有更新",
        "快递单号显示三天没有更新了，什么时候能到？",
        status=Status.PENDING,
        priority=None,
    ),
    _ticket(
        "quality",
        5,
        "QA review: refunded twice",
        "Résumé of the café visit: refunds done.",
        assignee=Person(name="李思远"),
    ),
]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    cache = open_cache(tmp_path / "cache.sqlite3")
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "all", TICKETS, [], None, T0, True)
    yield cache
    cache.close()


@pytest.fixture
def conn(cache: Cache) -> Iterator[Connection]:
    with cache.engine.connect() as connection:
        yield connection


def _found(conn: Connection, query: str, **filters: object) -> set[tuple[str, str]]:
    """``(external id, kind)`` of every hit."""
    result = search.search(conn, query, search.SearchFilters(**filters), limit=100)  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return {(hit.external_id, hit.kind) for hit in result.hits}


def test_a_two_character_chinese_word_is_found_in_subjects_and_messages(conn: Connection) -> None:
    assert _found(conn, "退款") == {("3", "subject"), ("3", "reply"), ("3", "note")}
    assert _found(conn, "更新") == {("4", "subject"), ("4", "reply")}
    assert _found(conn, "退货") == set()


def test_a_longer_chinese_word_is_the_phrase_of_its_bigrams(conn: Connection) -> None:
    assert _found(conn, "申请退款") == {("3", "subject"), ("3", "reply")}
    assert _found(conn, "三天没有更新") == {("4", "reply")}
    assert _found(conn, "申请到账") == set()  # both bigram sets exist, but not adjacent


def test_a_single_chinese_character_is_found_anywhere_in_a_run(conn: Connection) -> None:
    # 款 ends the run 退款 in the subject and sits inside 退款申请 in the note
    assert _found(conn, "款") == {("3", "subject"), ("3", "reply"), ("3", "note")}
    assert _found(conn, "到") == {("3", "reply"), ("3", "note"), ("4", "reply")}  # 收到, 能到？


def test_english_words_ignore_case_and_diacritics(conn: Connection) -> None:
    assert _found(conn, "REFUND") == {("1", "subject"), ("1", "note")}
    assert _found(conn, "cafe resume") == {("5", "reply")}
    assert _found(conn, "refund cracked") == set()  # words are ANDed within one text


def test_prefix_and_phrase_search(conn: Connection) -> None:
    assert _found(conn, "refund*") == {
        ("1", "subject"),
        ("1", "note"),
        ("5", "subject"),
        ("5", "reply"),
    }
    assert _found(conn, '"refund has been issued"') == {("1", "note")}
    assert _found(conn, '"refund issued"') == set()
    assert _found(conn, "订单123456") == {("3", "subject")}  # mixed Chinese and digits
    # typing: the last word is a prefix until the agent types a space
    partial = search.search(conn, "blend", prefix_last=True)
    assert [(h.external_id, h.kind) for h in partial.hits] == [("1", "reply")]
    assert search.search(conn, "blend ", prefix_last=True).total == 0


def test_filters_for_system_status_assignee_priority_kind_and_dates(conn: Connection) -> None:
    assert _found(conn, "refund*", systems=("quality",)) == {("5", "subject"), ("5", "reply")}
    assert _found(conn, "locked", statuses=("open",)) == set()
    assert _found(conn, "locked", statuses=("open", "solved")) == {("2", "reply")}
    assert _found(conn, "refund", assignees=("daniel.weber@support.example.com",)) == {
        ("1", "subject"),
        ("1", "note"),
    }
    assert _found(conn, "refund*", assignees=("李思远",)) == {("5", "subject"), ("5", "reply")}
    assert _found(conn, "refund*", unassigned=True) == set()
    assert _found(conn, "更新", unassigned=True, priorities=("low",)) == set()
    assert _found(conn, "退款", priorities=("urgent",), kinds=("note",)) == {("3", "note")}
    day3 = T0 + timedelta(days=3)
    # ticket 3 was created on day 3; its messages follow 1 and 2 hours later
    assert _found(conn, "退款", since=day3 + timedelta(minutes=90)) == {("3", "note")}
    assert _found(conn, "退款", until=day3 + timedelta(minutes=90)) == {
        ("3", "subject"),
        ("3", "reply"),
    }


def test_newest_first_by_default_and_by_relevance_on_request(conn: Connection) -> None:
    newest = search.search(conn, "refund*")
    times = [hit.at for hit in newest.hits]
    assert times == sorted(times, reverse=True) and newest.hits[0].external_id == "5"
    assert all(hit.score is None for hit in newest.hits)
    ranked = search.search(conn, "refund", order=search.Order.RELEVANCE)
    scores = [hit.score for hit in ranked.hits]
    assert all(s is not None for s in scores) and scores == sorted(scores)  # type: ignore[type-var]
    assert ranked.hits[0].kind == "subject"  # the short subject beats the longer reply
    page = search.search(conn, "refund*", limit=2, offset=1)
    assert page.total == 4 and [h.at for h in page.hits] == times[1:3]


def test_matches_are_highlighted_with_ranges_and_markers(conn: Connection) -> None:
    hits = {hit.kind: hit for hit in search.search(conn, "退款").hits}
    note = hits["note"]
    assert note.marked.startswith("\x02退款\x03申请")
    assert [note.snippet[s:e] for s, e in note.highlights] == ["退款"]
    cafe = search.search(conn, "cafe").hits[0]
    assert [cafe.snippet[s:e] for s, e in cafe.highlights] == ["café"]
    assert search.highlight("Refunded twice, refund ok", "refund*") == [(0, 8), (16, 22)]
    assert search.mark("a<b>", [(1, 2)]) == "a\x02<\x03b>"  # the view escapes, then styles


def test_a_long_message_gets_a_snippet_around_the_match(cache: Cache) -> None:
    long_body = "前言" * 200 + " the warranty covers it " + "结尾" * 200
    with cache.engine.begin() as conn:
        repo.upsert_tickets(conn, [_ticket("zendesk", 9, "Long one", long_body)], T0)
    with cache.engine.connect() as conn:
        hit = search.search(conn, "warranty").hits[0]
    assert len(hit.snippet) <= search.SNIPPET_CHARS + 2
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["warranty"]


def test_an_empty_or_punctuation_only_query_matches_nothing(conn: Connection) -> None:
    assert search.search(conn, "").total == 0
    assert search.search(conn, ' "" *** ，。').total == 0
    assert search.search(conn, 'AND OR NOT "unclosed').total == 0  # no FTS syntax leaks


def _count_docs(conn: Connection) -> tuple[int, int]:
    docs = conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one()
    fts = conn.execute(text("SELECT count(*) FROM search_fts")).scalar_one()
    return int(docs), int(fts)


def test_the_index_follows_re_upserts_updates_and_deletes(cache: Cache) -> None:
    with cache.engine.connect() as conn:
        before = _count_docs(conn)
    assert before == (12, 12)  # 5 subjects + 7 messages
    with cache.engine.begin() as conn:  # the same page again: nothing changes
        repo.store_pull(conn, "all", TICKETS, [], None, T0, True)
    changed = _ticket(
        "zendesk",
        1,
        "Replacement for order 123456",
        "Hi, the blender arrived cracked.",
        "We shipped a replacement instead.",
        status=Status.PENDING,
    )
    gone = _ticket("zendesk", 2, "Cannot log in", deleted=True)
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", [changed, gone], [], None, T0, True)
    with cache.engine.connect() as conn:
        assert _count_docs(conn) == (10, 10)
        assert _found(conn, "refund") == set()
        assert _found(conn, "replacement", statuses=("pending",)) == {
            ("1", "subject"),
            ("1", "note"),
        }
        assert _found(conn, "replacement", statuses=("open",)) == set()
        assert _found(conn, "locked") == set()  # the deleted ticket
        ticket_id = conn.execute(text("SELECT id FROM tickets WHERE external_id = '3'")).scalar()
    with cache.engine.begin() as conn:  # a local status change moves the facets too
        repo.set_ticket_status(conn, int(ticket_id), "solved", T0)
        # a message removed by any code path (e.g. a delivered local copy) leaves the index
        conn.execute(delete(messages).where(messages.c.external_id == "3-1"))
    with cache.engine.connect() as conn:
        assert _found(conn, "退款", statuses=("solved",)) == {("3", "subject"), ("3", "reply")}
        assert _count_docs(conn) == (9, 9)
    with cache.engine.begin() as conn:  # a hard-deleted ticket takes its texts along
        conn.execute(text("DELETE FROM tickets WHERE external_id = '4'"))
    with cache.engine.connect() as conn:
        assert _found(conn, "更新") == set()
        assert _count_docs(conn) == (7, 7)


def test_a_pending_local_status_keeps_its_facet_until_delivered(cache: Cache) -> None:
    with cache.engine.begin() as conn:
        ticket_id = conn.execute(text("SELECT id FROM tickets WHERE external_id = '4'")).scalar()
        conn.execute(
            insert(outbox).values(
                action_id="a1",
                ticket_id=ticket_id,
                system_id="osticket",
                kind="set_status",
                payload={"status": "solved"},
                state="pending",
                attempts=0,
                created_at=T0,
                updated_at=T0,
            )
        )
        repo.set_ticket_status(conn, int(ticket_id), "solved", T0)
        repo.store_pull(conn, "osticket", [TICKETS[3]], [], None, T0, True)  # remote: pending
    with cache.engine.connect() as conn:
        assert _found(conn, "更新", statuses=("solved",)) == {("4", "subject"), ("4", "reply")}


def test_texts_at_one_moment_or_before_1970_all_get_keys_and_are_found(cache: Cache) -> None:
    # a date-only export: 70 messages at the same instant (more than the 64 keys of one
    # millisecond and facet combination), and a ticket from before 1970 (counted as 1970)
    same = datetime(2026, 11, 20, tzinfo=UTC)
    crowded = Ticket(
        key=TicketKey("csv", "70"),
        subject="Bulk import",
        status=Status.OPEN,
        native_status="open",
        created_at=same,
        updated_at=same,
        messages=tuple(
            Message(f"b{i}", MessageKind.REPLY, f"warranty line {i}", same) for i in range(70)
        ),
    )
    old = replace(
        _ticket("csv", 71, "warranty from the archive", status=Status.CLOSED),
        created_at=datetime(1969, 7, 20, tzinfo=UTC),
    )
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "csv", [crowded, old], [], None, T0, True)
    with cache.engine.connect() as conn:
        assert search.search(conn, "warranty", limit=0).total == 71
        assert search.search(conn, "warranty", search.SearchFilters(statuses=("open",))).total == 70
        newest = search.search(conn, "warranty", limit=100)
        assert [h.external_id for h in newest.hits][-1] == "71"  # the oldest comes last
        assert _found(conn, "warranty", until=datetime(1970, 1, 2, tzinfo=UTC)) == {
            ("71", "subject")
        }
        assert len({h.message_id for h in newest.hits}) == 71  # one key each


@pytest.mark.parametrize(
    ("text", "body", "tail"),
    [
        ("refund 123", "refund 123", ""),
        ("退", " 退 ", ""),
        ("退款", " 退款 ", "款"),
        ("申请退款。退款到账", " 申请 请退 退款 。 退款 款到 到账 ", "款 账"),
        ("x退y款z", "x 退 y 款 z", ""),
        ("订单123456退款", " 订单 123456 退款 ", "单 款"),
        (
            "\U00020000\U00020001\U00020002",
            " \U00020000\U00020001 \U00020001\U00020002 ",
            "\U00020002",
        ),
        ("ｒｅｆｕｎｄ 退款", "refund  退款 ", "款"),  # full-width Latin is NFKC-folded first
        ("한국어 カタカナ", " 한국 국어   カタ タカ カナ ", "어 ナ"),
    ],
)
def test_the_indexed_columns_of_a_text(text: str, body: str, tail: str) -> None:
    assert search.index_text(text) == (body, tail)


def test_doc_keys_carry_the_clamped_time_counted_down(cache: Cache) -> None:
    micro = timedelta(microseconds=1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    moments = {
        "before": epoch - timedelta(days=400),
        "just-before": epoch - micro,  # a negative ms that rounds towards 0 in SQL
        "ms-before": epoch - timedelta(milliseconds=1) - micro,
        "epoch": epoch,
        "now": T0 + timedelta(milliseconds=5, microseconds=999),
        "far": datetime(2400, 1, 1, tzinfo=UTC),  # past the last key time: clamped
    }
    tickets = [
        replace(_ticket("csv", 80 + n, f"clock {name}"), created_at=at)
        for n, (name, at) in enumerate(moments.items())
    ]
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "csv", tickets, [], None, T0, True)
    with cache.engine.connect() as conn:
        docs: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT t.subject, d.doc FROM search_docs d JOIN tickets t"
                    " ON t.id = d.ticket_id WHERE d.message_id IS NULL AND t.system_id = 'csv'"
                )
            ).all()
        )
    for name, at in moments.items():
        millis = min(max((at - epoch) // timedelta(milliseconds=1), 0), search._LATEST_MS)
        time_field = (docs[f"clock {name}"] >> search._TIME_SHIFT) & search._TIME_MAX
        assert time_field == search._TIME_MAX - millis, name


class _PausedSession(search.SearchSession):
    """Stops inside the first progress callback until the test has typed the next key."""

    PROGRESS_STEPS = 1  # the test cache is tiny: call back at every SQLite VM step

    def __init__(self, cache: Cache) -> None:
        super().__init__(cache)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.outcomes: list[str] = []

    def _run(self, *args: Any) -> search.SearchResult:
        try:
            result = super()._run(*args)
        except search.SearchCancelled:
            self.outcomes.append("cancelled")
            raise
        self.outcomes.append("done")
        return result

    def _progress(self, flag: search._Flag) -> int:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        return super()._progress(flag)


def test_a_new_keystroke_cancels_the_running_query(cache: Cache) -> None:
    session = _PausedSession(cache)
    try:
        first = session.submit("refund")
        assert session.entered.wait(10)  # the first query is inside SQLite now
        second = session.submit("退款")
        queued = session.submit("更新")  # supersedes ``second`` before it starts
        session.release.set()
        with pytest.raises(search.SearchCancelled):
            first.result(10)
        with pytest.raises(search.SearchCancelled):
            second.result(10)
        assert {(h.external_id, h.kind) for h in queued.result(10).hits} == {
            ("4", "subject"),
            ("4", "reply"),
        }
        # the connection still works; as you type, "refund" is a prefix (refunded, refunds)
        assert session.submit("refund").result(10).total == 4
    finally:
        session.close()


def test_cancelling_the_awaiting_task_cancels_the_query(cache: Cache) -> None:
    import asyncio

    session = _PausedSession(cache)

    async def scenario() -> None:
        task = asyncio.ensure_future(session.search("refund"))
        assert await asyncio.to_thread(session.entered.wait, 10)  # the query is in SQLite
        task.cancel()
        session.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await session.search("退款")).total == 3
        assert session.outcomes == ["cancelled", "done"]

    try:
        asyncio.run(scenario())
    finally:
        session.close()


def test_migrating_a_0002_cache_indexes_the_tickets_already_cached(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from app.cache.engine import _alembic_config

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO tickets (id, system_id, external_id, subject, status, native_status,"
                " priority, tags, extra, created_at, updated_at, deleted, synced_at) VALUES"
                " (1, 'portal', '7', '旧单退款', 'open', 'open', 'high', '[]', '{}', 0, 0, 0, 0),"
                " (2, 'portal', '8', 'gone', 'open', 'open', NULL, '[]', '{}', 0, 0, 1, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO messages (ticket_id, external_id, kind, body_text, attachments,"
                " created_at) VALUES (1, 'm1', 'reply', 'Refund approved 已退款', '[]', 1000000),"
                " (2, 'm2', 'reply', 'refund of a deleted ticket', '[]', 0)"
            )
        )
    engine.dispose()
    cache = open_cache(path)
    try:
        with cache.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert int(version) >= 3  # upgraded through 0003 (and whatever came after)
            assert _found(conn, "退款", priorities=("high",)) == {("7", "subject"), ("7", "reply")}
            assert _found(conn, "refund") == {("7", "reply")}
    finally:
        cache.close()


def test_migrating_a_0005_cache_re_keys_the_texts_it_had_indexed(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from app.cache.engine import _alembic_config

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    config = _alembic_config()
    day = 86_400_000_000  # µs
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "INSERT INTO tickets (id, system_id, external_id, subject, status, native_status,"
                " priority, tags, extra, created_at, updated_at, deleted, synced_at) VALUES"
                f" (1, 'portal', '7', '旧单退款', 'pending', 'p', 'high', '[]', '{{}}', {day},"
                f" {day}, 0, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO messages (id, ticket_id, external_id, kind, body_text, attachments,"
                " created_at) VALUES (5, 1, 'm1', 'reply', 'Refund approved 已退款', '[]',"
                f" {2 * day})"
            )
        )
        # the index as 0003-0005 wrote it: time in ms << 20 | system << 14 | status << 11 |
        # priority << 8 | kind << 6 | unique bits
        subject_key = ((day // 1000) << 20) | (2 << 11) | (3 << 8)
        reply_key = ((2 * day // 1000) << 20) | (2 << 11) | (3 << 8) | (1 << 6) | 5
        connection.execute(
            text("INSERT INTO search_systems (code, system_id) VALUES (0, 'portal')")
        )
        connection.execute(
            text(
                "INSERT INTO search_docs (doc, ticket_id, message_id, sig) VALUES"
                f" ({subject_key}, 1, NULL, 1), ({reply_key}, 1, 5, 2)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO search_fts (rowid, body, tail, facets) VALUES"
                f" ({subject_key}, '旧单 单退 退款', '款', ''),"
                f" ({reply_key}, 'Refund approved 已退 退款', '款', '')"
            )
        )
    engine.dispose()
    cache = open_cache(path)
    try:
        with cache.engine.connect() as conn:
            assert _count_docs(conn) == (2, 2)
            old = conn.execute(
                text("SELECT count(*) FROM search_fts WHERE rowid IN (:a, :b)"),
                {"a": subject_key, "b": reply_key},
            ).scalar()
            assert old == 0  # every text has its new key
            assert _found(conn, "退款", statuses=("pending",), priorities=("high",)) == {
                ("7", "subject"),
                ("7", "reply"),
            }
            assert _found(conn, "退款", statuses=("open",)) == set()
            since = datetime(1970, 1, 2, 12, tzinfo=UTC)
            assert _found(conn, "refund", since=since) == {("7", "reply")}
            assert [h.kind for h in search.search(conn, "退款").hits] == ["reply", "subject"]
            automerge = conn.execute(
                text("SELECT v FROM search_fts_config WHERE k = 'automerge'")
            ).scalar()
            assert automerge == 8
    finally:
        cache.close()


# --- every query path against a brute-force scan ------------------------------------------------

_BOUNDARY = "a-z0-9"
_SCAN_QUERIES = {
    # query: (kind, words) for the reference scan; "word" terms are ANDed
    "refund": ("word", ("refund",)),  # one word: counted from the vocabulary
    "退款": ("cjk", ("退款",)),  # one bigram: counted from the vocabulary
    "物流": ("cjk", ("物流",)),
    "订单": ("cjk", ("订单",)),
    "refund*": ("prefix", ("refund",)),
    "pass*": ("prefix", ("pass",)),
    "f*": ("prefix", ("f",)),  # could match assignee facet tokens: the column filter stays
    "invoice vat": ("word", ("invoice", "vat")),
    '"please keep"': ("phrase", ("please", "keep")),
    "没有更新": ("cjk", ("没有更新",)),
}
_SCAN_FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "system": {"systems": ("zendesk",)},
    "status": {"statuses": ("open",)},
    "system+status": {"systems": ("zendesk",), "statuses": ("open",)},
    "statuses+kind": {"statuses": ("open", "pending"), "kinds": ("reply",)},
    "priority+system": {"priorities": ("urgent",), "systems": ("osticket", "csv")},
    "dates": {"since": datetime(2025, 6, 1, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
    "unassigned": {"unassigned": True},
}


def _reference_match(kind: str, words: tuple[str, ...], text_: str) -> bool:
    import re

    folded = text_.casefold()
    if kind == "cjk":
        return all(word in folded for word in words)
    if kind == "phrase":
        gap = f"[^{_BOUNDARY}\u3400-\u9fff]+"
        pattern = f"(?<![{_BOUNDARY}])" + gap.join(words) + f"(?![{_BOUNDARY}])"
        return re.search(pattern, folded) is not None
    tail = f"[{_BOUNDARY}]*" if kind == "prefix" else f"(?![{_BOUNDARY}])"
    return all(re.search(f"(?<![{_BOUNDARY}]){w}{tail}", folded) for w in words)


def _reference(corpus: list[Ticket], query: str, filters: dict[str, Any]) -> list[datetime]:
    """The times of every matching text, newest first, by scanning the domain objects."""
    kind, words = _SCAN_QUERIES[query]
    found: list[datetime] = []
    for ticket in corpus:
        if ticket.deleted:
            continue
        if filters.get("systems") and ticket.key.system_id not in filters["systems"]:
            continue
        if filters.get("statuses") and ticket.status.value not in filters["statuses"]:
            continue
        priority = ticket.priority.value if ticket.priority else None
        if filters.get("priorities") and priority not in filters["priorities"]:
            continue
        if filters.get("unassigned") and ticket.assignee is not None:
            continue
        texts = [("subject", ticket.subject, ticket.created_at)] + [
            (m.kind.value, m.body_text, m.created_at) for m in ticket.messages
        ]
        for text_kind, body, at in texts:
            if filters.get("kinds") and text_kind not in filters["kinds"]:
                continue
            if "since" in filters and at < filters["since"]:
                continue
            if "until" in filters and at >= filters["until"]:
                continue
            if _reference_match(kind, words, body):
                found.append(at)
    return sorted(found, reverse=True)


@pytest.fixture(scope="module")
def corpus_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cache, list[Ticket]]]:
    from bench.ingest import make_tickets

    corpus = list(make_tickets(400, seed=11))
    cache = open_cache(tmp_path_factory.mktemp("corpus") / "cache.sqlite3")
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "all", corpus, [], None, T0, True)
    yield cache, corpus
    cache.close()


@pytest.mark.parametrize("filter_name", list(_SCAN_FILTERS))
@pytest.mark.parametrize("query", list(_SCAN_QUERIES))
def test_counts_and_pages_match_a_brute_force_scan(
    corpus_cache: tuple[Cache, list[Ticket]], query: str, filter_name: str
) -> None:
    cache, corpus = corpus_cache
    filters = search.SearchFilters(**_SCAN_FILTERS[filter_name])
    expected = _reference(corpus, query, _SCAN_FILTERS[filter_name])
    with cache.engine.connect() as conn:
        newest = search.search(conn, query, filters, limit=len(expected) + 10)
        assert newest.total == len(expected)
        assert [hit.at for hit in newest.hits] == expected  # newest first, every match
        ranked = search.search(conn, query, filters, search.Order.RELEVANCE, limit=1000)
        assert ranked.total == len(expected)
        assert sorted((h.at for h in ranked.hits), reverse=True) == expected
        scores = [hit.score for hit in ranked.hits]
        assert scores == sorted(scores)  # type: ignore[type-var]
        page = search.search(conn, query, filters, limit=7, offset=3)
        assert page.total == len(expected)
        assert [hit.at for hit in page.hits] == expected[3:10]
    if filter_name == "none" and _SCAN_QUERIES[query][0] == "cjk":
        with cache.engine.connect() as conn:  # a Chinese word is a substring: LIKE agrees
            like = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM messages WHERE body_text LIKE :p)"
                    " + (SELECT count(*) FROM tickets WHERE subject LIKE :p AND NOT deleted)"
                ),
                {"p": f"%{query}%"},
            ).scalar()
        assert like == len(expected)


def test_vocabulary_counts_follow_updates_and_deletes(cache: Cache) -> None:
    def counts(conn: Connection, query: str) -> tuple[int, int]:
        vocabulary = search.search(conn, query).total  # one term: from the vocabulary
        scanned = search.search(conn, query, search.SearchFilters(since=T0)).total  # MATCH
        return vocabulary, scanned

    with cache.engine.connect() as conn:
        assert counts(conn, "refund") == (2, 2)
        assert counts(conn, "退款") == (3, 3)
    with cache.engine.begin() as conn:
        conn.execute(text("DELETE FROM tickets WHERE external_id = '3'"))
        repo.store_pull(
            conn, "zendesk", [_ticket("zendesk", 1, "Nothing here")], [], None, T0, True
        )
    with cache.engine.connect() as conn:
        assert counts(conn, "refund") == (1, 1)  # the subject changed; the note is still there
        assert counts(conn, "退款") == (0, 0)


def test_the_session_remembers_counts_until_the_cache_changes(cache: Cache) -> None:
    session = search.SearchSession(cache)
    try:
        first = session.submit("refund", prefix_last=False).result(10)
        again = session.submit("refund", prefix_last=False, offset=1).result(10)  # next page
        assert first.total == again.total == 2 and len(again.hits) == 1
        with cache.engine.begin() as conn:  # another connection commits: counts are stale
            more = _ticket("zendesk", 9, "Second refund request")
            repo.store_pull(conn, "zendesk", [more], [], None, T0, True)
        assert session.submit("refund", prefix_last=False).result(10).total == 3
        filtered = search.SearchFilters(systems=("zendesk",), statuses=("open",))
        assert session.submit("refund", filtered, prefix_last=False).result(10).total == 3
        session.forget_counts()
        assert session.submit("refund", filtered, prefix_last=False).result(10).total == 3
    finally:
        session.close()


@pytest.fixture(scope="module")
def corpus_session(
    corpus_cache: tuple[Cache, list[Ticket]],
) -> Iterator[search.SearchSession]:
    session = search.SearchSession(corpus_cache[0])
    yield session
    session.close()


@pytest.mark.parametrize("filter_name", list(_SCAN_FILTERS))
@pytest.mark.parametrize("query", list(_SCAN_QUERIES))
def test_the_search_box_session_counts_like_the_scan(
    corpus_cache: tuple[Cache, list[Ticket]],
    corpus_session: search.SearchSession,
    query: str,
    filter_name: str,
) -> None:
    _cache, corpus = corpus_cache
    filters = search.SearchFilters(**_SCAN_FILTERS[filter_name])
    expected = _reference(corpus, query, _SCAN_FILTERS[filter_name])
    corpus_session.forget_counts()
    fresh = corpus_session.submit(query, filters, prefix_last=False).result(10)
    remembered = corpus_session.submit(query, filters, prefix_last=False, offset=2).result(10)
    assert fresh.total == remembered.total == len(expected)
    assert [hit.at for hit in fresh.hits] == expected[:50]
    assert [hit.at for hit in remembered.hits] == expected[2:52]
