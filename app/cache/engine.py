"""Opening the cache: SQLite pragmas (WAL), Alembic upgrade on open, refusal of newer schemas."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, select

from app.cache.schema import device
from app.domain import CacheError, ErrorContext

MIGRATIONS = Path(__file__).with_name("migrations")


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps it safe
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(engine: Engine, path: Path) -> None:
    config = _alembic_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    unknown = current - known
    if unknown:
        raise CacheError(
            f"the cache {path} was written by a newer Tabless (schema {', '.join(unknown)}); "
            "it was left untouched — update Tabless or choose another data directory",
            ErrorContext(url=str(path)),
        )
    if current != heads:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


@dataclass(slots=True)
class Cache:
    """An open cache: the engine (WAL; readers use their own pooled connections)."""

    engine: Engine
    path: Path
    device_id: str

    def close(self) -> None:
        """Dispose of every pooled connection."""
        self.engine.dispose()


def open_cache(path: Path) -> Cache:
    """Open (creating or migrating) the cache at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    _upgrade(engine, path)
    with engine.begin() as connection:
        device_id = connection.scalar(select(device.c.device_id))
        if device_id is None:
            device_id = str(uuid.uuid4())
            connection.execute(insert(device).values(id=1, device_id=device_id))
    return Cache(engine=engine, path=path, device_id=device_id)
