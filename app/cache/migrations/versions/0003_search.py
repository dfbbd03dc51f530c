"""Full-text search: the FTS5 index of subjects and messages, filled for cached tickets.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# frozen here (not imported) so this migration keeps meaning what it meant when it shipped
FTS_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "body, tail, facets, tokenize = 'unicode61 remove_diacritics 2')"
)
TRIGGERS = (
    # hard deletes from any code path drop their texts; upserts maintain the rest in Python
    "CREATE TRIGGER search_ticket_deleted AFTER DELETE ON tickets BEGIN"
    " DELETE FROM search_fts WHERE rowid IN"
    " (SELECT doc FROM search_docs WHERE ticket_id = old.id);"
    " DELETE FROM search_docs WHERE ticket_id = old.id; END",
    "CREATE TRIGGER search_message_deleted AFTER DELETE ON messages BEGIN"
    " DELETE FROM search_fts WHERE rowid IN"
    " (SELECT doc FROM search_docs WHERE ticket_id = old.ticket_id AND message_id = old.id);"
    " DELETE FROM search_docs WHERE ticket_id = old.ticket_id AND message_id = old.id; END",
)


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("doc", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("message_id", sa.Integer),
        sa.Column("sig", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("doc", name="pk_search_docs"),
    )
    op.create_index("ix_search_docs_ticket", "search_docs", ["ticket_id", "message_id"])
    op.create_table(
        "search_systems",
        sa.Column("code", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("system_id", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_search_systems"),
        sa.UniqueConstraint("system_id", name="uq_search_systems_system_id"),
    )
    op.execute(FTS_DDL)
    # flush pending terms in bigger chunks (fewer, larger segments while a full sync runs)
    op.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('hashsize', 8388608)")
    for trigger in TRIGGERS:
        op.execute(trigger)
    from app.cache import search  # the index of every ticket already cached

    search.rebuild(op.get_bind())


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS search_message_deleted")
    op.execute("DROP TRIGGER IF EXISTS search_ticket_deleted")
    op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_systems")
    op.drop_index("ix_search_docs_ticket", "search_docs")
    op.drop_table("search_docs")
