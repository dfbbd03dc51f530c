"""Column types: aware-UTC timestamps stored as integer microseconds; JSON as text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Dialect, Text
from sqlalchemy.types import TypeDecorator

from app.cache.micros import from_micros, to_micros

__all__ = ["JsonText", "UtcTimestamp", "from_micros", "to_micros"]


class UtcTimestamp(TypeDecorator[datetime]):
    """Aware UTC datetime in an integer column: sortable, compact, zone-proof."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(value)


class JsonText(TypeDecorator[Any]):
    """JSON stored as compact UTF-8 text (Chinese kept readable)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return (
            None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        )

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
