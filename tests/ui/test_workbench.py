"""The agent's workstation, driven like an agent drives it: keys and clicks over real systems.

Real Zendesk stand-in + CSV export, real keyring, real cache, real backend (the ``workstation``
fixture of ``test_workstation_window``).
"""

# ruff: noqa: F811  (the imported ``workstation`` fixture is requested by name)
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from sqlalchemy import select

from app.cache import drafts, open_cache, queries, search
from app.cache.schema import tickets
from app.runtime import Workstation
from tests.ui.test_workstation_window import (  # noqa: F401  (the fixture is used by name)
    _remote_status,
    act,
    eventually,
    type_like_an_ime,
    workstation,
)
from ui import canned
from ui.views.main_window import MainWindow
from ui.widgets.commands import fuzzy_score

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _customer_in_two_systems(ws: Workstation) -> tuple[str, set[int], int]:
    """A customer with tickets in Zendesk and the CSV export; their ids; one Zendesk ticket."""
    with ws.cache.engine.connect() as conn:
        rows = list(
            conn.execute(
                select(
                    tickets.c.id, tickets.c.system_id, tickets.c.requester_email, tickets.c.status
                )
            )
        )
    systems: dict[str, set[str]] = {}
    open_in_zendesk: dict[str, int] = {}  # Zendesk refuses changes to closed tickets (422)
    for ticket_id, system, email, status in rows:
        systems.setdefault(email, set()).add(system)
        if system == "zendesk" and status != "closed":
            open_in_zendesk[email] = ticket_id
    email = sorted(
        e for e, s in systems.items() if s == {"zendesk", "csv"} and e in open_in_zendesk
    )[0]
    ids = {i for i, _s, e, _st in rows if e == email}
    zendesk_id = open_in_zendesk[email]
    return email, ids, zendesk_id


def _words(text: str) -> list[str]:
    return text.split()


def _click_row(qtbot: Any, window: MainWindow, position: int) -> Any:
    index = window.inbox_model.index(position, 1)
    window.inbox.scrollTo(index)
    center: QPoint = window.inbox.visualRect(index).center()
    return act(
        qtbot.mouseClick,
        window.inbox.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        center,
    )


