"""Translated labels for the core's vocabularies (statuses, priorities, health reasons).

Texts are marked with ``QT_TRANSLATE_NOOP`` so ``pyside6-lupdate`` finds them; they are
translated when shown, so a live language switch takes effect at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from app.domain import Priority, Status

if TYPE_CHECKING:
    from app.sync.health import Reason

CONTEXT = "Labels"
STATUS_TEXT = {
    Status.NEW: QT_TRANSLATE_NOOP("Labels", "New"),
    Status.OPEN: QT_TRANSLATE_NOOP("Labels", "Open"),
    Status.PENDING: QT_TRANSLATE_NOOP("Labels", "Pending"),
    Status.ON_HOLD: QT_TRANSLATE_NOOP("Labels", "On hold"),
    Status.SOLVED: QT_TRANSLATE_NOOP("Labels", "Solved"),
    Status.CLOSED: QT_TRANSLATE_NOOP("Labels", "Closed"),
}
PRIORITY_TEXT = {
    Priority.LOW: QT_TRANSLATE_NOOP("Labels", "Low"),
    Priority.NORMAL: QT_TRANSLATE_NOOP("Labels", "Normal"),
    Priority.HIGH: QT_TRANSLATE_NOOP("Labels", "High"),
    Priority.URGENT: QT_TRANSLATE_NOOP("Labels", "Urgent"),
}
REASON_TEXT = {  # keyed by app.sync.health.Reason values (not imported: the first paint is light)
    "synced": QT_TRANSLATE_NOOP("Labels", "Synced"),
    "first_sync": QT_TRANSLATE_NOOP("Labels", "First sync in progress"),
    "slow": QT_TRANSLATE_NOOP("Labels", "Responding slowly"),
    "stale": QT_TRANSLATE_NOOP("Labels", "Not synced for a while (stale)"),
    "unreachable": QT_TRANSLATE_NOOP("Labels", "Unreachable"),
    "auth": QT_TRANSLATE_NOOP("Labels", "Credentials rejected"),
    "error": QT_TRANSLATE_NOOP("Labels", "Sync failed"),
}
MESSAGE_TEXT = {
    "reply": QT_TRANSLATE_NOOP("Labels", "Reply"),
    "note": QT_TRANSLATE_NOOP("Labels", "Internal note"),
    "event": QT_TRANSLATE_NOOP("Labels", "Event"),
    "sending": QT_TRANSLATE_NOOP("Labels", "Sending…"),
    "failed": QT_TRANSLATE_NOOP("Labels", "Failed"),
}


def tr(text: str) -> str:
    """``text`` in the current language."""
    return QCoreApplication.translate(CONTEXT, text)


def status_label(status: str) -> str:
    """The agent-facing name of a unified status."""
    try:
        return tr(str(STATUS_TEXT[Status(status)]))
    except ValueError:
        return status


def priority_label(priority: str | None) -> str:
    """The agent-facing name of a priority ('' when unknown)."""
    if not priority:
        return ""
    try:
        return tr(str(PRIORITY_TEXT[Priority(priority)]))
    except ValueError:
        return priority


def reason_label(reason: Reason) -> str:
    """Why a system's light has its colour, as a sentence."""
    return tr(str(REASON_TEXT[reason]))


def message_label(key: str) -> str:
    """Labels of conversation entries: reply, note, event, sending, failed."""
    return tr(str(MESSAGE_TEXT[key]))


def size_label(size: int | None) -> str:
    """A file size for people: ``512 B``, ``48.2 KB``, ``1.2 MB`` (``?`` when unknown)."""
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
