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
