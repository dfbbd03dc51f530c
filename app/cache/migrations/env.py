"""Alembic environment for the cache; run programmatically by ``app.cache.engine``."""

from __future__ import annotations

from alembic import context

from app.cache.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
