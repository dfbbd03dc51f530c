"""Aware-UTC time: parsing vendor timestamps, converting naive local times, display zones."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.errors import ConfigError


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a clear error when it does not exist.

    Cached: adapters ask for the same zone for every timestamp they read.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"Unknown time zone {name!r}") from exc


def parse_timestamp(value: str | int | float, *, naive_zone: str = "UTC") -> datetime:
    """Parse ISO-8601 (any offset, ``Z``), ``YYYY-MM-DD HH:MM:SS`` or epoch s/ms to aware UTC.

    Naive values are read in ``naive_zone`` (the system's configured zone).
    Raises ``ValueError`` naming the value when it cannot be read.
    """
    if value.__class__ is str and value[:1].isdigit() and value[4:5] == "-":
        # Fast path for well-formed ISO-8601 (what nearly every system sends): the stdlib
        # reads it as is (``Z`` included); anything it refuses takes the general path below.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            offset_zone = parsed.tzinfo
            if offset_zone is UTC:
                return parsed
            if offset_zone is not None:
                return parsed.astimezone(UTC)
            return _naive_as_utc(parsed, value, naive_zone)
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
    return _as_utc(parsed, naive_zone)


def _naive_as_utc(parsed: datetime, text: str, naive_zone: str) -> datetime:
    """Naive ``parsed`` (read from ``text``) in ``naive_zone``, as UTC, without ``replace()``.

    Same result as ``parsed.replace(tzinfo=zone).astimezone(UTC)``, about five times faster:
    the wall time is read again as UTC and the zone's offset at that wall time taken off.
    """
    try:
        wall = datetime.fromisoformat(text + "+00:00")
    except ValueError:
        wall = parsed
    if wall.tzinfo is not UTC:  # a date without a time takes no offset (or drops it)
        return _as_utc(parsed, naive_zone)
    if naive_zone == "UTC":
        return wall
    offset = zone(naive_zone).utcoffset(parsed)
    return wall - offset if offset else wall


def _as_utc(parsed: datetime, naive_zone: str) -> datetime:
    """``parsed`` in UTC; a naive value is first read in ``naive_zone``."""
    offset_zone = parsed.tzinfo
    if offset_zone is None:
        if naive_zone == "UTC":
            return parsed.replace(tzinfo=UTC)
        parsed = parsed.replace(tzinfo=zone(naive_zone))
    elif offset_zone is UTC:
        return parsed
    return parsed.astimezone(UTC)


def iso_z_of(value: str | int | float, *, naive_zone: str = "UTC") -> str:
    """``to_iso_z(parse_timestamp(value, naive_zone=naive_zone))``, faster for plain text.

    A naive ``YYYY-MM-DD HH:MM:SS`` (the usual export cell) is checked by the stdlib and, read
    in UTC, rewritten as is; any other value takes the general path. Raises like
    :func:`parse_timestamp`.
    """
    if value.__class__ is str and len(value) == 19 and value[10] in " T" and value.isascii():  # type: ignore[arg-type]
        try:
            parsed: datetime | None = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None and parsed.year >= 1000:
            if naive_zone == "UTC":
                return f"{value[:10]}T{value[11:]}Z"  # type: ignore[index]
            offset = zone(naive_zone).utcoffset(parsed)
            utc = parsed - offset if offset else parsed
            if utc.year >= 1000:
                return utc.isoformat() + "Z"
    return to_iso_z(parse_timestamp(value, naive_zone=naive_zone))


def to_iso_z(moment: datetime) -> str:
    """``2026-12-03T14:51:40Z`` — the wire and export format for aware datetimes."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime where aware UTC was expected")
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if utc.year < 1000:  # isoformat pads the year to four digits, strftime does not
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    return utc.isoformat()[:19] + "Z"  # seconds precision, like the strftime format


def to_local(moment: datetime, agent_zone: str | None = None) -> datetime:
    """``moment`` in the agent's zone (the OS zone when ``agent_zone`` is None)."""
    if agent_zone:
        return moment.astimezone(zone(agent_zone))
    return moment.astimezone()
