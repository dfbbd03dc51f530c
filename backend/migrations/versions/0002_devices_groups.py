"""Devices (audit signing keys), permission groups, step-up (TOTP, approvals).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_devices_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_agent_id"), "devices", ["agent_id"])
    op.create_table(
        "permission_groups",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('own', 'team', 'department', 'all')",
            name=op.f("ck_permission_groups_scope"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_permission_groups_name")),
    )
    op.create_table(
        "permission_group_members",
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_permission_group_members_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["permission_groups.id"],
            name=op.f("fk_permission_group_members_group_id_permission_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "agent_id", name=op.f("pk_permission_group_members")),
    )
    op.create_index(
        op.f("ix_permission_group_members_agent_id"), "permission_group_members", ["agent_id"]
    )
    op.create_index(op.f("ix_audit_records_occurred_at"), "audit_records", ["occurred_at"])
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "step_up_approvals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'granted')", name=op.f("ck_step_up_approvals_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_step_up_approvals_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["agents.id"],
            name=op.f("fk_step_up_approvals_approver_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_up_approvals")),
    )
    op.create_index(op.f("ix_step_up_approvals_agent_id"), "step_up_approvals", ["agent_id"])


def downgrade() -> None:
    op.drop_table("step_up_approvals")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
    op.drop_index(op.f("ix_audit_records_occurred_at"), table_name="audit_records")
    op.drop_table("permission_group_members")
    op.drop_table("permission_groups")
    op.drop_table("devices")