def test_customer_across_systems_answered_with_a_canned_macro_in_five_inputs(  # type: ignore[no-untyped-def]
    qtbot, run_async, workstation
):
    ws, zendesk, zendesk_url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    inputs: list[str] = []

    async def scenario() -> tuple[str, str]:
        ws.start()
        assert await ws.sync.wait_first_sync(30) == {}
        window.refresh_views()
        model = window.inbox_model
        _email, ids, zendesk_id = _customer_in_two_systems(ws)
        start = next(i for i in ids if i != zendesk_id)
        await _click_row(qtbot, window, model.position_of(start))  # 1: a ticket of the customer
        inputs.append("click ticket")
        await act(qtbot.keyClick, window.inbox, Qt.Key.Key_F, CTRL_SHIFT)  # 2: all their tickets
        inputs.append("Ctrl+Shift+F")
        await eventually(lambda: model.view.ticket_ids is not None)
        listed = {model.ticket_id(r) for r in range(model.rowCount())}
        assert listed == ids  # every system, nothing else
        assert {model.index(r, 0).data() for r in range(model.rowCount())} == {"Zendesk", "Csv"}
        await _click_row(qtbot, window, model.position_of(zendesk_id))  # 3: the Zendesk one
        inputs.append("click Zendesk ticket")
        assert window.current_ticket_id() == zendesk_id
        panel = window.conversation
        ws.config.values["agent_email"] = "siyuan.li@support.example.com"  # Zendesk's agent
        await act(qtbot.keyClick, window.inbox, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
        inputs.append("Alt+2")  # 4: "Refund processed": reply + pending + tag + assign to me
        text = panel.editor.toPlainText()
        external = panel.ticket.external_id
        assert f"#{external}" in text and "{{" not in text
        assert panel.ticket.requester_name in text
        assert panel.macro_status == "pending"
        assert panel.macro_label.text() == "then: Pending · tags: refund · assign to me"
        panel.grab().save(str(SHOTS / "composer-macro.png"))
        await act(
            qtbot.keyClick, panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
        inputs.append("Ctrl+Enter")  # 5: send
        await eventually(lambda: panel.editor.toPlainText() == "", 5)  # recorded
        await eventually(
            lambda: _words(zendesk.comments_of(int(external))[-1]["body"]) == _words(text)
        )
        await eventually(lambda: _remote_status(zendesk_url, zendesk, external) == "pending")
        await eventually(lambda: "refund" in zendesk.raw_ticket(int(external))["tags"])

        def delivered() -> list[tuple[str, str]]:
            with ws.cache.engine.connect() as conn:
                rows = queries.pending_actions(conn, zendesk_id)
            return [(str(r.kind), str(r.state)) for r in rows]

        # the macro's steps, each its own action, delivered in order after the reply
        await eventually(lambda: {state for _kind, state in delivered()} == {"sent"})
        assert [kind for kind, _state in delivered()] == [
            "reply",
            "set_status",
            "set_tags",
            "assign",
        ]
        remote = zendesk.raw_ticket(int(external))
        assert zendesk._users[remote["assignee_id"]]["email"] == "siyuan.li@support.example.com"
        await ws.stop()
        return external, text

    run_async(scenario())
    assert len(inputs) == 5 <= 8, inputs


def test_draft_is_saved_and_restored_after_a_restart(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, _zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)

    async def scenario() -> int:
        ws.start()
        await ws.sync.wait_first_sync(30)
        window.refresh_views()
        model = window.inbox_model
        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Zendesk")
        window.inbox.selectRow(row)
        ticket_id = window.current_ticket_id()
        assert ticket_id is not None
        await act(type_like_an_ime, window.conversation.editor, "草稿：退款正在处理")

        def saved() -> Any:
            with ws.cache.engine.connect() as conn:
                return drafts.load(conn, ticket_id)

        draft = await eventually(saved)
        assert draft.body == "草稿：退款正在处理" and draft.public
        await ws.stop()
        return ticket_id

    ticket_id = run_async(scenario())
    window.close()
    again = Workstation(config=ws.config, cache=open_cache(ws.cache.path), secrets=ws.secrets)
    reopened = MainWindow(again)
    qtbot.addWidget(reopened)
    reopened.refresh_views()
    reopened.inbox.selectRow(reopened.inbox_model.position_of(ticket_id))
    assert reopened.conversation.editor.toPlainText() == "草稿：退款正在处理"
    reopened.close()
    again.close()


def test_views_count_live_and_search_as_you_type_lists_the_matches(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, _zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    pane = window.views_pane

    async def scenario() -> None:
        ws.start()
        await ws.sync.wait_first_sync(30)
        await eventually(lambda: pane.count_of("all") == 200)
        assert pane.count_of("system:zendesk") == 140 and pane.count_of("system:csv") == 60
        assert pane.count_of("open") is not None and pane.count_of("open") <= 200
        assert pane.select("system:csv")
        assert window.inbox_model.rowCount() == 60
        assert pane.select("all")
        await act(qtbot.keyClicks, window.search, "re")  # superseded while typing
        await act(window.search.setText, "")
        await act(type_like_an_ime, window.search, "退款")
        await eventually(lambda: window.highlighter.query == "退款")
        with ws.cache.engine.connect() as conn:
            hits = search.search(conn, "退款", limit=500, prefix_last=True).hits
        expected = {hit.ticket_id for hit in hits}
        model = window.inbox_model
        assert expected and {model.ticket_id(r) for r in range(model.rowCount())} == expected
        await act(window.search.clear)
        await eventually(lambda: model.rowCount() == 200)
        await ws.stop()

    run_async(scenario())


def test_a_system_connected_while_running_gets_its_view_and_loses_it_when_removed(  # type: ignore[no-untyped-def]
    qtbot, workstation_window
):
    from app.config import SystemEntry

    window, _translations = workstation_window
    pane = window.views_pane
    assert not pane.select("system:helpdesk")
    window.ws.config.systems["helpdesk"] = SystemEntry("helpdesk", "csv", "内部工单 Helpdesk")
    window._system_changed("helpdesk")  # what the Accounts dialog's systems_changed calls
    assert pane.select("system:helpdesk")
    assert pane.tree.currentItem().text(0).startswith("内部工单 Helpdesk")
    assert "helpdesk" in window.lights
    del window.ws.config.systems["helpdesk"]
    window._system_changed("helpdesk")  # removed, and none of its tickets are cached
    assert not pane.select("system:helpdesk") and "helpdesk" not in window.lights


def test_palette_reaches_actions_and_the_cheat_sheet_lists_shortcuts(qtbot, workstation_window):  # type: ignore[no-untyped-def]
    window, _translations = workstation_window
    palette = window.open_palette()
    qtbot.keyClicks(palette.query, "pend")
    assert palette.matches()[0] == "Set status: Pending"
    qtbot.keyClicks(palette.query, "xyzq")
    assert palette.matches() == []
    palette.query.setText("zzz")
    assert palette.matches() == []
    palette.query.setText("keyboard")
    assert palette.matches()[0] == "Keyboard shortcuts"
    palette.reject()
    sheet = window.open_cheat_sheet()
    shown = {
        sheet.table.item(r, 0).text(): sheet.table.item(r, 1).text()
        for r in range(sheet.table.rowCount())
    }
    assert "F1" in shown["Keyboard shortcuts"] and "Ctrl+K" in shown["Command palette"]
    assert shown["Search"] and shown["Next unread ticket"] == "Ctrl+U"
    sheet.reject()
    assert fuzzy_score("sp", "Set status: Pending") is not None
    assert fuzzy_score("sp", "Set status: Pending") > fuzzy_score("sp", "Show the supervisor view")


def test_canned_variables_are_filled_and_unknown_ones_kept(qapp) -> None:  # type: ignore[no-untyped-def]
    class Row:
        requester_name = "王芳"
        requester_email = "wang.fang@example.cn"
        external_id = "4711"
        subject = "退款"

    text = canned.render(
        "{{customer.name}} #{{ticket.id}} {{agent.name}} {{ticket.due}}", Row(), "li"
    )
    assert text == "王芳 #4711 li {{ticket.due}}"
