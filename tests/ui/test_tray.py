"""Tray menu, do-not-disturb saved in the user's config, notifications shown in the window.

The offscreen platform has no system tray (``QSystemTrayIcon.isSystemTrayAvailable()`` is
False), so these tests see the in-window toast that replaces the tray balloon there.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon

from app.cache import repo
from app.domain import Person, Status, Ticket, TicketKey
from app.events import FirstSyncCompleted, TicketsChanged
from tests.ui.test_workstation_window import eventually

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _ticket(number: int, assignee: str = "agent") -> Ticket:
    return Ticket(
        key=TicketKey("zd", str(number)),
        subject=f"Refund for order {number}",
        status=Status.OPEN,
        native_status="open",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=number),
        requester=Person("Wang Fang", "wang.fang@example.cn"),
        assignee=Person(assignee),
    )


def _sync(window: Any, tickets: list[Ticket], *, first_done: bool = True) -> list[int]:
    """Store tickets as a sync page does (the notifier took its baseline: ``started``)."""
    ws = window.ws
    with ws.cache.engine.begin() as conn:
        ids = repo.store_pull(conn, "zd", tickets, [], "c", T0, True)
    ws.bus.publish(TicketsChanged("zd", tuple(ids)))
    if first_done:
        ws.bus.publish(FirstSyncCompleted("zd"))
    window.tray.notifier.drain()  # events are handled on the notifier's worker, in order
    return ids


def _started(window: Any, run_async: Any) -> None:
    """Let the loop run until the notifier has read its baseline (off the GUI thread)."""
    run_async(eventually(lambda: window.tray.notifier.started, 10))


def test_offscreen_has_no_tray_so_notifications_show_in_the_window(
    qtbot: Any, run_async: Any, workstation_window: Any
) -> None:
    window, _translations = workstation_window
    _started(window, run_async)
    window.show()
    tray = window.tray
    assert not QSystemTrayIcon.isSystemTrayAvailable() and not tray.tray_available
    assert [a.text() for a in tray.menu.actions() if a.text()] == [
        "Show or hide the window",
        "Do not disturb",
        "Quit Tabless",
    ]
    _sync(window, [_ticket(1, "someone.else")], first_done=True)  # the first sync: baseline
    _sync(window, [_ticket(2)])
    qtbot.waitUntil(lambda: bool(tray.shown), timeout=5000)  # after the coalescing delay
    assert tray.shown == [("Assigned to you", "Refund for order 2 — Wang Fang")]
    assert tray.toast.isVisible() and tray.toast.title.text() == "Assigned to you"
    window.grab().save(str(SHOTS / "notification-toast.png"))

    qtbot.mouseClick(tray.toast, Qt.MouseButton.LeftButton)  # opens the ticket
    assert not tray.toast.isVisible()
    assert window.conversation.ticket is not None
    assert window.conversation.ticket.subject == "Refund for order 2"


def test_a_burst_becomes_one_summary(qtbot: Any, run_async: Any, workstation_window: Any) -> None:
    window, _translations = workstation_window
    _started(window, run_async)
    _sync(window, [], first_done=True)
    _sync(window, [_ticket(n) for n in range(10, 40)])
    qtbot.waitUntil(lambda: bool(window.tray.shown), timeout=5000)
    assert window.tray.shown == [("Tabless: several updates", "30 newly assigned")]


def test_do_not_disturb_silences_and_is_saved(
    qtbot: Any, run_async: Any, workstation_window: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TABLESS_HOME", str(tmp_path / "home"))
    window, _translations = workstation_window
    _started(window, run_async)
    tray = window.tray
    user_file = tmp_path / "home" / "config" / "config.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text('[settings]\nagent_name = "王芳"\n\n[systems.zd]\nadapter = "zendesk"\n')
    tray.dnd_action.trigger()  # the menu entry
    assert tray.dnd and window.ws.config.get("notify_dnd") is True
    saved = tomllib.loads((tmp_path / "home" / "config" / "config.toml").read_text("utf-8"))
    assert saved["settings"]["notify_dnd"] is True
    assert (
        saved["settings"]["agent_name"] == "王芳" and saved["systems"]["zd"]["adapter"] == "zendesk"
    )
    _sync(window, [], first_done=True)
    _sync(window, [_ticket(5)])
    assert tray.flush() == [] and tray.notifier.missed == 1
    assert not tray.toast.isVisible()
    tray.dnd_action.trigger()
    saved = tomllib.loads((tmp_path / "home" / "config" / "config.toml").read_text("utf-8"))
    assert saved["settings"]["notify_dnd"] is False
    _sync(window, [_ticket(6)])
    assert [text for _title, text in tray.flush()] == ["Refund for order 6 — Wang Fang"]


def test_show_hide_from_the_tray_menu(qtbot: Any, workstation_window: Any) -> None:
    window, _translations = workstation_window
    window.show()
    window.tray.show_hide.trigger()
    assert not window.isVisible()
    window.tray.show_hide.trigger()
    assert window.isVisible()


def test_tray_and_notifications_in_chinese(
    qtbot: Any, run_async: Any, workstation_window: Any
) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    window, translations = workstation_window
    _started(window, run_async)
    # windows of earlier tests are closed but not yet deleted: let them go before the switch
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert translations.install("zh_CN") == "zh_CN"
    QCoreApplication.processEvents()
    assert window.tray.dnd_action.text() == "勿扰模式"
    _sync(window, [], first_done=True)
    _sync(window, [_ticket(7)])
    assert window.tray.flush() == [("已分配给您", "Refund for order 7 — Wang Fang")]
    assert translations.install("en") == "en"  # back while the window is alive
    QCoreApplication.processEvents()
    assert window.tray.dnd_action.text() == "Do not disturb"
