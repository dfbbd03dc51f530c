"""The workstation window over real stand-ins, a real keyring, a real cache and the backend.

The agent selects a ticket, types a reply, presses Send, sets a status — and we check the
stand-in's own HTTP API, the window, and the audit records that reached the backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from app.cache import open_cache, queries
from app.config import SETTINGS, Config, SystemEntry
from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY, Workstation
from app.secrets import SecretStore
from app.sync.health import Light
from backend.core.config import Settings
from backend.main import create_app
from sandbox.csv_export import CsvExportStandIn
from sandbox.zendesk import ZendeskStandIn
from ui.views.main_window import MainWindow

BACKEND_TOKEN = "ui-test-backend-token-5b2c"


def type_like_an_ime(widget: Any, text: str) -> None:
    """Commit ``text`` the way a Chinese input method does (QTest cannot type non-ASCII keys)."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    widget.setFocus()
    QApplication.sendEvent(widget, event)


async def act(action: Callable[..., Any], *args: Any) -> None:
    """Perform a UI action from the event loop itself, as a real click arrives — not nested
    inside a coroutine step (QTest spins events; nested task steps would confuse asyncio)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def run() -> None:
        try:
            action(*args)
            done.set_result(None)
        except Exception as exc:
            done.set_exception(exc)

    loop.call_soon(run)
    await done


async def eventually(condition: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """Let the loop run until ``condition()`` is truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s} s")


@pytest.fixture
def workstation(seed_tickets, serve, tmp_path: Path, real_keyring: str):  # type: ignore[no-untyped-def]
    zendesk = ZendeskStandIn(seed_tickets)
    zendesk_url = serve(zendesk.app)
    csv = CsvExportStandIn(seed_tickets, tmp_path / "exports")
    csv.write_initial()
    backend_url = serve(
        create_app(
            Settings(
                database_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}",
                bootstrap_token=BACKEND_TOKEN,  # type: ignore[arg-type]
            )
        )
    )
    secrets = SecretStore(service="tabless-test")
    systems: dict[str, SystemEntry] = {}
    for system_id, connection in (
        ("zendesk", zendesk.connection(zendesk_url)),
        ("csv", csv.connection(str(tmp_path / "exports"))),
    ):
        for key, value in connection["secrets"].items():
            secrets.set(system_id, key, value)
        systems[system_id] = SystemEntry(
            system_id,
            connection["adapter"],
            system_id.title(),
            connection["settings"],
            connection["naive_zone"],
        )
    secrets.set(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY, BACKEND_TOKEN)
    values = {s.key: s.default for s in SETTINGS} | {
        "backend_url": backend_url,
        "agent_name": "li.siyuan",
    }
    ws = Workstation(
        config=Config(values, systems, []),
        cache=open_cache(tmp_path / "cache.sqlite3"),
        secrets=secrets,
    )
    yield ws, zendesk, zendesk_url, backend_url
    ws.close()


def test_agent_replies_and_sets_status_through_the_window(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, zendesk, zendesk_url, backend_url = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> str:
        ws.start()
        assert await ws.sync.wait_first_sync(30) == {}
        window.refresh_views()
        model = window.inbox_model
        assert model.rowCount() == 200  # 140 Zendesk + 60 CSV tickets
        assert {window.lights[s].light for s in ("zendesk", "csv")} == {Light.GREEN}

        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Zendesk")
        window.inbox.selectRow(row)
        ticket_id = window.current_ticket_id()
        assert ticket_id is not None
        with ws.cache.engine.connect() as conn:
            external = queries.ticket(conn, ticket_id).external_id
        panel = window.conversation
        assert panel.send.isEnabled()
        await act(type_like_an_ime, panel.editor, "您好，退款已经处理，")
        await act(qtbot.keyClicks, panel.editor, "OK")
        await act(type_like_an_ime, panel.editor, "请查收。")
        await act(qtbot.mouseClick, panel.send, Qt.MouseButton.LeftButton)
        await eventually(lambda: panel.editor.toPlainText() == "")
        assert "您好，退款已经处理，OK请查收。" in panel.view.toPlainText()

        panel.status.setCurrentIndex(panel.status.findData("pending"))
        await act(qtbot.mouseClick, panel.apply_status, Qt.MouseButton.LeftButton)
        await eventually(
            lambda: (
                zendesk.comments_of(int(external))[-1]["body"] == "您好，退款已经处理，OK请查收。"
            )
        )
        await eventually(lambda: _remote_status(zendesk_url, zendesk, external) == "pending")
        await eventually(lambda: len(_audit(backend_url, external)) >= 4)
        await ws.stop()
        return external

    external = run_async(scenario())
    records = _audit(backend_url, external)
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("reply", "pending"),
        ("set_status", "pending"),
        ("reply", "delivered"),
        ("set_status", "delivered"),
    ] or sorted((r["action"], r["outcome"]) for r in records) == sorted(
        [
            ("reply", "pending"),
            ("set_status", "pending"),
            ("reply", "delivered"),
            ("set_status", "delivered"),
        ]
    )
    assert all(r["agent"] == "li.siyuan" and r["system_id"] == "zendesk" for r in records)


