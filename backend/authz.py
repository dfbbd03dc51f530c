"""Who may read which audit records: the one function list, detail and export all use; and
whose step-ups a supervisor approves and sees (:func:`supervised`).

* ``admin``: every record.
* ``supervisor``: the union over its permission groups of what each grants — ``all``: every
  record; ``department``: records of the group's systems; ``team``: records of the group's
  members within its systems; ``own``: its own records within the group's systems. No group:
  nothing.
* ``agent``: may not read audit records (403).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.core.security import Role, Scope
from backend.crud import AgentInfo
from backend.errors import AccessDenied
from backend.groups import groups_of
from backend.models import Agent, AuditRecordRow, GroupMember


def audit_visibility(session: Session, caller: AgentInfo) -> ColumnElement[bool]:
    """The SQL condition on ``audit_records`` rows ``caller`` may see; 403 for a plain agent."""
    if caller.role is Role.ADMIN:
        return true()
    if not caller.role.may_read_audit:
        raise AccessDenied(f"role {caller.role.value!r} may not read audit records")
    conditions: list[ColumnElement[bool]] = []
    for group in groups_of(session, caller.id):
        if group.scope is Scope.ALL:
            return true()
        within = AuditRecordRow.system_id.in_(sorted(group.systems))
        if group.scope is Scope.DEPARTMENT:
            conditions.append(within)
        elif group.scope is Scope.TEAM:
            team = (
                select(Agent.name)
                .join(GroupMember, GroupMember.agent_id == Agent.id)
                .where(GroupMember.group_id == group.id)
            )
            conditions.append(and_(within, AuditRecordRow.agent.in_(team)))
        else:
            conditions.append(and_(within, AuditRecordRow.agent == caller.name))
    return or_(*conditions) if conditions else false()


def supervised(
    session: Session, caller: AgentInfo, agent_id: InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """The SQL condition on ``agent_id`` (a column holding an agent's id) for the agents whose
    step-up requests and grants ``caller`` may see and approve.

    * ``admin``: everybody.
    * ``supervisor``: everybody through a group of scope ``all``; the members of its groups of
      scope ``team`` or ``department``; nobody through ``own``. Never itself (nobody approves
      their own request: :func:`backend.stepup.grant_approval` refuses it on its own).
    * ``agent``: nobody (403).
    """
    if caller.role is Role.ADMIN:
        return true()
    if not caller.role.may_read_audit:
        raise AccessDenied(f"role {caller.role.value!r} may not approve step-ups")
    teams: list[str] = []
    for group in groups_of(session, caller.id):
        if group.scope is Scope.ALL:
            return true()
        if group.scope in (Scope.TEAM, Scope.DEPARTMENT):
            teams.append(group.id)
    if not teams:
        return false()
    members = select(GroupMember.agent_id).where(GroupMember.group_id.in_(teams))
    return agent_id.in_(members)
