"""The customer panel in a real offscreen window: one person across systems, the masked phone
revealed only after the reveal is audited, and link / unlink decisions recorded and audited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.audit import signing
from app.audit.signature import SigningKey
from app.audit.verify import read_journal
from app.cache import open_cache
from app.cache.repo import upsert_tickets
from app.cache.schema import tickets
from app.config import SETTINGS, Config
from app.runtime import Workstation
from app.secrets import SecretStore
from tests.app.test_customers import SEEDED, T0
from tests.ui.test_workstation_window import eventually
from ui.customer_view import CustomerView
from ui.widgets.customer_panel import mask_phone


@pytest.fixture
def view(qtbot: Any, tmp_path: Path) -> Any:
    signing.use_key(SigningKey.generate())
    values = {s.key: s.default for s in SETTINGS}
    values["agent_name"] = "li.siyuan"
    ws = Workstation(
        config=Config(values, {}, []),
        cache=open_cache(tmp_path / "cache.sqlite3"),
        secrets=SecretStore(service="tabless-test"),
    )
    with ws.cache.engine.begin() as conn:
        upsert_tickets(conn, SEEDED, T0)
    widget = CustomerView(ws)
    widget.resize(520, 700)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    ws.writer.close()
    ws.close()
    signing.use_key(None)


def _ticket_id(view: Any, system: str, number: int) -> int:
    with view.ws.cache.engine.connect() as conn:
        return int(
            conn.execute(
                tickets.select()
                .with_only_columns(tickets.c.id)
                .where(tickets.c.system_id == system, tickets.c.external_id == str(number))
            ).scalar_one()
        )


async def _shown(view: Any, ticket_id: int) -> None:
    done = asyncio.Event()
    view.changed.connect(done.set)
    view.load(ticket_id)
    await asyncio.wait_for(done.wait(), 10)
    view.changed.disconnect(done.set)


def _rows(view: Any) -> list[tuple[str, str]]:
    tree = view.panel.tickets
    return [
        (tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(1))
        for i in range(tree.topLevelItemCount())
    ]


def test_panel_shows_the_customer_everywhere_and_audits_the_reveal(
    view: Any, run_async: Any, tmp_path: Path
) -> None:
    start = _ticket_id(view, "zendesk", 1)

    async def scenario() -> tuple[str, str]:
        await _shown(view, start)
        masked = view.panel.contact.text()
        view.panel.reveal_button.click()
        await asyncio.gather(*view.pending)
        return masked, view.panel.contact.text()

    masked, revealed = run_async(scenario())
    assert view.panel.name.text() == "王芳"
    assert len(_rows(view)) == 5
    assert {system for system, _ in _rows(view)} == {"zendesk", "osticket", "csv", "freshdesk"}
    assert "+86 138-0013-8000" not in masked and mask_phone("+86 138-0013-8000") in masked
    assert "+86 138-0013-8000" in revealed
    assert view.panel.qa.topLevelItemCount() == 1
    assert view.panel.qa.topLevelItem(0).text(0) == "92"
    view.grab().save(str(tmp_path / "customer.png"))
    with view.ws.cache.engine.connect() as conn:
        records, problem = read_journal(conn)
    assert problem is None
    assert [(r.action, r.after) for r in records] == [("field_revealed", {"field": "phone"})]
    assert records[0].system_id == "zendesk" and records[0].ticket_id == "1"


def test_unlink_then_link_change_what_the_panel_shows(view: Any, run_async: Any) -> None:
    start = _ticket_id(view, "zendesk", 1)
    opened: list[int] = []
    view.open_ticket.connect(opened.append)

    async def decided() -> None:
        done = asyncio.Event()
        view.changed.connect(done.set)
        await asyncio.gather(*view.pending)
        await asyncio.wait_for(done.wait(), 10)
        view.changed.disconnect(done.set)

    async def scenario() -> tuple[int, int, int]:
        await _shown(view, start)
        before = len(_rows(view))
        panel = view.panel
        row = next(
            i
            for i in range(panel.identities.count())
            if "fang@home.example" in panel.identities.item(i).text()
        )
        panel.identities.setCurrentRow(row)
        assert panel.unlink_button.isEnabled()
        panel.unlink_button.click()
        await decided()
        after_unlink = len(_rows(view))
        panel.link_edit.setText("FW@corp.example")
        assert panel.link_button.isEnabled()
        panel.link_button.click()
        await decided()
        return before, after_unlink, len(_rows(view))

    before, after_unlink, after_link = run_async(scenario())
    assert (before, after_unlink, after_link) == (5, 4, 5)
    assert ("rt", "rt #8") in _rows(view)
    view.panel.tickets.itemActivated.emit(view.panel.tickets.topLevelItem(0), 0)
    assert opened and opened[0] == _ticket_id(view, "rt", 8)
    with view.ws.cache.engine.connect() as conn:
        records, _problem = read_journal(conn)
    assert [r.action for r in records] == ["customer_unlinked", "customer_linked"]
    assert records[0].after["other"] == "email:fang@home.example"
    assert records[1].after["other"] == "email:fw@corp.example"


def test_the_window_follows_the_selection_and_opens_a_customer_ticket(
    workstation_window: Any, run_async: Any
) -> None:
    window, _translations = workstation_window
    ws = window.ws
    signing.use_key(SigningKey.generate())
    with ws.cache.engine.begin() as conn:
        upsert_tickets(conn, SEEDED, T0)
    window.refresh_views()
    model = window.inbox_model

    async def shown() -> None:
        done = asyncio.Event()
        window.customer.changed.connect(done.set)
        await asyncio.wait_for(done.wait(), 10)
        window.customer.changed.disconnect(done.set)

    async def scenario() -> tuple[str, int | None]:
        start = next(r for r in range(model.rowCount()) if model.index(r, 1).data() == "csv #3")
        window.inbox.selectRow(start)
        window.side.setCurrentWidget(window.customer)
        await shown()
        name = window.customer.panel.name.text()
        tree = window.customer.panel.tickets
        osticket = next(
            tree.topLevelItem(i)
            for i in range(tree.topLevelItemCount())
            if tree.topLevelItem(i).text(0) == "osticket"
        )
        tree.itemActivated.emit(osticket, 0)
        await eventually(  # the inbox switched to the customer's tickets and selected it
            lambda: (
                window.conversation.ticket and window.conversation.ticket.system_id == "osticket"
            ),
            10,
        )
        return name, window.current_ticket_id()

    name, current = run_async(scenario())
    signing.use_key(None)
    assert name == "王芳"
    assert window.conversation.ticket.external_id == "2"
    assert {model.index(r, 0).data() for r in range(model.rowCount())} >= {"osticket", "csv"}
    assert current is not None
