"""The first-paint reader (``app.cache.inbox.InboxPreview``, stdlib sqlite3) reads exactly what
the core's ``app.cache.views`` reads, and reads nothing it was not written for."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite as sqlite_dialect

from app.cache import open_cache, queries, repo, views
from app.cache.inbox import (
    INBOX_FIELDS,
    SORT_SQL,
    InboxPreview,
    Order,
    SortKey,
    ViewFilter,
    head_revisions,
)
from tests.app.test_cache import T0, _head, _seeded_tickets

ALL = ViewFilter()


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    """A migrated cache with tickets that tie, lack people and priorities, or are deleted."""
    path = tmp_path / "cache.sqlite3"
    cache = open_cache(path)
    with cache.engine.begin() as conn:
        repo.upsert_tickets(conn, _seeded_tickets(), T0)
    cache.close()
    return path


def _same(preview_rows: list[Any], core_rows: list[Any]) -> None:
    assert [tuple(row) for row in preview_rows] == [tuple(row) for row in core_rows]
    for mine, theirs in zip(preview_rows, core_rows, strict=True):
        assert mine._fields == tuple(theirs._fields)


@pytest.mark.parametrize("descending", [True, False])
def test_every_page_and_count_match_the_core_in_every_order(
    cache_path: Path, descending: bool
) -> None:
    preview = InboxPreview.open(cache_path)
    assert preview is not None
    cache = open_cache(cache_path)
    try:
        with cache.engine.connect() as conn:
            core = views.ConnectionReader(conn)
            assert preview.count(ALL) == core.count(ALL) > 0
            for key in SortKey:
                order = Order(key, descending)
                for bounds in (
                    {},
                    {"offset": 10},
                    {"from_end": True},
                    {"offset": 4, "from_end": True},
                ):
                    _same(preview.page(ALL, order, 7, **bounds), core.page(ALL, order, 7, **bounds))
                walked: list[Any] = []
                rows = preview.page(ALL, order, 7)
                while rows:  # forwards by keyset, the preview's own keys as bounds
                    walked += rows
                    rows = preview.page(ALL, order, 7, after=(rows[-1].sort_key, rows[-1].id))
                _same(walked, core.page(ALL, order, 1000))
                middle = walked[40]
                _same(
                    preview.page(ALL, order, 7, before=(middle.sort_key, middle.id)),
                    core.page(ALL, order, 7, before=(middle.sort_key, middle.id)),
                )
    finally:
        cache.close()
        preview.close()


def test_its_sql_is_the_core_s_sql() -> None:
    dialect = sqlite_dialect.dialect()
    for key in SortKey:
        expression = views._sort_expression(key)  # what the expression indexes match
        assert str(expression.compile(dialect=dialect)) == SORT_SQL[key], key
    assert tuple(column.name for column in queries.INBOX_COLUMNS) == INBOX_FIELDS
    assert head_revisions() == {_head()}  # read from the scripts as Alembic reads them


def test_it_never_creates_a_cache(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "cache.sqlite3"
    assert InboxPreview.open(missing) is None
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize("version", ["0004", "9999", ""])
def test_another_schema_revision_is_left_to_the_core(cache_path: Path, version: str) -> None:
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (version,))
    db.close()
    assert InboxPreview.open(cache_path) is None


def test_a_file_that_is_no_cache_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"not a database, just bytes " * 100)
    assert InboxPreview.open(path) is None
    assert path.read_bytes() == b"not a database, just bytes " * 100


def test_it_is_read_only_and_reads_only_the_default_view(cache_path: Path) -> None:
    preview = InboxPreview.open(cache_path)
    assert preview is not None
    try:
        with pytest.raises(ValueError, match="default view"):
            preview.page(ViewFilter(system_id="rt"), Order(), 5)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            preview._connection.execute("DELETE FROM tickets")  # the connection itself
    finally:
        preview.close()


def test_the_head_follows_branches_and_merges_of_the_scripts(tmp_path: Path) -> None:
    scripts = {
        "a.py": 'revision = "a"\ndown_revision = None\n',
        "b.py": '"""Revision ID: b"""\nrevision: str = "b"\ndown_revision: str | None = "a"\n',
        "c.py": "revision = 'c'\ndown_revision = 'a'\n",
    }
    for name, text in scripts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert head_revisions(tmp_path) == {"b", "c"}  # two branches: a cache is at both heads
    merged = tmp_path / "merged"
    merged.mkdir()
    for name, text in scripts.items():
        (merged / name).write_text(text, encoding="utf-8")
    (merged / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n', encoding="utf-8")
    assert head_revisions(merged) == {"d"}
    assert head_revisions(tmp_path / "missing") == frozenset()
