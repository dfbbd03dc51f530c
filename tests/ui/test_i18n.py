"""English and Simplified Chinese: nothing unfinished, every UI text covered, live switching."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt

from ui import i18n
from ui.labels import status_label

TS = i18n.translations_dir() / "tabless_zh_CN.ts"


def test_no_unfinished_or_empty_zh_cn_entry() -> None:
    text = TS.read_text(encoding="utf-8")
    assert text.count("<message>") > 40
    assert 'type="unfinished"' not in text
    assert "<translation></translation>" not in text and "<translation/>" not in text


def test_every_ui_text_is_in_the_catalogue(tmp_path: Path) -> None:
    """Re-scan the UI sources: a new tr() text without a translation fails here."""
    folder = tmp_path / "translations"
    shutil.copytree(i18n.translations_dir(), folder)
    original = i18n.translations_dir
    i18n.translations_dir = lambda: folder  # type: ignore[assignment]
    try:
        missing = i18n.update_translations()
    finally:
        i18n.translations_dir = original  # type: ignore[assignment]
    assert missing == []


def test_live_switch_to_chinese_and_back(qtbot, workstation_window) -> None:  # type: ignore[no-untyped-def]
    window, translations = workstation_window
    assert translations.install("zh_CN") == "zh_CN"
    QCoreApplication.processEvents()
    assert window.tabs.tabText(0) == "收件箱"
    assert status_label("pending") == "等待回复"
    assert window.inbox_model.headerData(1, Qt.Orientation.Horizontal) == "主题"
    assert window.conversation.send.text() == "发送"
    assert translations.install("en") == "en"
    QCoreApplication.processEvents()
    assert window.tabs.tabText(0) == "Inbox"
