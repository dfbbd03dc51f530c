"""Showing UTC timestamps in the agent's zone."""

from __future__ import annotations

from datetime import datetime

from app.timeutil import to_local, utcnow

_zone: str | None = None


def set_agent_zone(zone: str | None) -> None:
    """Use ``zone`` (IANA name) for display; None or empty: the system's zone."""
    global _zone
    _zone = zone or None


def short(moment: datetime | None) -> str:
    """``2026-12-03 22:51`` in the agent's zone."""
    if moment is None:
        return ""
    return to_local(moment, _zone).strftime("%Y-%m-%d %H:%M")


def age(moment: datetime | None) -> str:
    """Compact age: ``3d 4h``, ``5h 12m``, ``7m``."""
    if moment is None:
        return ""
    minutes = max(0, int((utcnow() - moment).total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"
