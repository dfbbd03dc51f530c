"""Step-up grants: enforced server-side, single-use, recorded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_up_grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("approval_id", sa.String(36), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_for", sa.String(1000), nullable=True),
        sa.CheckConstraint("method IN ('totp', 'approval')", name=op.f("ck_step_up_grants_method")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_step_up_grants_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["step_up_approvals.id"],
            name=op.f("fk_step_up_grants_approval_id_step_up_approvals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["agents.id"],
            name=op.f("fk_step_up_grants_approver_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_up_grants")),
        sa.UniqueConstraint("approval_id", name=op.f("uq_step_up_grants_approval_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_step_up_grants_token_sha256")),
    )
    op.create_index(op.f("ix_step_up_grants_agent_id"), "step_up_grants", ["agent_id"])


def downgrade() -> None:
    op.drop_table("step_up_grants")
