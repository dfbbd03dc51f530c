"""Attaching files in the composer: offered only where the system takes them, refused with the
file named when too large, and sent with the reply to the real Zendesk stand-in."""

# ruff: noqa: F811  (the imported ``workstation`` fixture is requested by name)
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from app.actions import outgoing
from tests.ui.test_workstation_window import act, eventually, type_like_an_ime, workstation  # noqa: F401
from ui.views.main_window import MainWindow
from ui.widgets.outgoing_files import OutgoingFiles


def test_the_list_refuses_oversized_and_duplicate_files(qtbot: Any, tmp_path: Path) -> None:
    widget = OutgoingFiles()
    qtbot.addWidget(widget)
    widget.show()
    small = tmp_path / "截图.png"
    small.write_bytes(b"\x89PNG" + b"0" * 2000)
    huge = tmp_path / "video.mp4"
    with huge.open("wb") as handle:
        handle.truncate(outgoing.MAX_FILE_BYTES + 1)
    widget.add([small, small, huge, tmp_path / "missing.txt"])
    assert widget.files() == (small,)
    assert widget.list.item(0).text() == "截图.png  (2.0 KB)"
    assert "video.mp4 is 25.0 MB; at most 25.0 MB per file." in widget.problem.text()
    assert "missing.txt: the file cannot be read." in widget.problem.text()
    widget.list.setCurrentRow(0)
    widget.remove.click()
    assert widget.files() == () and not widget.list.isVisible()


def test_a_reply_with_a_file_reaches_zendesk(qtbot, run_async, workstation, tmp_path: Path):  # type: ignore[no-untyped-def]
    ws, zendesk, _url, _backend = workstation
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()
    report = tmp_path / "报告.txt"
    report.write_text("退款明细：¥128.00\n", encoding="utf-8")

    async def scenario() -> tuple[str, bool]:
        ws.start()
        await ws.sync.wait_first_sync(30)
        window.refresh_views()
        model = window.inbox_model
        csv_row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "Csv")
        window.inbox.selectRow(csv_row)
        offered_for_csv = window.conversation.files.isVisibleTo(window)
        row = next(
            r
            for r in range(model.rowCount())
            if model.index(r, 0).data() == "Zendesk" and model.row(r).status != "closed"
        )
        window.inbox.selectRow(row)
        panel = window.conversation
        assert panel.files.isVisibleTo(window)
        panel.files.add([report])
        await act(type_like_an_ime, panel.editor, "明细见附件")
        external = panel.ticket.external_id
        await act(
            qtbot.keyClick, panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
        await eventually(lambda: panel.files.files() == (), 10)  # recorded: the list is cleared

        def attached() -> bool:
            comments = zendesk.comments_of(int(external))
            return (
                bool(comments)
                and comments[-1]["body"] == "明细见附件"
                and bool(comments[-1]["attachments"])
            )

        await eventually(attached, 30)
        await ws.stop()
        return external, offered_for_csv

    external, offered_for_csv = run_async(scenario())
    assert not offered_for_csv  # the CSV export is read-only: no attach button
    last = zendesk.comments_of(int(external))[-1]
    assert [a["file_name"] for a in last["attachments"]] == ["报告.txt"]
    assert last["attachments"][0]["size"] == len("退款明细：¥128.00\n".encode())
