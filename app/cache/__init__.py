"""The offline cache: SQLite through SQLAlchemy 2, migrated by Alembic, one writer at a time.

``Cache``, ``CacheWriter`` and ``open_cache`` load SQLAlchemy on first use, so the modules that
need no SQLAlchemy (``app.cache.inbox``: the inbox's view types and its stdlib first-page reader)
stay cheap to import before the window's first paint.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.cache.engine import Cache, open_cache
    from app.cache.writer import CacheWriter

__all__ = ["Cache", "CacheWriter", "open_cache"]
_HOMES = {
    "Cache": "app.cache.engine",
    "open_cache": "app.cache.engine",
    "CacheWriter": "app.cache.writer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
