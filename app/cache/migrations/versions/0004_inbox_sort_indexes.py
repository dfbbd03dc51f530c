"""Inbox sort indexes: keyset paging by every sortable inbox column stays an index walk.

Each index leads with ``deleted`` (every view lists live tickets only) followed by the sort
value; the rowid (the tie-breaking ``id``) is the implicit last column, so
``ORDER BY value, id`` and ``WHERE (value, id) > (?, ?)`` read one index range in either
direction. Status and priority sort by their rank, so their indexes are on the same ``CASE``
expressions that ``app.cache.views`` orders by (a test checks that the planner uses them).
Subject and requester stay unindexed (see ``INDEXES``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# frozen here (not imported) so this migration keeps meaning what it meant when it shipped
INDEXES = {
    # replaces 0001's ix_tickets_updated (deleted, updated_at DESC), whose descending column
    # left ties (same update time) to a sort when reading ascending or by id
    "ix_tickets_sort_updated": "updated_at",
    "ix_tickets_sort_created": "created_at",
    "ix_tickets_sort_system": "system_id",
    "ix_tickets_sort_status": (
        "(CASE status WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3"
        " WHEN 'on_hold' THEN 4 WHEN 'solved' THEN 5 WHEN 'closed' THEN 6 ELSE 9 END)"
    ),
    "ix_tickets_sort_priority": (
        "(CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'normal' THEN 2"
        " WHEN 'low' THEN 1 ELSE 0 END)"
    ),
    "ix_tickets_sort_assignee": "(coalesce(assignee_name, assignee_email, ''))",
}
# Subject and requester have no index: their values are scattered, so each new ticket would
# touch random index pages (measured: a third of the raw bulk-insert speed); the inbox sorts
# views of up to ``ui.models.inbox.SORT_LIMIT`` tickets by them.


def upgrade() -> None:
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON tickets (deleted, {expression})")
    op.execute("DROP INDEX IF EXISTS ix_tickets_updated")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_tickets_updated ON tickets (deleted, updated_at DESC)"
    )
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
