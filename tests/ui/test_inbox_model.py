"""The inbox and supervisor models over a real SQLite cache, checked by qtmodeltester."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt

from app.cache import open_cache, repo
from app.domain import Person, Status, Ticket, TicketKey
from ui.models.inbox import TICKET_ID_ROLE, InboxModel
from ui.models.queues import QueueStatsModel

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _tickets(system: str, count: int) -> list[Ticket]:
    return [
        Ticket(
            key=TicketKey(system, str(n)),
            subject=f"订单 {n} 申请退款" if n % 2 else f"Refund for order {n}",
            status=Status.NEW if n % 3 == 0 else Status.OPEN,
            native_status="open",
            created_at=T0 - timedelta(hours=n),
            updated_at=T0 + timedelta(minutes=n),
            requester=Person(name="王芳", email="wang.fang@example.cn"),
        )
        for n in range(count)
    ]


def test_inbox_model_lists_newest_first_and_passes_modeltester(qtmodeltester, tmp_path: Path):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", _tickets("zendesk", 450), [], None, T0, True)
        repo.store_pull(conn, "portal", _tickets("portal", 30), [], None, T0, True)
    model = InboxModel(cache.engine, lambda s: {"portal": "客户门户"}.get(s, s))
    model.refresh()
    qtmodeltester.check(model)
    assert model.rowCount() == 480
    top = model.index(0, 1).data()
    assert top == "Refund for order 448" or "449" in top  # the newest update first
    assert model.index(0, 0).data() == "zendesk"
    portal_row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "客户门户")
    assert model.index(portal_row, 2).data() == "王芳"
    assert isinstance(model.index(portal_row, 0).data(TICKET_ID_ROLE), int)
    bold = model.index(0, 1).data(Qt.ItemDataRole.FontRole)
    assert (bold is not None) == (model.index(0, 3).data() == "New")


def test_refresh_picks_up_new_tickets(qtmodeltester, tmp_path: Path):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "c.sqlite3")
    model = InboxModel(cache.engine, str)
    model.refresh()
    assert model.rowCount() == 0
    with cache.engine.begin() as conn:
        ids = repo.store_pull(conn, "zendesk", _tickets("zendesk", 5), [], None, T0, True)
    model.refresh(ids)
    qtmodeltester.check(model)
    assert model.rowCount() == 5


def test_queue_stats_model(qtmodeltester, tmp_path: Path):  # type: ignore[no-untyped-def]
    cache = open_cache(tmp_path / "c.sqlite3")
    with cache.engine.begin() as conn:
        repo.store_pull(conn, "zendesk", _tickets("zendesk", 9), [], None, T0, True)
    model = QueueStatsModel(cache.engine, str)
    model.refresh()
    qtmodeltester.check(model)
    assert model.totals() == (9, 9)
    counts = {model.index(r, 1).data(): model.index(r, 2).data() for r in range(model.rowCount())}
    assert counts == {"New": 3, "Open": 6}