def test_read_only_system_disables_the_composer(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, _zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)

    async def scenario() -> None:
        ws.start()
        await ws.sync.wait_first_sync(30)
        window.refresh_views()
        model = window.inbox_model
        row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Csv")
        window.inbox.selectRow(row)
        await ws.stop()

    run_async(scenario())
    panel = window.conversation
    assert not panel.send.isEnabled() and not panel.apply_status.isEnabled()
    assert "read-only" in panel.notice.text()


def test_unreachable_system_turns_red_with_the_reason(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, zendesk, _url, _backend = workstation
    zendesk.plan.update({"down": True})
    window = MainWindow(ws)
    qtbot.addWidget(window)

    async def scenario() -> None:
        ws.start()
        coordinator = ws.sync.coordinators["zendesk"]
        await eventually(lambda: coordinator.health.consecutive_failures > 0, 30)
        await eventually(lambda: ws.sync.coordinators["csv"].first_sync.is_set())
        window.update_lights()
        await ws.stop()

    run_async(scenario())
    light = window.lights["zendesk"]
    assert light.light is Light.RED
    assert "503" in light.toolTip()
    assert window.lights["csv"].light is Light.GREEN


def test_supervisor_view_updates_while_sync_runs(qtbot, run_async, workstation):  # type: ignore[no-untyped-def]
    ws, zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentIndex(1)  # the supervisor's tab: counted while shown

    def zendesk_new() -> int:
        model = window.queue_model
        return sum(
            model.index(r, 2).data()
            for r in range(model.rowCount())
            if model.index(r, 0).data() == "Zendesk" and model.index(r, 1).data() == "New"
        )

    async def scenario() -> tuple[int, int]:
        ws.start()
        await ws.sync.wait_first_sync(30)
        with ws.cache.engine.connect() as conn:
            cached_new = sum(
                q.count
                for q in queries.queue_stats(conn)
                if q.system_id == "zendesk" and q.status == "new"
            )
            cached_rows = queries.ticket_count(conn)
        assert cached_new > 0
        # recounted from the sync's events (batches arrive one after another)
        await eventually(lambda: zendesk_new() == cached_new)
        before = zendesk_new()
        requester = zendesk.raw_ticket(zendesk.ticket_ids()[0])["requester_id"]
        zendesk.create_ticket("新的退款申请", "我要退款", requester)
        ws.sync.poke("zendesk")
        await eventually(lambda: zendesk_new() == before + 1)
        after = zendesk_new()
        # hidden (the agent is on the inbox), the view does not recount; shown, it catches up
        window.tabs.setCurrentIndex(0)
        zendesk.create_ticket("第二个退款申请", "还是退款", requester)
        ws.sync.poke("zendesk")
        await eventually(lambda: window.inbox_model.rowCount() == cached_rows + 2)
        # the re-read that showed the row asked the hidden view to recount: it only noted it
        supervisor = window.supervisor
        assert supervisor._stale and not supervisor._debounce.isActive()
        assert zendesk_new() == after
        window.tabs.setCurrentIndex(1)
        await eventually(lambda: zendesk_new() == after + 1)
        await ws.stop()
        return before, after

    before, after = run_async(scenario())
    assert after == before + 1
    assert "Open across all systems" in window.supervisor.summary.text()


def _remote_status(url: str, zendesk: ZendeskStandIn, external: str) -> str:
    token = httpx.post(
        f"{url}/oauth/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": zendesk.client_id,
            "client_secret": zendesk.client_secret,
        },
    ).json()["access_token"]
    ticket = httpx.get(
        f"{url}/api/v2/tickets/{external}.json", headers={"Authorization": f"Bearer {token}"}
    ).json()["ticket"]
    return str(ticket["status"])


def _audit(backend_url: str, external: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{backend_url}/api/v1/audit/records",
        params={"ticket_id": external, "limit": 100},
        headers={"Authorization": f"Bearer {BACKEND_TOKEN}"},
    )
    response.raise_for_status()
    body = response.json()
    return list(body["records"] if isinstance(body, dict) else body)
