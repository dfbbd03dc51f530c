"""Sync events into a shown inbox: coalesced, read off the loop, applied without a model reset.

A real window over a real SQLite cache; tickets are written with the cache's own upsert and
announced on the workstation's bus (``TicketsChanged``, as the sync engine does), so the path
under test is bus -> Bridge -> the window's coalesced re-read on its worker -> the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from app.cache import open_cache, repo
from app.config import SETTINGS, Config
from app.domain import Person, Status, Ticket, TicketKey
from app.events import TicketsChanged
from app.runtime import Workstation
from app.secrets import SecretStore
from tests.ui.test_workstation_window import eventually
from ui.views.main_window import MainWindow

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
CACHED = 450


def _tickets(start: int, count: int) -> list[Ticket]:
    """Tickets ``start``..``start + count - 1``; a higher number is a later update."""
    return [
        Ticket(
            key=TicketKey("zendesk", str(n)),
            subject=f"Refund for order {n}",
            status=Status.OPEN,
            native_status="open",
            created_at=T0,
            updated_at=T0 + timedelta(minutes=n),
            requester=Person(name="王芳", email="wang.fang@example.cn"),
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def shown(qtbot: Any, tmp_path: Path) -> Iterator[tuple[Workstation, MainWindow, list[str]]]:
    """A shown window over a cache of CACHED tickets, and the SQL run on the loop's thread."""
    values = {s.key: s.default for s in SETTINGS}
    ws = Workstation(
        config=Config(values, {}, []),
        cache=open_cache(tmp_path / "c.sqlite3"),
        secrets=SecretStore(service="tabless-test"),
    )
    with ws.cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", _tickets(0, CACHED), [], None, T0, True)
    on_loop: list[str] = []
    loop_thread = threading.get_ident()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == loop_thread:
            on_loop.append(statement)

    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    qtbot.waitUntil(lambda: window.inbox_model.rowCount() == CACHED, timeout=10_000)
    event.listen(ws.cache.engine, "before_cursor_execute", record)
    yield ws, window, on_loop
    event.remove(ws.cache.engine, "before_cursor_execute", record)
    window.close()
    ws.close()


def _sync(ws: Workstation, start: int, count: int, batches: int) -> None:
    """Store ``count`` newer tickets in ``batches`` and announce each batch as the sync does."""
    size = count // batches
    for first in range(start, start + count, size):
        with ws.cache.engine.begin() as conn:
            ids = repo.store_pull(conn, "zendesk", _tickets(first, size), [], None, T0, True)
        ws.bus.publish(TicketsChanged("zendesk", tuple(ids)))


def test_a_sync_into_the_shown_inbox_inserts_rows_and_keeps_the_selection(
    shown: tuple[Workstation, MainWindow, list[str]], run_async: Any
) -> None:
    ws, window, on_loop = shown
    model = window.inbox_model
    window.inbox.selectRow(7)
    selected = window.current_ticket_id()
    assert selected is not None
    resets: list[None] = []
    inserted: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(None))
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    on_loop.clear()

    async def scenario() -> None:
        _sync(ws, CACHED, 300, batches=30)  # 30 events in one burst
        await eventually(lambda: model.rowCount() == CACHED + 300 and not window.refresh_due())

    run_async(scenario())
    assert resets == []  # rows were inserted, never a reset that loses selection and scroll
    assert inserted and all(first == 0 for first, _last in inserted)  # newer tickets on top
    assert len(inserted) <= 3  # 30 events coalesced into a few re-reads
    assert window.current_ticket_id() == selected
    assert window.inbox.currentIndex().row() == 7 + 300
    assert model.ticket_id(0) is not None and model.row(0).subject == "Refund for order 749"
    inbox_sql = [s for s in on_loop if "sort_key" in s or "count(*)" in s.lower()]
    assert inbox_sql == []  # counts and pages were read on the worker, not on the loop


def test_a_scrolled_inbox_keeps_its_rows_on_screen(
    shown: tuple[Workstation, MainWindow, list[str]], run_async: Any
) -> None:
    ws, window, _on_loop = shown
    model = window.inbox_model
    window.inbox.scrollTo(model.index(200, 0), window.inbox.ScrollHint.PositionAtTop)
    top = window.inbox.rowAt(0)
    assert top > 0
    looked_at = model.ticket_id(top)

    async def scenario() -> None:
        _sync(ws, CACHED, 40, batches=4)
        await eventually(lambda: model.rowCount() == CACHED + 40 and not window.refresh_due())

    run_async(scenario())
    assert model.ticket_id(window.inbox.rowAt(0)) == looked_at


def test_changes_below_the_screen_repaint_in_place_and_follow_the_selection(
    shown: tuple[Workstation, MainWindow, list[str]], run_async: Any
) -> None:
    ws, window, _on_loop = shown
    model = window.inbox_model
    window.inbox.selectRow(3)
    selected = window.current_ticket_id()
    resets: list[None] = []
    model.modelReset.connect(lambda: resets.append(None))
    # an update moves an old ticket (row 400) to the top: the rows above the selection shift
    # although the count does not change
    moved = model.ticket_id(400)
    assert moved is not None

    async def scenario() -> None:
        later = [
            Ticket(
                key=TicketKey("zendesk", str(CACHED - 1 - 400)),
                subject="Updated just now",
                status=Status.OPEN,
                native_status="open",
                created_at=T0,
                updated_at=T0 + timedelta(days=1),
                requester=Person(name="王芳", email="wang.fang@example.cn"),
            )
        ]
        with ws.cache.engine.begin() as conn:
            ids = repo.store_pull(conn, "zendesk", later, [], None, T0, True)
        assert ids == [moved]
        ws.bus.publish(TicketsChanged("zendesk", tuple(ids)))
        await eventually(lambda: model.ticket_id(0) == moved)

    run_async(scenario())
    assert resets == []
    assert model.rowCount() == CACHED
    assert window.current_ticket_id() == selected
    assert window.inbox.currentIndex().row() == 4
    assert model.row(0).subject == "Updated just now"
