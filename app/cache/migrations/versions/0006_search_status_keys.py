"""Search doc keys lead with the status code, then the text's time counted down (see
``app.cache.search``): a status filter reads only that status's keys, and newest first is
FTS5's ascending scan, which seeks to a range's start. FTS5 also merges its segments less often
while a sync writes (``automerge`` 8 instead of the default 4; still at most 7 per level).

The key of every text already indexed changes, so the index is rebuilt from the cached tickets.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# frozen here (not imported) so this migration keeps meaning what it meant when it shipped
FTS_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "body, tail, facets, tokenize = 'unicode61 remove_diacritics 2')"
)
SETTINGS = (
    ("hashsize", 8388608),  # flush pending terms in bigger chunks
    ("automerge", 8),  # merge a level's segments once 8 of them wait (each text is rewritten
    # fewer times while a sync writes; a query reads a few more segments)
)


def _recreate_index() -> None:
    # dropping the table is much faster than deleting each text (which re-reads its tokens);
    # the deletion triggers of 0003 name the table and keep working with the new one
    op.execute("DROP TABLE search_fts")
    op.execute(FTS_DDL)
    for name, value in SETTINGS:
        op.get_bind().execute(
            sa.text("INSERT INTO search_fts (search_fts, rank) VALUES (:name, :value)"),
            {"name": name, "value": value},
        )
    op.execute("DELETE FROM search_docs")


def upgrade() -> None:
    _recreate_index()
    from app.cache import search  # the index of every ticket already cached, in the new keys

    search.rebuild(op.get_bind())


def downgrade() -> None:
    # 0005's keys need that version's code: leave an empty (consistent) index behind
    _recreate_index()
