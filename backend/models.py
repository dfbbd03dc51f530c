"""The backend's tables (SQLAlchemy 2 typed ORM). Alembic migrations mirror them exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.audit.wire import (
    MAX_ACTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SIGNATURE_LENGTH,
    MAX_VERSION_LENGTH,
    OUTCOMES,
)
from backend.core.security import Role, Scope

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime where aware UTC was expected")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON(none_as_null=True),
        list[dict[str, Any]]: JSON(),
    }


class Agent(Base):
    """Someone (or something) holding a bearer token."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(_one_of("role", tuple(Role)), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    """Base32 RFC 6238 secret once the agent enrolled a second factor."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The last time step a code was accepted for: a code is never accepted twice."""


class AuditRecordRow(Base):
    """One stored :class:`app.audit.wire.AuditRecord`, plus when and from whom it arrived."""

    __tablename__ = "audit_records"
    __table_args__ = (
        UniqueConstraint("device_id", "seq"),
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("ix_audit_records_system_id_ticket_id", "system_id", "ticket_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    seq: Mapped[int] = mapped_column(BigInteger)
    agent: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    system_id: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH))
    ticket_id: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(MAX_ACTION_LENGTH), index=True)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    outcome: Mapped[str] = mapped_column(String(20))
    client_version: Mapped[str] = mapped_column(String(MAX_VERSION_LENGTH))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(MAX_SIGNATURE_LENGTH))
    received_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))


class Device(Base):
    """A workstation's audit signing key: the first registration of a device id wins."""

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    registered_at: Mapped[datetime]


class PermissionGroup(Base):
    """Which audit records its members may read: departments (systems, queues, groups) and a
    data scope (own, team, department, all)."""

    __tablename__ = "permission_groups"
    __table_args__ = (CheckConstraint(_one_of("scope", tuple(Scope)), name="scope"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), unique=True)
    departments: Mapped[list[dict[str, Any]]]
    scope: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class GroupMember(Base):
    """An agent's membership of a permission group."""

    __tablename__ = "permission_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("permission_groups.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StepUpApproval(Base):
    """An agent's request for a supervisor's approval of one sensitive operation."""

    __tablename__ = "step_up_approvals"
    __table_args__ = (CheckConstraint(_one_of("status", ("pending", "granted")), name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    granted_at: Mapped[datetime | None]


class StepUpGrant(Base):
    """A step-up earned by an agent for one operation: short-lived, used at most once.

    Only the sha256 of the grant's token is stored. The row stays as the backend's record of
    the step-up: who, which operation, how (TOTP or whose approval), when, and what it was
    used for.
    """

    __tablename__ = "step_up_grants"
    __table_args__ = (CheckConstraint(_one_of("method", ("totp", "approval")), name="method"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(20))
    approval_id: Mapped[str | None] = mapped_column(
        ForeignKey("step_up_approvals.id", ondelete="SET NULL"), unique=True
    )
    """The approval it was earned with: one grant per approval."""
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_for: Mapped[str | None] = mapped_column(String(1000))
    """What it was spent on: the request, or the client's description of the operation."""
