"""Small pure helpers shared by the adapters' mappings (raw payload → ``app.domain``). No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain import ErrorContext, RecordError
from app.timeutil import parse_timestamp


def where(ctx: ErrorContext, field: str) -> ErrorContext:
    """``ctx`` (system, stream, record, offset) naming ``field``."""
    return ErrorContext(
        system=ctx.system,
        stream=ctx.stream,
        record_id=ctx.record_id,
        field=field,
        offset=ctx.offset,
    )


def int_value(value: object) -> int | None:
    """``value`` when it is an integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_id(raw: object) -> str | None:
    """A JSON object's numeric ``id`` as text; None when missing or not a positive integer."""
    value = int_value(raw.get("id")) if isinstance(raw, Mapping) else None
    return str(value) if value is not None and value > 0 else None


def timestamp(
    raw: Mapping[str, Any], key: str, ctx: ErrorContext, naive_zone: str, field: str = ""
) -> datetime:
    """``raw[key]`` as aware UTC, else a RecordError naming ``field`` (default ``key``)."""
    value = raw.get(key)
    name = field or key
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"{name} is missing", where(ctx, name))
    try:
        return parse_timestamp(value, naive_zone=naive_zone)
    except (ValueError, OverflowError, OSError) as exc:
        raise RecordError(f"{name} is unreadable: {value!r}", where(ctx, name)) from exc
