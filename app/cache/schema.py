"""The cache's tables. Every change here comes with an Alembic migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from app.cache.types import JsonText, UtcTimestamp

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system_id", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("subject", Text, nullable=False),
    Column("status", String, nullable=False),
    Column("native_status", String, nullable=False),
    Column("priority", String),
    Column("requester_name", Text),
    Column("requester_email", String),
    Column("requester_phone", String),
    Column("requester_external_id", String),
    Column("assignee_name", Text),
    Column("assignee_email", String),
    Column("assignee_external_id", String),
    Column("queue", String),
    Column("tags", JsonText, nullable=False, default=list),
    Column("extra", JsonText, nullable=False, default=dict),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("synced_at", UtcTimestamp, nullable=False),
    UniqueConstraint("system_id", "external_id"),
)
# inbox sort orders (migration 0004): each leads with ``deleted``; the rowid breaks ties
Index("ix_tickets_sort_updated", tickets.c.deleted, tickets.c.updated_at)
Index("ix_tickets_sort_created", tickets.c.deleted, tickets.c.created_at)
Index("ix_tickets_sort_system", tickets.c.deleted, tickets.c.system_id)
# and on the rank / coalesce expressions of app.cache.views (status, priority, assignee),
# created in SQL by the migration
Index("ix_tickets_system_status", tickets.c.system_id, tickets.c.status)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("author_name", Text),
    Column("author_email", String),
    Column("body_text", Text, nullable=False),
    Column("attachments", JsonText, nullable=False, default=list),
    Column("created_at", UtcTimestamp, nullable=False),
    # local optimistic copy of an outbox action, replaced once the system echoes it back
    Column("pending_action_id", String),
    UniqueConstraint("ticket_id", "external_id"),
)
Index("ix_messages_ticket_created", messages.c.ticket_id, messages.c.created_at)

sync_state = Table(
    "sync_state",
    metadata,
    Column("system_id", String, primary_key=True),
    Column("cursor", Text),
    Column("first_sync_done", Boolean, nullable=False, default=False),
    Column("last_success_at", UtcTimestamp),
    Column("last_error", Text),
    Column("last_error_at", UtcTimestamp),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system_id", String, nullable=False),
    Column("stream", String),
    Column("record_id", String),
    Column("field", String),
    Column("reason", Text, nullable=False),
    Column("at", UtcTimestamp, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action_id", String, nullable=False, unique=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("system_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("payload", JsonText, nullable=False),
    Column("state", String, nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    Column("seen_updated_at", UtcTimestamp),
    Column("conflict", JsonText),
)
Index("ix_outbox_state", outbox.c.state, outbox.c.id)

drafts = Table(
    "drafts",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("record_id", String, nullable=False, unique=True),
    Column("record", JsonText, nullable=False),  # the wire form (app.audit.wire)
    Column("hash", String, nullable=False),
    Column("uploaded", Boolean, nullable=False, default=False),
)
Index("ix_audit_log_uploaded", audit_log.c.uploaded, audit_log.c.seq)

device = Table(
    "device",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String, nullable=False),
)

# --- full-text search (migration 0003; see app/cache/search.py) ---------------------------------
# ``search_fts`` is an FTS5 virtual table (body, tail, facets; created by the migration, not
# by SQLAlchemy), and two triggers drop the texts of hard-deleted tickets and messages.
# ``search_docs`` maps each FTS rowid to the subject or message it indexes.

search_docs = Table(
    "search_docs",
    metadata,
    # the FTS rowid (migration 0006): status code | time in ms counted down | other facet codes |
    # a few unique bits (see app.cache.search)
    Column("doc", Integer, primary_key=True, autoincrement=False),
    Column("ticket_id", Integer, nullable=False),
    Column("message_id", Integer),  # NULL for the ticket's subject
    Column("sig", Integer, nullable=False),  # hash of the indexed text, time and facets
)
Index("ix_search_docs_ticket", search_docs.c.ticket_id, search_docs.c.message_id)

# the small code of each system inside doc keys (at most 63 systems)
search_systems = Table(
    "search_systems",
    metadata,
    Column("code", Integer, primary_key=True, autoincrement=False),
    Column("system_id", String, nullable=False, unique=True),
)
