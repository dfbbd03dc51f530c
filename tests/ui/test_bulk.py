"""Bulk actions over the real Zendesk and CSV stand-ins, the real backend's step-up and outbox.

Several tickets selected → one bulk command → one outbox action per ticket (audited), with a
non-blocking progress dialog, cancel, and Undo that re-enqueues the previous statuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pyotp
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from sqlalchemy import func, select

from app.cache import queries
from app.cache.schema import audit_log, outbox, tickets
from tests.ui.test_workstation_window import (  # noqa: F401 - the fixture
    BACKEND_TOKEN,
    _remote_status,
    eventually,
    workstation,
)
from ui.views.main_window import MainWindow

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _select(window: Any, system_title: str, count: int) -> list[int]:
    """Add ``count`` open or pending rows of one system to the inbox selection (Ctrl+click
    style; Zendesk refuses any change to a closed ticket)."""
    model = window.inbox_model
    rows = [
        r
        for r in range(model.rowCount())
        if model.index(r, 0).data() == system_title
        and str(model.row(r).status) in ("open", "pending")
    ]
    selection = QItemSelection()
    for row in rows[:count]:
        selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
    window.inbox.selectionModel().select(
        selection, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    )
    return [model.ticket_id(r) for r in rows[:count]]


def _statuses(ws: Any, ids: list[int]) -> dict[int, str]:
    with ws.cache.engine.connect() as conn:
        rows = conn.execute(select(tickets.c.id, tickets.c.status).where(tickets.c.id.in_(ids)))
        return {int(r.id): str(r.status) for r in rows}


def _outbox(ws: Any) -> int:
    with ws.cache.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(outbox)) or 0)


def enrol_totp(backend_url: str) -> pyotp.TOTP:
    """The agent enrols a second factor with the real backend (what the authenticator holds)."""
    enrolled = httpx.post(
        f"{backend_url}/api/v1/step-up/totp/enrol",
        headers={"Authorization": f"Bearer {BACKEND_TOKEN}"},
    )
    enrolled.raise_for_status()
    return pyotp.TOTP(enrolled.json()["secret"])


def test_bulk_status_with_progress_undo_and_a_step_up_for_close(
    qtbot: Any,
    run_async: Any,
    workstation: Any,  # noqa: F811 - the imported fixture
) -> None:
    ws, zendesk, zendesk_url, backend_url = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.resize(1360, 800)
    window.show()
    results: list[Any] = []
    window.bulk.finished.connect(results.append)

    async def scenario() -> None:
        ws.start()
        assert await ws.sync.wait_first_sync(30) == {}
        window.refresh_views()
        assert window.inbox.selectionMode() == window.inbox.SelectionMode.ExtendedSelection
        zd = _select(window, "Zendesk", 5)
        csv = _select(window, "Csv", 2)
        assert sorted(window.selected_ticket_ids()) == sorted(zd + csv)
        before = _statuses(ws, zd)
        menu = window.bulk.offer()
        texts = {a.text(): a for a in menu.actions()}
        assert texts["Close selected (7)"].isEnabled()
        status_menu = texts["Set status"].menu()
        solved = next(a for a in status_menu.actions() if a.text() == "Solved")
        assign = texts["Assign to me"]
        assert not assign.isEnabled() and "agent_email" in assign.toolTip()  # who is "me"?
        menu.close()

        solved.trigger()  # one bulk command
        progress = window.bulk.progress
        assert progress.windowModality() == Qt.WindowModality.NonModal  # never blocks
        assert progress.maximum() == 7
        await eventually(lambda: results, 60)
        result = results.pop()
        assert sorted(t for t, _ in result.done) == sorted(zd)
        assert sorted(result.skipped) == sorted(csv)  # the CSV export is read-only
        assert progress.value() == 7
        assert _outbox(ws) == 5  # one outbox action per ticket, nothing bypassed
        assert set(_statuses(ws, zd).values()) == {"solved"}
        toast = window.bulk.toast
        assert toast.isVisible() and toast.button.text() == "Undo"
        assert "5 done" in toast.text.text() and "2 skipped" in toast.text.text()
        window.refresh_views()
        window.grab().save(str(SHOTS / "bulk-undo.png"))
        externals = {}
        with ws.cache.engine.connect() as conn:
            for ticket_id in zd:
                externals[ticket_id] = conn.scalar(
                    select(tickets.c.external_id).where(tickets.c.id == ticket_id)
                )
        await eventually(
            lambda: all(
                _remote_status(zendesk_url, zendesk, e) == "solved" for e in externals.values()
            ),
            60,
        )

        toast.button.click()  # Undo: the previous statuses, re-enqueued
        await eventually(lambda: results, 60)
        assert len(results.pop().done) == 5
        assert _outbox(ws) == 10
        assert _statuses(ws, zd) == before
        await eventually(
            lambda: all(
                _remote_status(zendesk_url, zendesk, externals[t]) == before[t] for t in zd
            ),
            60,
        )

        # closing several at once needs the second factor, checked by the backend
        totp = enrol_totp(backend_url)
        window.set_status_of_selection("closed")
        prompt = window.step_up_prompt
        assert prompt.isVisible() and "7 tickets" in prompt.explain.text()
        prompt.code.setText("000000" if totp.now() != "000000" else "111111")
        prompt.buttons.button(prompt.buttons.StandardButton.Ok).click()
        await eventually(lambda: prompt.error.text().startswith("Not accepted"), 60)
        assert prompt.isVisible() and _outbox(ws) == 10
        prompt.grab().save(str(SHOTS / "stepup-prompt.png"))
        prompt.code.setText(totp.now())
        prompt.buttons.button(prompt.buttons.StandardButton.Ok).click()
        await eventually(lambda: results, 60)
        assert not prompt.isVisible()
        assert sorted(t for t, _ in results.pop().done) == sorted(zd)
        assert set(_statuses(ws, zd).values()) == {"closed"} and _outbox(ws) == 15
        with ws.cache.engine.connect() as conn:
            records = [str(r) for r in conn.scalars(select(audit_log.c.record))]
        step_ups = [r for r in records if "step_up" in r]
        assert len(step_ups) == 1 and "bulk close of 7 tickets" in step_ups[0]

        # cancel stops before the next ticket: nothing further is recorded
        window.bulk.set_status(zd, "open")
        window.bulk.cancel()
        await eventually(lambda: results, 60)
        cancelled = results.pop()
        assert cancelled.cancelled and cancelled.done == [] and _outbox(ws) == 15

        # assign to me: one Assign action per ticket of a system that allows it
        ws.config.values["agent_email"] = "li.siyuan@example.com"
        with ws.cache.engine.connect() as conn:
            owners_before = queries.assignees(conn, zd)
        menu = window.bulk.offer()
        assign = next(a for a in menu.actions() if a.text() == "Assign to me")
        assert assign.isEnabled()
        assign.trigger()
        await eventually(lambda: results, 60)
        assigned = results.pop()
        assert sorted(t for t, _ in assigned.done) == sorted(zd)
        assert sorted(assigned.skipped) == sorted(csv) and _outbox(ws) == 20
        with ws.cache.engine.connect() as conn:
            assert {p.email for p in queries.assignees(conn, zd).values() if p} == {
                "li.siyuan@example.com"
            }
        # Undo gives each ticket back to whoever had it (or unassigns it)
        toast = window.bulk.toast
        assert toast.isVisible() and toast.button.text() == "Undo"
        toast.button.click()
        await eventually(lambda: results, 60)
        undone = results.pop()
        assert sorted(t for t, _ in undone.done) == sorted(zd) and _outbox(ws) == 20 + len(zd)
        with ws.cache.engine.connect() as conn:
            assert queries.assignees(conn, zd) == owners_before
        assert toast.button.isHidden() or toast.button.text() != "Undo"  # no undo of an undo
        await ws.stop()

    run_async(scenario())


def test_bulk_close_is_refused_without_a_step_up_service(
    qtbot: Any, workstation_window: Any
) -> None:
    from datetime import UTC, datetime

    from app.cache import repo
    from app.domain import Status, Ticket, TicketKey

    window, _translations = workstation_window
    now = datetime(2026, 12, 3, tzinfo=UTC)
    with window.ws.cache.engine.begin() as conn:
        ids = repo.store_pull(
            conn,
            "zd",
            [Ticket(TicketKey("zd", str(n)), "s", Status.OPEN, "open", now, now) for n in (1, 2)],
            [],
            "c",
            now,
            True,
        )
    window.bulk.set_status(ids, "closed")
    assert window.banner.summary.text() == "Bulk close needs a second factor."
    assert not window.bulk.running and _outbox(window.ws) == 0
