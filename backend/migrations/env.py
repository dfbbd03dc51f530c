"""Alembic environment of the backend.

Normally run by ``Database.migrate()``, which passes its open connection in
``config.attributes["connection"]``. From a shell (``alembic -c backend/migrations/alembic.ini
...``) the URL comes from ``-x url=...``, else from the backend settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from backend.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move tables
        compare_type=True,
        **options,  # type: ignore[arg-type]
    )


def _url() -> str:
    from backend.core.config import Settings
    from backend.core.db import normalize_url

    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url") or Settings().database_url
    return normalize_url(url).render_as_string(hide_password=False)


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate over the caller's connection, or over a new one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from backend.core.db import Database

    database = Database(_url())
    try:
        with database.write_engine.begin() as new_connection:
            _run(new_connection)
    finally:
        database.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
