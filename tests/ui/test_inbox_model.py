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


def test_the_due_column_shows_sla_due_times_where_the_system_has_them(  # type: ignore[no-untyped-def]
    qtmodeltester, tmp_path: Path
):
    from app.timeutil import to_iso_z, utcnow
    from ui.models.inbox import DUE_LEVELS, WAIT_LEVELS

    now = utcnow()

    def ticket(
        number: str, status: Status, due: timedelta | None, updated_ago: timedelta
    ) -> Ticket:
        return Ticket(
            key=TicketKey("fd", number),
            subject=f"退款 {number}",
            status=status,
            native_status=status.value,
            created_at=now - timedelta(days=2),
            updated_at=now - updated_ago,
            extra={"due_by": to_iso_z(now + due)} if due is not None else {},
        )

    cache = open_cache(tmp_path / "cache.sqlite3")
    with cache.engine.begin() as conn:
        repo.upsert_tickets(
            conn,
            [
                ticket("overdue", Status.OPEN, timedelta(hours=-2, minutes=-5), timedelta(hours=1)),
                ticket("soon", Status.PENDING, timedelta(minutes=40), timedelta(hours=2)),
                ticket("later", Status.OPEN, timedelta(hours=30), timedelta(hours=3)),
                ticket("no-sla", Status.OPEN, None, timedelta(hours=5)),
                ticket("solved", Status.SOLVED, timedelta(hours=-9), timedelta(hours=6)),
            ],
            now,
        )
    model = InboxModel(cache.engine, str)
    model.refresh()
    qtmodeltester.check(model)
    column = model.COLUMNS.index("waiting")
    assert model.headerData(column, Qt.Orientation.Horizontal) == "SLA"
    assert "overdue" in model.headerData(
        column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    shown = {
        model.row(r).external_id: (
            model.index(r, column).data(),
            model.index(r, column).data(Qt.ItemDataRole.BackgroundRole),
        )
        for r in range(model.rowCount())
    }
    assert set(shown) == {"overdue", "soon", "later", "no-sla", "solved"}, shown
    assert shown["overdue"] == ("overdue 2 h", DUE_LEVELS[0][1])
    assert shown["soon"] == ("due in 39 min", DUE_LEVELS[1][1])  # pending still has an SLA
    assert shown["later"] == ("due in 29 h", None)
    assert shown["no-sla"] == ("5 h", WAIT_LEVELS[1][1])  # no due time: how long it waited
    assert shown["solved"] == ("", None)  # done: neither
    cache.close()
