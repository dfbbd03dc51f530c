"""Permission groups: which departments (systems, queues, groups) and data scope members see.

A department is ``{"system_id": "zendesk", "queue": "billing" | None, "group": "L2" | None}``.
Audit records carry a system but no queue or group, so audit visibility narrows by system;
the queues and groups are for the client (``GET /api/v1/me/permissions``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.security import Scope
from backend.crud import AgentInfo
from backend.errors import Conflict, NotFound
from backend.models import Agent, GroupMember, PermissionGroup


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A permission group as plain data."""

    id: str
    name: str
    departments: tuple[dict[str, Any], ...]
    scope: Scope

    @property
    def systems(self) -> frozenset[str]:
        """The systems its departments span."""
        return frozenset(str(d["system_id"]) for d in self.departments)

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "id": self.id,
            "name": self.name,
            "departments": list(self.departments),
            "scope": self.scope.value,
        }


def _info(row: PermissionGroup) -> GroupInfo:
    return GroupInfo(row.id, row.name, tuple(row.departments), Scope(row.scope))


def create_group(
    session: Session, *, name: str, departments: list[dict[str, Any]], scope: Scope
) -> GroupInfo:
    """A new group (409 when the name is taken)."""
    row = PermissionGroup(
        id=str(uuid.uuid4()),
        name=name,
        departments=departments,
        scope=scope.value,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a permission group named {name!r} exists", code="group_exists") from None
    return _info(row)


def list_groups(session: Session) -> list[GroupInfo]:
    """Every group, by name."""
    return [_info(row) for row in session.scalars(select(PermissionGroup).order_by("name"))]


def groups_of(session: Session, agent_id: int) -> list[GroupInfo]:
    """The groups ``agent_id`` belongs to, by name."""
    query = (
        select(PermissionGroup)
        .join(GroupMember, GroupMember.group_id == PermissionGroup.id)
        .where(GroupMember.agent_id == agent_id)
        .order_by(PermissionGroup.name)
    )
    return [_info(row) for row in session.scalars(query)]


def set_membership(session: Session, *, group_id: str, agent_name: str, member: bool) -> None:
    """Add ``agent_name`` to the group (``member``) or remove it; 404 for an unknown either."""
    group = session.get(PermissionGroup, group_id)
    if group is None:
        raise NotFound(f"no permission group {group_id}")
    agent = session.scalar(select(Agent).where(Agent.name == agent_name))
    if agent is None:
        raise NotFound(f"no agent {agent_name!r}")
    existing = session.get(GroupMember, (group_id, agent.id))
    if member and existing is None:
        session.add(GroupMember(group_id=group_id, agent_id=agent.id))
    elif not member and existing is not None:
        session.delete(existing)
    session.flush()


def members(session: Session, group_id: str) -> list[str]:
    """Names of the group's members."""
    query = (
        select(Agent.name)
        .join(GroupMember, GroupMember.agent_id == Agent.id)
        .where(GroupMember.group_id == group_id)
        .order_by(Agent.name)
    )
    return list(session.scalars(query))


def permissions(session: Session, agent: AgentInfo) -> dict[str, Any]:
    """What ``GET /api/v1/me/permissions`` answers for ``agent``."""
    groups = groups_of(session, agent.id)
    return {
        "agent": agent.name,
        "role": agent.role.value,
        "may_read_audit": agent.role.may_read_audit,
        "may_administer": agent.role.may_administer,
        "groups": [group.to_json() for group in groups],
    }
