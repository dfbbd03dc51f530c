"""The audit viewer against a real backend: filters, the table, a formula-safe CSV export."""

# ruff: noqa: F811  (the imported ``workstation`` fixture is requested by name)
from __future__ import annotations

import csv
from pathlib import Path

from app.actions import ChangeStatus
from app.audit.verify import read_journal
from app.domain import Status
from tests.ui.test_workstation_window import eventually, workstation  # noqa: F401
from ui.views.audit_viewer import escape_cell, write_csv
from ui.views.main_window import MainWindow


def test_filter_by_ticket_and_action_then_export(qtbot, run_async, workstation, tmp_path: Path):  # type: ignore[no-untyped-def]
    ws, _zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)

    async def scenario() -> tuple[str, list[dict[str, str]]]:
        ws.start()
        await ws.sync.wait_first_sync(30)
        window.refresh_views()
        model = window.inbox_model
        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Zendesk")
        ticket = window.inbox_model.row(row)
        await ws.actions.submit(ChangeStatus(ticket.id, Status.PENDING))
        viewer = window.open_audit_log()
        viewer.ticket.setText(ticket.external_id)
        viewer.action.setText("set_status")
        viewer.use_since.setChecked(True)  # the last seven days

        async def delivered() -> bool:
            await viewer.run_search()
            return any(r["outcome"] == "delivered" for r in viewer.records)

        for _ in range(100):
            if await delivered():
                break
        shown = [
            [viewer.table.item(r, c).text() for c in range(viewer.table.columnCount())]
            for r in range(viewer.table.rowCount())
        ]
        await viewer.export_to(tmp_path / "shown.csv")  # the export is itself audited
        await ws.stop()
        return ticket.external_id, [
            dict(zip(("when", "agent", "system", "ticket", "action", "outcome"), s, strict=True))
            for s in shown
        ]

    external, shown = run_async(scenario())
    assert {(r["ticket"], r["action"], r["agent"], r["system"]) for r in shown} == {
        (external, "set_status", "li.siyuan", "zendesk")
    }
    assert {r["outcome"] for r in shown} >= {"pending", "delivered"}
    with ws.cache.engine.connect() as conn:
        journal, problem = read_journal(conn)
    assert problem is None
    exports = [r for r in journal if r.action == "export"]
    assert [r.after for r in exports] == [
        {"what": "audit_records", "format": "csv", "rows": len(shown)}
    ]
    assert (tmp_path / "shown.csv").read_text(encoding="utf-8-sig").count("set_status") == len(
        shown
    )
    path = tmp_path / "audit.csv"
    write_csv(
        path,
        [
            {
                "agent": '=HYPERLINK("http://x")',
                "ticket_id": "+1",
                "action": "@SUM(A1)",
                "outcome": "-2",
                "system_id": "\tz",
                "occurred_at": "\rnow",
            }
        ],
    )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == ["'\rnow", '\'=HYPERLINK("http://x")', "'\tz", "'+1", "'@SUM(A1)", "'-2"]


def test_escape_cell_leaves_ordinary_text_alone() -> None:
    assert (
        escape_cell("退款 -ok") == "退款 -ok" and escape_cell(None) == "" and escape_cell(3) == "3"
    )
    assert escape_cell("-3") == "'-3"
