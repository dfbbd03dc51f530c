"""Light and dark: the rendered conversation bubbles keep WCAG AA contrast and notes stand out.

A real window over a real cache; the pixels are read back from the rendered viewport.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QImage, QPalette

from app.cache import repo
from app.domain import Attachment, Message, MessageKind, Person, Status, Ticket, TicketKey
from ui.theme import (
    AA_CONTRAST,
    bubble_colours,
    contrast,
    dark_palette,
    luminance,
    muted_text,
)

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
CUSTOMER = Person("王芳", "wang.fang@example.cn", "+86 138 0000 0000")
AGENT = Person("Li Siyuan", "li.siyuan@example.com")


def _conversation_ticket() -> Ticket:
    def message(n: int, kind: MessageKind, who: Person, text: str, files: Any = ()) -> Message:
        return Message(f"m{n}", kind, text, T0 + timedelta(minutes=n), who, tuple(files))

    return Ticket(
        key=TicketKey("zd", "4711"),
        subject="退款没有到账 / Refund not received",
        status=Status.OPEN,
        native_status="open",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=9),
        requester=CUSTOMER,
        assignee=AGENT,
        messages=(
            message(
                1,
                MessageKind.REPLY,
                CUSTOMER,
                "我三天前申请了退款，但是还没有到账。订单号 88231。\nI asked for a refund "
                "three days ago and it has not arrived.",
                [Attachment("receipt.pdf", "application/pdf", 48213)],
            ),
            message(
                2,
                MessageKind.NOTE,
                AGENT,
                "Internal: the payment provider shows the refund as queued. Do not promise a "
                "date to the customer.",
            ),
            message(3, MessageKind.EVENT, Person("System"), "Status changed: new → open"),
            message(
                4,
                MessageKind.REPLY,
                AGENT,
                "您好，退款已经提交，预计 3–5 个工作日到账。\nHello, the refund is on its way.",
            ),
        ),
    )


def _open(window: Any) -> None:
    with window.ws.cache.engine.begin() as conn:
        repo.store_pull(conn, "zd", [_conversation_ticket()], [], "c", T0, True)
    window.refresh_views()
    window.inbox.selectRow(0)
    assert window.conversation.ticket is not None


def _region(image: QImage, colour: QColor) -> tuple[int, int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) and pixel count of ``colour`` in ``image``."""
    target = colour.rgb()
    xs, ys, count = [], [], 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            if image.pixel(x, y) == target:
                xs.append(x)
                ys.append(y)
                count += 1
    assert count, f"no bubble painted in {colour.name()}"
    return min(xs), min(ys), max(xs), max(ys), count


def _ink_contrast(image: QImage, box: tuple[int, int, int, int, int], background: QColor) -> float:
    """The strongest text contrast inside a bubble (glyph stems reach the full text colour)."""
    x0, y0, x1, y1, _count = box
    best = 1.0
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            best = max(best, contrast(QColor(image.pixel(x, y)), background))
    return best


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_bubbles_follow_the_palette_and_stay_readable(
    qtbot: Any, workstation_window: Any, theme: str
) -> None:
    window, _translations = workstation_window
    window.resize(1360, 800)
    window.show()
    _open(window)
    if theme == "dark":
        window.setPalette(dark_palette())  # what the OS switch to dark delivers to the window
        QCoreApplication.processEvents()
    qtbot.waitExposed(window)
    QCoreApplication.processEvents()
    view = window.conversation.view
    palette = view.palette()
    header = window.conversation.header
    assert muted_text(header.palette()) in header.text()  # the header follows the theme too
    window_colour = header.palette().color(QPalette.ColorRole.Window)
    assert contrast(QColor(muted_text(header.palette())), window_colour) >= AA_CONTRAST
    assert (luminance(palette.color(QPalette.ColorRole.Base)) < 0.18) == (theme == "dark")
    colours = bubble_colours(palette)
    image = view.viewport().grab().toImage()
    window.grab().save(str(SHOTS / f"conversation-{theme}.png"))

    boxes = {kind: _region(image, QColor(colours.background(kind))) for kind in ("reply", "note")}
    boxes["event"] = _region(image, QColor(colours.event))
    for kind, box in boxes.items():
        background = QColor(colours.background(kind))
        dark_bubble = luminance(background) < 0.18
        assert dark_bubble == (theme == "dark"), f"{kind} bubble ignores the {theme} theme"
        assert _ink_contrast(image, box, background) >= AA_CONTRAST, f"{kind} text unreadable"
    # an internal note never looks like a public reply
    note, reply = QColor(colours.note), QColor(colours.reply)
    distance = sum(abs(a - b) for a, b in zip(note.getRgb()[:3], reply.getRgb()[:3], strict=True))
    assert distance >= 40
    assert "Internal note" in view.toPlainText()
    # every text colour of the bubbles, the muted ones too, passes AA on every bubble
    for text in (colours.text, colours.muted, colours.error, colours.link):
        for kind in ("reply", "note", "event"):
            assert contrast(QColor(text), QColor(colours.background(kind))) >= AA_CONTRAST
    assert contrast(QColor(colours.note_label), note) >= AA_CONTRAST


