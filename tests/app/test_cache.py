"""The cache: migrations on open, refusal of a newer schema, idempotent upserts, UTC round trip."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cache import open_cache, queries, repo
from app.domain import (
    CacheError,
    Message,
    MessageKind,
    Person,
    Priority,
    Status,
    Ticket,
    TicketKey,
)

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _head() -> str:
    """The newest migration of the source tree (what a cache must be at after opening)."""
    from alembic.script import ScriptDirectory

    from app.cache.engine import _alembic_config

    (head,) = ScriptDirectory.from_config(_alembic_config()).get_heads()
    return str(head)


def _ticket(
    n: int, *, status: Status = Status.OPEN, updated: datetime = T0, body: str = "你好"
) -> Ticket:
    return Ticket(
        key=TicketKey("sys", str(n)),
        subject=f"退款 #{n}",
        status=status,
        native_status="open",
        created_at=T0,
        updated_at=updated,
        priority=Priority.HIGH,
        requester=Person(name="王芳", email="wang.fang@example.cn"),
        messages=(Message(f"m{n}", MessageKind.REPLY, body, T0),),
    )


def test_new_cache_is_migrated_to_head_in_wal_mode(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "cache.sqlite3")
    cache.close()
    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == _head()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "tickets",
        "messages",
        "sync_state",
        "outbox",
        "audit_log",
        "quarantine",
        "drafts",
    } <= tables


def test_cache_from_a_newer_version_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    open_cache(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    before = path.read_bytes()
    with pytest.raises(CacheError, match="newer Tabless"):
        open_cache(path)
    assert path.read_bytes() == before


def test_device_id_is_stable_across_reopen(tmp_path: Path) -> None:
    first = open_cache(tmp_path / "c.sqlite3")
    first.close()
    second = open_cache(tmp_path / "c.sqlite3")
    assert first.device_id == second.device_id


def test_upsert_is_idempotent_and_keeps_times_in_utc(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        ids = repo.store_pull(conn, "sys", [_ticket(1), _ticket(2)], [], "c1", T0, True)
    later = T0 + timedelta(hours=1)
    with cache.engine.begin() as conn:
        again = repo.store_pull(
            conn, "sys", [_ticket(1, updated=later, body="改了")], [], "c2", later, True
        )
    assert again == ids[:1]
    with cache.engine.connect() as conn:
        assert queries.ticket_count(conn) == 2
        assert queries.inbox_ids(conn) == [ids[0], ids[1]]  # newest update first
        row = queries.ticket(conn, ids[0])
        assert row is not None and row.updated_at == later and row.updated_at.tzinfo is not None
        messages = queries.conversation(conn, ids[0])
        assert [m.body_text for m in messages] == ["改了"]
        assert repo.load_cursor(conn, "sys") == ("c2", True)


def test_queue_stats_count_unassigned_and_oldest_waiting(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c.sqlite3")
    older = Ticket(
        key=TicketKey("sys", "3"),
        subject="old",
        status=Status.OPEN,
        native_status="open",
        created_at=T0 - timedelta(days=2),
        updated_at=T0,
        assignee=Person(name="李思远"),
    )
    with cache.engine.begin() as conn:
        repo.store_pull(
            conn, "sys", [_ticket(1), _ticket(2, status=Status.SOLVED), older], [], None, T0, True
        )
    with cache.engine.connect() as conn:
        stats = {(s.system_id, s.status): s for s in queries.queue_stats(conn)}
    assert stats[("sys", "open")].count == 2
    assert stats[("sys", "open")].unassigned == 1
    assert stats[("sys", "open")].oldest_waiting == T0 - timedelta(days=2)
    assert stats[("sys", "solved")].count == 1


def test_a_cache_written_by_the_first_release_is_migrated_with_its_data(tmp_path: Path) -> None:
    """Build a 0001-era cache with Alembic, store a ticket, then open it with today's code."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.cache.engine import _alembic_config

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO tickets (system_id, external_id, subject, status, native_status, tags,"
                " extra, created_at, updated_at, deleted, synced_at) VALUES ('zd', '7', '旧工单',"
                " 'open', 'open', '[]', '{}', 0, 0, 0, 0)"
            )
        )
    engine.dispose()
    cache = open_cache(path)
    with cache.engine.connect() as conn:
        assert queries.ticket_count(conn) == 1
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        drafts = conn.execute(text("SELECT count(*) FROM drafts")).scalar()
    assert version == _head() and drafts == 0


# --- inbox sort orders: keyset pages walk an index (migration 0004) ------------------------------

_PRIORITY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
_STATUS_RANK = {"new": 1, "open": 2, "pending": 3, "on_hold": 4, "solved": 5, "closed": 6}


