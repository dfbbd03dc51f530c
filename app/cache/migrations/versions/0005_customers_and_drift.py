"""Customers across systems (manual link/unlink decisions, indexes that match requesters) and
the schema drift adapters report.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# frozen here (not imported): the expressions app.cache.customers compares, index for index
EMAIL = "lower(trim(requester_email))"
PHONE = "requester_phone"
for junk in (" ", "-", "+", "(", ")", ".", "/"):
    PHONE = f"replace({PHONE}, '{junk}', '')"
PHONE = f"substr({PHONE}, -11)"


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a", sa.String, nullable=False),
        sa.Column("b", sa.String, nullable=False),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_customer_links_pair", "customer_links", ["a", "b"], unique=True)
    op.create_index("ix_customer_links_b", "customer_links", ["b"])
    op.execute(f"CREATE INDEX ix_tickets_requester_email ON tickets ({EMAIL})")
    op.execute(f"CREATE INDEX ix_tickets_requester_phone ON tickets ({PHONE})")
    op.create_index(
        "ix_tickets_requester_external",
        "tickets",
        ["system_id", "requester_external_id"],
    )
    op.create_table(
        "schema_drift",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("system_id", sa.String, nullable=False),
        sa.Column("stream", sa.String, nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("example_record", sa.String),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_schema_drift_key",
        "schema_drift",
        ["system_id", "stream", "field", "kind", "value"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("schema_drift")
    op.drop_index("ix_tickets_requester_external", "tickets")
    op.execute("DROP INDEX ix_tickets_requester_phone")
    op.execute("DROP INDEX ix_tickets_requester_email")
    op.drop_table("customer_links")
