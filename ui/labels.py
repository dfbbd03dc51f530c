"""Translated labels for the core's vocabularies (statuses, priorities, health reasons)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.domain import Priority, Status
from app.sync.health import Reason


def _t(text: str) -> str:
    return QCoreApplication.translate("Labels", text)


def status_label(status: str) -> str:
    """The agent-facing name of a unified status."""
    names = {
        Status.NEW: _t("New"),
        Status.OPEN: _t("Open"),
        Status.PENDING: _t("Pending"),
        Status.ON_HOLD: _t("On hold"),
        Status.SOLVED: _t("Solved"),
        Status.CLOSED: _t("Closed"),
    }
    try:
        return names[Status(status)]
    except ValueError:
        return status


def priority_label(priority: str | None) -> str:
    """The agent-facing name of a priority ('' when unknown)."""
    if not priority:
        return ""
    names = {
        Priority.LOW: _t("Low"),
        Priority.NORMAL: _t("Normal"),
        Priority.HIGH: _t("High"),
        Priority.URGENT: _t("Urgent"),
    }
    try:
        return names[Priority(priority)]
    except ValueError:
        return priority


def reason_label(reason: Reason) -> str:
    """Why a system's light has its colour, as a sentence."""
    names = {
        Reason.SYNCED: _t("Synced"),
        Reason.FIRST_SYNC: _t("First sync in progress"),
        Reason.SLOW: _t("Responding slowly"),
        Reason.STALE: _t("Not synced for a while (stale)"),
        Reason.UNREACHABLE: _t("Unreachable"),
        Reason.AUTH: _t("Credentials rejected"),
        Reason.ERROR: _t("Sync failed"),
    }
    return names[reason]
