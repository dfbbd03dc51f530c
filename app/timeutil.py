"""Aware-UTC time: parsing vendor timestamps, converting naive local times, display zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.errors import ConfigError


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a clear error when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"Unknown time zone {name!r}") from exc


def parse_timestamp(value: str | int | float, *, naive_zone: str = "UTC") -> datetime:
    """Parse ISO-8601 (any offset, ``Z``), ``YYYY-MM-DD HH:MM:SS`` or epoch s/ms to aware UTC.

    Naive values are read in ``naive_zone`` (the system's configured zone).
    Raises ``ValueError`` naming the value when it cannot be read.
    """
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    text = value.strip()
    if text.isdigit():
        return parse_timestamp(int(text), naive_zone=naive_zone)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"unreadable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(naive_zone))
    return parsed.astimezone(UTC)


def to_iso_z(moment: datetime) -> str:
    """``2026-12-03T14:51:40Z`` — the wire and export format for aware datetimes."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime where aware UTC was expected")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_local(moment: datetime, agent_zone: str | None = None) -> datetime:
    """``moment`` in the agent's zone (the OS zone when ``agent_zone`` is None)."""
    if agent_zone:
        return moment.astimezone(zone(agent_zone))
    return moment.astimezone()