def _seeded_tickets(count: int = 90) -> list[Ticket]:
    """Tickets with repeated sort values (ties broken by id), missing people and priorities."""
    import random

    rng = random.Random(5)
    people = [None, Person(name="李思远"), Person(email="ops@example.com"), Person(name="Anna")]
    subjects = ["退款申请", "Refund", "refund", "Ärger", "登录失败", "Invoice"]
    return [
        Ticket(
            key=TicketKey(rng.choice(("zendesk", "rt", "znuny")), str(n)),
            subject=f"{rng.choice(subjects)} {rng.randrange(4)}",
            status=rng.choice(list(Status)),
            native_status="x",
            created_at=T0 + timedelta(hours=rng.randrange(10)),
            updated_at=T0 + timedelta(hours=rng.randrange(10)),
            priority=rng.choice([None, *Priority]),
            requester=rng.choice(people),
            assignee=rng.choice(people),
            deleted=rng.random() < 0.1,
        )
        for n in range(count)
    ]


def _expected_value(key: object, row: object) -> object:
    from app.cache.views import SortKey

    value: object = {
        SortKey.UPDATED: lambda r: r.updated_at,
        SortKey.CREATED: lambda r: r.created_at,
        SortKey.PRIORITY: lambda r: _PRIORITY_RANK.get(r.priority, 0),
        SortKey.STATUS: lambda r: _STATUS_RANK.get(r.status, 9),
        SortKey.SYSTEM: lambda r: r.system_id,
        SortKey.ASSIGNEE: lambda r: r.assignee_name or r.assignee_email or "",
        SortKey.REQUESTER: lambda r: r.requester_name or r.requester_email or "",
        SortKey.SUBJECT: lambda r: r.subject,
    }[key](row)  # type: ignore[index]
    return value


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("system", [None, "rt"])
def test_keyset_pages_in_every_sort_order_match_a_plain_order_by(
    tmp_path: Path, descending: bool, system: str | None
) -> None:
    from sqlalchemy import select

    from app.cache import views
    from app.cache.schema import tickets

    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        repo.upsert_tickets(conn, _seeded_tickets(), T0)
    view = views.ViewFilter(system_id=system)
    with cache.engine.connect() as conn:
        live = [
            r
            for r in conn.execute(select(tickets).where(tickets.c.deleted.is_(False)))
            if system is None or r.system_id == system
        ]
        for key in views.SortKey:
            order = views.Order(key, descending)
            expected = [
                r.id
                for r in sorted(
                    live, key=lambda r: (_expected_value(key, r), r.id), reverse=descending
                )
            ]
            walked: list[int] = []
            rows = views.page(conn, view, order, 7)
            while rows:  # forwards, by keyset
                walked += [r.id for r in rows]
                rows = views.page(conn, view, order, 7, after=(rows[-1].sort_key, rows[-1].id))
            assert walked == expected, key
            backwards: list[int] = []
            rows = views.page(conn, view, order, 7, from_end=True)
            while rows:  # from the end, backwards by keyset
                backwards = [r.id for r in rows] + backwards
                rows = views.page(conn, view, order, 7, before=(rows[0].sort_key, rows[0].id))
            assert backwards == expected, key
            middle = views.page(conn, view, order, 5, offset=10)
            assert [r.id for r in middle] == expected[10:15]
            assert views.position(conn, view, order, expected[12]) == 12
    cache.close()


def test_every_sort_order_reads_an_index_not_a_sort(tmp_path: Path) -> None:
    from app.cache import views
    from app.cache.search import _driver

    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        repo.upsert_tickets(conn, _seeded_tickets(), T0)
    with cache.engine.connect() as conn:
        statements: list[str] = []
        _driver(conn).set_trace_callback(statements.append)
        for key in sorted(views.INDEXED_SORTS):
            for descending in (True, False):
                order = views.Order(key, descending)
                first = views.page(conn, views.ViewFilter(), order, 3)
                views.page(
                    conn, views.ViewFilter(), order, 3, after=(first[-1].sort_key, first[-1].id)
                )
                views.page(conn, views.ViewFilter(), order, 3, from_end=True)
        _driver(conn).set_trace_callback(None)
        assert len(statements) == len(views.INDEXED_SORTS) * 6
        for statement in statements:
            plan = " ".join(
                row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement)
            )
            assert "USING INDEX ix_tickets_" in plan and "TEMP B-TREE" not in plan, (
                statement,
                plan,
            )
    cache.close()


def test_a_0003_cache_gets_the_sort_indexes_and_keeps_its_tickets(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.cache import views
    from app.cache.engine import _alembic_config

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text(
                "INSERT INTO tickets (system_id, external_id, subject, status, native_status,"
                " priority, tags, extra, created_at, updated_at, deleted, synced_at) VALUES"
                " ('zd', '1', 'b', 'open', 'open', 'low', '[]', '{}', 0, 0, 0, 0),"
                " ('zd', '2', 'a', 'new', 'new', 'urgent', '[]', '{}', 0, 0, 0, 0)"
            )
        )
    engine.dispose()
    cache = open_cache(path)
    with cache.engine.connect() as conn:
        names = {row[1] for row in conn.exec_driver_sql("PRAGMA index_list(tickets)")}
        by_priority = views.page(conn, views.ViewFilter(), views.Order(views.SortKey.PRIORITY), 5)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    cache.close()
    assert version == _head()
    assert {"ix_tickets_sort_priority", "ix_tickets_sort_assignee"} <= names
    assert "ix_tickets_updated" not in names  # replaced by ix_tickets_sort_updated
    assert [row.external_id for row in by_priority] == ["2", "1"]  # urgent first
