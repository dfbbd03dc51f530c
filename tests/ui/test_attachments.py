"""Attachments over the real RT stand-in: listed, fetched only when asked, never executed."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from sqlalchemy import select, update

from app.cache import open_cache
from app.cache.schema import messages, tickets
from app.cache.views import ViewFilter
from app.config import SETTINGS, Config, SystemEntry
from app.domain import Attachment, RemoteError
from app.runtime import Workstation
from app.secrets import SecretStore
from sandbox.rt import RtStandIn
from tests.ui.test_workstation_window import eventually
from ui.views.main_window import MainWindow
from ui.widgets.attachments import is_executable, safe_filename

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
JPEG = b"\xff\xd8\xff\xe0JFIF"  # what the stand-in serves for its photos


def _read(path: Path) -> bytes:
    return path.read_bytes()


class Viewer(QObject):
    """Stands where the desktop's file viewer would be (``QDesktopServices.setUrlHandler``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def show(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def rt_window(seed_tickets, serve, tmp_path: Path, real_keyring: str, qtbot):  # type: ignore[no-untyped-def]
    rt = RtStandIn(seed_tickets)
    connection = rt.connection(serve(rt.app))
    secrets = SecretStore(service="tabless-test")
    for key, value in connection["secrets"].items():
        secrets.set("rt", key, value)
    entry = SystemEntry("rt", "rt", "RT", connection["settings"], connection["naive_zone"])
    ws = Workstation(
        config=Config({s.key: s.default for s in SETTINGS}, {"rt": entry}, []),
        cache=open_cache(tmp_path / "cache.sqlite3"),
        secrets=secrets,
    )
    window = MainWindow(ws)
    window.attachment_handler.open_folder = tmp_path / "open"
    qtbot.addWidget(window)
    viewer = Viewer()
    QDesktopServices.setUrlHandler("file", viewer, "show")
    yield window, viewer
    QDesktopServices.unsetUrlHandler("file")
    ws.close()


def _message_with_file(window: Any) -> tuple[int, int]:
    with window.ws.cache.engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.id, messages.c.ticket_id, messages.c.attachments)
            .join(tickets, tickets.c.id == messages.c.ticket_id)
            .where(tickets.c.system_id == "rt")
            .order_by(messages.c.id)
        ).all()
    row = next((r for r in rows if r.attachments), None)
    assert row is not None, "the stand-in's data set has photos attached"
    return int(row.id), int(row.ticket_id)


def test_save_and_open_on_request_and_refuse_programs(
    qtbot: Any, run_async: Any, rt_window: Any, tmp_path: Path
) -> None:
    window, viewer = rt_window
    handler = window.attachment_handler
    panel = window.conversation
    refused: list[str] = []
    handler.refused.connect(refused.append)
    window.resize(1360, 800)
    window.show()

    async def scenario() -> None:
        window.ws.start()
        assert await window.ws.sync.wait_first_sync(30) == {}
        message_id, ticket_id = _message_with_file(window)
        window.inbox_model.set_view(ViewFilter(ticket_ids=(ticket_id,)))
        window.inbox.selectRow(0)
        assert panel.ticket.id == ticket_id
        assert f"attachment:{message_id}/0" in panel.view.toHtml()
        assert "破损照片.jpg" in panel.view.toPlainText()
        assert "image/jpeg" in panel.view.toPlainText()
        assert viewer.urls == []  # listed, not fetched or opened

        panel.view.anchorClicked.emit(QUrl(f"attachment:{message_id}/0"))  # the agent clicks
        menu = handler.menu
        assert [(a.text(), a.isEnabled()) for a in menu.actions()] == [
            ("Save as…", True),
            ("Open", True),
        ]
        menu.close()
        system_id, attachment = handler._meta(message_id, 0)
        # Save as, given a hostile path: the name is sanitised, the folder kept
        await handler.save(system_id, attachment, tmp_path / "dl" / "..\\..\\破损照片.jpg")
        saved = tmp_path / "dl" / "破损照片.jpg"
        await eventually(saved.exists)
        assert _read(saved) == JPEG
        assert not saved.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        # Open: into the private folder, then the desktop's viewer
        await handler.open(system_id, attachment)
        await eventually(lambda: viewer.urls)
        opened = Path(viewer.urls[0].toLocalFile())
        assert opened.parent == tmp_path / "open" and _read(opened) == JPEG

        # the system also lists a program: it is never opened
        with window.ws.cache.engine.begin() as conn:
            files = list(
                conn.scalar(select(messages.c.attachments).where(messages.c.id == message_id))
            )
            files.append({"filename": "invoice.pdf.exe", "content_type": None, "size": 73_728})
            conn.execute(
                update(messages).where(messages.c.id == message_id).values(attachments=files)
            )
        window.show_current()
        panel.view.anchorClicked.emit(QUrl(f"attachment:{message_id}/1"))
        actions = {a.text(): a for a in handler.menu.actions()}
        assert not actions["Open"].isEnabled() and actions["Save as…"].isEnabled()
        assert "never opens or runs" in actions["Open"].toolTip()
        handler.menu.close()
        _system, program = handler._meta(message_id, 1)
        assert handler.open(system_id, program) is None
        assert refused and "invoice.pdf.exe" in refused[-1]
        assert "never opens or runs" in window.statusBar().currentMessage()
        assert len(viewer.urls) == 1 and sorted(p.name for p in (tmp_path / "open").iterdir()) == [
            "破损照片.jpg"
        ]
        window.grab().save(str(SHOTS / "attachments-refused.png"))
        # the RT token never goes to another host, whatever URL a record carries
        elsewhere = Attachment("x.jpg", "image/jpeg", url="https://evil.example/attachment/1")
        with pytest.raises(RemoteError, match="not on this RT"):
            await window.ws.adapters["rt"].fetch_attachment(elsewhere)
        await window.ws.stop()

    run_async(scenario())


def test_no_download_where_the_system_cannot(qtbot: Any, workstation_window: Any) -> None:
    window, _translations = workstation_window
    assert not window.attachment_handler.can_fetch("csv")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("CON.txt", "_CON.txt"),
        ("a\x00b<c>.pdf", "a_b_c_.pdf"),
        (".bashrc", "bashrc"),
        ("evil.exe. . ", "evil.exe"),
        ("", "attachment"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize(
    ("name", "content_type", "refused"),
    [
        ("setup.exe", None, True),
        ("invoice.pdf.exe", "application/pdf", True),
        ("run.SH", None, True),
        ("evil.js. ", None, True),
        ("macro.docm", None, True),
        ("tool.jar", None, True),
        ("update", "application/x-msdownload", True),
        ("photo.jpg", "image/jpeg", False),
        ("notes.txt", "text/plain; charset=utf-8", False),
        ("report.exe.pdf", "application/pdf", False),
    ],
)
def test_programs_are_recognised(name: str, content_type: str | None, refused: bool) -> None:
    assert is_executable(name, content_type) is refused