def test_hard_coded_light_colours_would_fail_in_dark() -> None:
    """The check above can fail: the old fixed grey on a dark window is below AA."""
    window_background = dark_palette().color(QPalette.ColorRole.Window)
    assert contrast(QColor("#666666"), window_background) < AA_CONTRAST


def _many(count: int) -> list[Ticket]:
    return [
        Ticket(
            key=TicketKey("zd", str(n)),
            subject=f"订单 {88000 + n} 的退款没有到账，客户第三次来信询问进度 / Refund for order "
            f"{88000 + n} still missing",
            status=Status.OPEN,
            native_status="open",
            created_at=T0,
            updated_at=T0 + timedelta(minutes=n),
            requester=CUSTOMER,
            assignee=AGENT,
        )
        for n in range(count)
    ]


def _subject_fills(window: Any) -> int:
    from PySide6.QtWidgets import QHeaderView

    header = window.inbox.horizontalHeader()
    subject = window.inbox_model.COLUMNS.index("subject")
    widths = [header.sectionSize(c) for c in range(header.count())]
    assert header.sectionResizeMode(subject) == QHeaderView.ResizeMode.Stretch
    assert header.length() <= window.inbox.viewport().width() + 1  # no horizontal scrolling
    assert header.length() >= window.inbox.viewport().width() - 1  # nothing left unused
    assert widths[subject] == max(widths)
    return widths[subject]


def test_subject_takes_the_width_at_1360_and_the_layout_is_remembered(
    qtbot: Any, workstation_window: Any
) -> None:
    from PySide6.QtWidgets import QHeaderView

    from ui.views.main_window import MainWindow

    window, _translations = workstation_window
    with window.ws.cache.engine.begin() as conn:
        repo.store_pull(conn, "zd", _many(40), [], "c", T0, True)
    window.resize(1360, 800)
    window.show()
    qtbot.waitExposed(window)
    window.refresh_views()
    qtbot.waitUntil(lambda: window.columns_measured, timeout=10_000)  # one column per turn
    first = _subject_fills(window)
    assert first >= 0.3 * window.inbox.viewport().width(), f"Subject squeezed to {first} px"
    window.views_pane.recount()  # the picture shows the counts, not the debounce before them
    qtbot.waitUntil(lambda: window.views_pane.count_of("all") == 40, timeout=10_000)
    assert window.views_pane.select("system:zd")  # counted systems are listed too
    assert window.views_pane.select("all")
    window.grab().save(str(SHOTS / "inbox-1360x800.png"))

    # a layout saved by an older version: fixed widths, the Requester column moved last
    header = window.inbox.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.resizeSection(1, 200)
    header.moveSection(header.visualIndex(2), header.count() - 1)
    window.save_layout()
    window.close()

    again = MainWindow(window.ws)
    qtbot.addWidget(again)
    again.resize(1360, 800)
    again.show()
    qtbot.waitExposed(again)
    again.refresh_views()
    qtbot.waitUntil(lambda: again.columns_measured, timeout=10_000)
    restored = again.inbox.horizontalHeader()
    assert restored.visualIndex(2) == restored.count() - 1  # the moved column stays moved
    assert _subject_fills(again) == first  # the old fixed width does not come back
    assert restored.sectionResizeMode(1) == QHeaderView.ResizeMode.Stretch


def test_an_empty_inbox_fits_its_columns_to_the_first_rows_one_per_turn(
    qtbot: Any, workstation_window: Any
) -> None:
    """No column of an empty inbox fits its contents (Qt would measure them all at once on
    the first insert, during the first sync); they are measured on the first rows instead."""
    from PySide6.QtWidgets import QHeaderView

    window, _translations = workstation_window
    window.resize(1360, 800)
    window.show()
    qtbot.waitExposed(window)
    header = window.inbox.horizontalHeader()
    subject = window.inbox_model.COLUMNS.index("subject")
    others = [c for c in range(header.count()) if c != subject]
    assert window.inbox_model.rowCount() == 0
    modes = {header.sectionResizeMode(c) for c in others}
    assert modes == {QHeaderView.ResizeMode.Interactive}
    with window.ws.cache.engine.begin() as conn:
        repo.store_pull(conn, "zd", _many(40), [], "c", T0, True)
    window.refresh_views()
    qtbot.waitUntil(lambda: window.columns_measured, timeout=10_000)
    for column in others:
        assert header.sectionSize(column) >= window.inbox.sizeHintForColumn(column)
    _subject_fills(window)
