"""The offline cache: SQLite through SQLAlchemy 2, migrated by Alembic, one writer at a time."""

from app.cache.engine import Cache, open_cache
from app.cache.writer import CacheWriter

__all__ = ["Cache", "CacheWriter", "open_cache"]
