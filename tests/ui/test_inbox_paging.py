"""The paged inbox over a real SQLite cache: every order, both scroll directions, filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from app.cache import open_cache, views
from app.cache.schema import tickets
from app.cache.views import Order, SortKey, ViewFilter
from bench.inbox import fill
from ui.models.inbox import PAGE, InboxModel

COUNT = 3 * PAGE + 37


@pytest.fixture(scope="module")
def cache_path(tmp_path_factory: Any) -> Path:
    path = Path(tmp_path_factory.mktemp("inbox")) / "cache.sqlite3"
    fill(path, COUNT)
    return path


def _expected(engine: Any, order: Order, view: ViewFilter = ViewFilter()) -> list[int]:  # noqa: B008
    expression = views._sort_expression(order.key)
    direction = (lambda c: c.desc()) if order.descending else (lambda c: c.asc())
    query = (
        select(tickets.c.id)
        .where(*view.clauses())
        .order_by(direction(expression), direction(tickets.c.id))
    )
    with engine.connect() as conn:
        return list(conn.scalars(query))


@pytest.mark.parametrize(
    "order",
    [
        Order(SortKey.UPDATED, True),
        Order(SortKey.CREATED, False),
        Order(SortKey.PRIORITY, True),
        Order(SortKey.STATUS, False),
        Order(SortKey.SYSTEM, True),
    ],
)
def test_pages_match_a_full_sort_from_either_end(cache_path: Path, order: Order) -> None:
    cache = open_cache(cache_path)
    expected = _expected(cache.engine, order)
    forward = InboxModel(cache.engine, str)
    forward.set_order(order)
    forward.refresh()
    assert forward.rowCount() == COUNT
    assert [forward.ticket_id(p) for p in range(COUNT)] == expected  # keyset, page after page
    backward = InboxModel(cache.engine, str)
    backward.set_order(order)
    backward.refresh()
    assert [backward.ticket_id(p) for p in reversed(range(COUNT))] == expected[::-1]
    jumping = InboxModel(cache.engine, str)
    jumping.set_order(order)
    jumping.refresh()
    for position in (COUNT - 1, 5, COUNT // 2, PAGE, PAGE - 1, COUNT - PAGE - 1):
        assert jumping.ticket_id(position) == expected[position]
        assert jumping.position_of(expected[position]) == position
    fresh = InboxModel(cache.engine, str)
    fresh.set_order(order)
    fresh.refresh()
    assert fresh.position_of(expected[COUNT - 3]) == COUNT - 3  # counted, not scanned


def test_filters_sorting_by_header_and_modeltester(qapp, qtmodeltester, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = open_cache(cache_path)
    model = InboxModel(cache.engine, str)
    model.set_view(ViewFilter(system_id="zendesk", statuses=("new", "open")))
    qtmodeltester.check(model)
    assert model.rowCount() == len(_expected(cache.engine, Order(), model.view))
    assert {model.index(r, 0).data() for r in range(model.rowCount())} == {"zendesk"}
    assert {model.index(r, 3).data() for r in range(model.rowCount())} <= {"New", "Open"}
    model.sort(4, Qt.SortOrder.DescendingOrder)  # priority: urgent first
    assert model.order == Order(SortKey.PRIORITY, True)
    assert model.index(0, 4).data() == "Urgent"
    model.sort(1, Qt.SortOrder.AscendingOrder)  # subject: unindexed, fine for a small view
    assert model.order == Order(SortKey.SUBJECT, False)
    assert model.ticket_id(0) == _expected(cache.engine, model.order, model.view)[0]
    assert model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None  # system badge


def test_unread_rows_turn_regular_once_opened(cache_path: Path) -> None:
    cache = open_cache(cache_path)
    model = InboxModel(cache.engine, str)
    model.refresh()
    position = next(r for r in range(model.rowCount()) if model.index(r, 3).data() == "New")
    assert model.index(position, 1).data(Qt.ItemDataRole.FontRole) is not None
    model.mark_seen(position)
    assert model.index(position, 1).data(Qt.ItemDataRole.FontRole) is None
    waiting = next(r for r in range(model.rowCount()) if model.index(r, 3).data() == "Open")
    assert model.index(waiting, 6).data().endswith(("min", "h", "d"))
    assert model.index(waiting, 6).data(Qt.ItemDataRole.BackgroundRole) is not None  # > 24 h old
    closed = next(r for r in range(model.rowCount()) if model.index(r, 3).data() == "Closed")
    assert model.index(closed, 6).data() == ""


def test_first_page_at_once_and_the_count_from_a_thread(qtbot, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = open_cache(cache_path)
    model = InboxModel(cache.engine, str)
    model.refresh_in_background()
    assert model.index(0, 1).data()
    qtbot.waitUntil(lambda: not model.counting, timeout=10_000)
    assert model.rowCount() == COUNT
    assert model.ticket_id(COUNT - 1) == _expected(cache.engine, Order())[-1]


def test_large_views_sort_by_indexed_columns_only(qtbot, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = open_cache(cache_path)
    model = InboxModel(cache.engine, str)
    model.refresh()
    model.sort_limit = COUNT - 1
    with qtbot.assertNotEmitted(model.sort_refused):  # indexed (migration 0004)
        model.sort(4, Qt.SortOrder.DescendingOrder)
        assert model.order == Order(SortKey.PRIORITY, True)
        assert model.ticket_id(0) == _expected(cache.engine, model.order)[0]
    with qtbot.waitSignal(model.sort_refused) as refused:  # subject: no index
        model.sort(1, Qt.SortOrder.AscendingOrder)
    assert refused.args == [COUNT]
    assert model.order == Order(SortKey.PRIORITY, True)
    model.sort(5, Qt.SortOrder.AscendingOrder)
    assert model.order == Order(SortKey.UPDATED, False)
