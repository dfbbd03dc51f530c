"""Agents and audit records.

Revision ID: 0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name=op.f("ck_agents_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_agents_token_sha256")),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("system_id", sa.String(200), nullable=True),
        sa.Column("ticket_id", sa.String(200), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("client_version", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(256), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('pending', 'delivered', 'failed', 'compensated')",
            name=op.f("ck_audit_records_outcome"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_records_seq_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("device_id", "seq", name=op.f("uq_audit_records_device_id_seq")),
    )
    op.create_index(op.f("ix_audit_records_agent"), "audit_records", ["agent"])
    op.create_index(op.f("ix_audit_records_action"), "audit_records", ["action"])
    op.create_index(
        "ix_audit_records_system_id_ticket_id", "audit_records", ["system_id", "ticket_id"]
    )


def downgrade() -> None:
    op.drop_table("audit_records")
    op.drop_table("agents")
