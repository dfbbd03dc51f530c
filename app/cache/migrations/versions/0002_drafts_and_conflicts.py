"""Drafts saved while the agent types; what the agent saw when acting (conflict detection).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_drafts"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], ondelete="CASCADE", name="fk_drafts_ticket_id_tickets"
        ),
    )
    with op.batch_alter_table("outbox") as batch:
        # the ticket's remote updated_at when the agent acted; a newer remote change = conflict
        batch.add_column(sa.Column("seen_updated_at", sa.BigInteger))
        # both versions, for the agent to decide (JSON), when delivery stopped on a conflict
        batch.add_column(sa.Column("conflict", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("conflict")
        batch.drop_column("seen_updated_at")
    op.drop_table("drafts")
