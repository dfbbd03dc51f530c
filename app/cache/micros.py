"""Aware-UTC timestamps as integer microseconds since the epoch: how the cache stores time.

Stdlib only, so the first-paint reader (``app.cache.inbox``) decodes rows without SQLAlchemy;
``app.cache.types.UtcTimestamp`` stores and reads its columns with the same two functions.
"""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime where aware UTC was expected")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    seconds, micros = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
