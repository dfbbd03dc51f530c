"""The first cache schema: tickets, messages, sync state, quarantine, outbox, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("system_id", sa.String, nullable=False),
        sa.Column("external_id", sa.String, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("native_status", sa.String, nullable=False),
        sa.Column("priority", sa.String),
        sa.Column("requester_name", sa.Text),
        sa.Column("requester_email", sa.String),
        sa.Column("requester_phone", sa.String),
        sa.Column("requester_external_id", sa.String),
        sa.Column("assignee_name", sa.Text),
        sa.Column("assignee_email", sa.String),
        sa.Column("assignee_external_id", sa.String),
        sa.Column("queue", sa.String),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("extra", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("synced_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("system_id", "external_id", name="uq_tickets_system_id"),
    )
    op.create_index("ix_tickets_updated", "tickets", ["deleted", sa.text("updated_at DESC")])
    op.create_index("ix_tickets_system_status", "tickets", ["system_id", "status"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("author_name", sa.Text),
        sa.Column("author_email", sa.String),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("attachments", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("pending_action_id", sa.String),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name="fk_messages_ticket_id_tickets",
        ),
        sa.UniqueConstraint("ticket_id", "external_id", name="uq_messages_ticket_id"),
    )
    op.create_index("ix_messages_ticket_created", "messages", ["ticket_id", "created_at"])
    op.create_table(
        "sync_state",
        sa.Column("system_id", sa.String, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("first_sync_done", sa.Boolean, nullable=False),
        sa.Column("last_success_at", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.BigInteger),
        sa.PrimaryKeyConstraint("system_id", name="pk_sync_state"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("system_id", sa.String, nullable=False),
        sa.Column("stream", sa.String),
        sa.Column("record_id", sa.String),
        sa.Column("field", sa.String),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("action_id", sa.String, nullable=False),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("system_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_outbox_ticket_id_tickets"),
        sa.UniqueConstraint("action_id", name="uq_outbox_action_id"),
    )
    op.create_index("ix_outbox_state", "outbox", ["state", "id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("record_id", sa.String, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
        sa.Column("uploaded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("record_id", name="uq_audit_log_record_id"),
    )
    op.create_index("ix_audit_log_uploaded", "audit_log", ["uploaded", "seq"])
    op.create_table(
        "device",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device"),
    )


def downgrade() -> None:
    for table in (
        "device",
        "audit_log",
        "outbox",
        "quarantine",
        "sync_state",
        "messages",
        "tickets",
    ):
        op.drop_table(table)
