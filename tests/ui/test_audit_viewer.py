"""The audit viewer against a real backend: filters, the table, an export that needs the agent's
second factor and comes back formula-safe from the backend."""

# ruff: noqa: F811  (the imported ``workstation`` fixture is requested by name)
from __future__ import annotations

import csv
from pathlib import Path

from app.actions import ChangeStatus
from app.audit.verify import read_journal
from app.domain import Status
from tests.ui.test_bulk import enrol_totp
from tests.ui.test_workstation_window import eventually, workstation  # noqa: F401
from ui.views.main_window import MainWindow

COLUMNS = ("when", "agent", "system", "ticket", "action", "outcome")


def test_filter_by_ticket_and_action_then_export_with_a_step_up(  # type: ignore[no-untyped-def]
    qtbot, run_async, workstation, tmp_path: Path
):
    ws, _zendesk, _url, backend_url = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    target = tmp_path / "shown.csv"

    async def scenario() -> tuple[str, list[dict[str, str]], str]:
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
        # exporting customer data asks for the second factor; a wrong code writes nothing
        totp = enrol_totp(backend_url)
        prompt = viewer.request_export(target)
        assert prompt is not None and prompt.isVisible()
        assert f"{len(shown)} audit records" in prompt.explain.text()
        prompt.code.setText("000000" if totp.now() != "000000" else "111111")
        prompt.buttons.button(prompt.buttons.StandardButton.Ok).click()
        await eventually(lambda: prompt.error.text().startswith("Not accepted"), 60)
        assert not target.exists() and not list(tmp_path.glob(".shown.csv*"))  # noqa: ASYNC240
        prompt.code.setText(totp.now())
        prompt.buttons.button(prompt.buttons.StandardButton.Ok).click()
        await eventually(lambda: viewer.status.text().startswith("Exported"), 60)
        status = viewer.status.text()
        await ws.stop()
        return (
            ticket.external_id,
            [dict(zip(COLUMNS, s, strict=True)) for s in shown],
            status,
        )

    external, shown, status = run_async(scenario())
    assert {(r["ticket"], r["action"], r["agent"], r["system"]) for r in shown} == {
        (external, "set_status", "li.siyuan", "zendesk")
    }
    assert {r["outcome"] for r in shown} >= {"pending", "delivered"}
    assert status == f"Exported {len(shown)} records to shown.csv"
    with target.open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert {(r["ticket_id"], r["action"]) for r in exported} == {(external, "set_status")}
    assert len(exported) == len(shown)
    with ws.cache.engine.connect() as conn:
        journal, problem = read_journal(conn)
    assert problem is None
    exports = [r for r in journal if r.action == "export"]
    assert [r.after for r in exports] == [
        {"what": "audit_records", "format": "csv", "rows": len(shown)}
    ]
    step_ups = [r for r in journal if r.action == "step_up"]
    assert len(step_ups) == 1 and step_ups[0].after["operation"] == "export_customer_data"
    assert "ticket_id=" + external in step_ups[0].after["used_for"]
