"""Administration (role ``admin``): agents and their tokens, permission groups, memberships."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from app.audit.wire import MAX_NAME_LENGTH
from backend import crud, groups
from backend.api.deps import AdminAgent, DatabaseDep
from backend.core.security import Role, Scope, new_token

router = APIRouter(tags=["admin"])

_Name = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S")


class NewAgent(BaseModel):
    """``POST /api/v1/agents`` body."""

    name: str = _Name
    role: Role = Role.AGENT


class Department(BaseModel):
    """A system, optionally narrowed to one of its queues or agent groups."""

    system_id: str = _Name
    queue: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    group: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)


class NewGroup(BaseModel):
    """``POST /api/v1/groups`` body."""

    name: str = _Name
    departments: list[Department] = Field(max_length=500)
    scope: Scope


@router.post("/agents", status_code=status.HTTP_201_CREATED)
def create_agent(
    body: NewAgent, _admin: AdminAgent, database: DatabaseDep, response: Response
) -> dict[str, Any]:
    """Create an agent (201) or give an existing one a new role and token (200).

    The token is in this response only; the backend keeps its sha256.
    """
    token = new_token()
    with database.write_session() as session:
        created = crud.upsert_agent(session, name=body.name, role=body.role, token=token)
        session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"name": body.name, "role": body.role.value, "token": token}


@router.post("/groups", status_code=status.HTTP_201_CREATED)
def create_group(body: NewGroup, _admin: AdminAgent, database: DatabaseDep) -> dict[str, Any]:
    """Create a permission group; 409 when the name is taken."""
    departments = [d.model_dump(exclude_none=True) for d in body.departments]
    with database.write_session() as session:
        group = groups.create_group(
            session, name=body.name, departments=departments, scope=body.scope
        )
        session.commit()
    return group.to_json()


@router.get("/groups")
def list_groups(_admin: AdminAgent, database: DatabaseDep) -> dict[str, Any]:
    """Every permission group with its members."""
    with database.session() as session:
        found = [
            {**group.to_json(), "members": groups.members(session, group.id)}
            for group in groups.list_groups(session)
        ]
    return {"groups": found}


@router.put("/groups/{group_id}/members/{agent_name}")
def add_member(
    group_id: str, agent_name: str, _admin: AdminAgent, database: DatabaseDep
) -> dict[str, Literal[True]]:
    """Put ``agent_name`` in the group (idempotent); 404 for an unknown group or agent."""
    with database.write_session() as session:
        groups.set_membership(session, group_id=group_id, agent_name=agent_name, member=True)
        session.commit()
    return {"member": True}


@router.delete("/groups/{group_id}/members/{agent_name}")
def remove_member(
    group_id: str, agent_name: str, _admin: AdminAgent, database: DatabaseDep
) -> dict[str, Literal[False]]:
    """Take ``agent_name`` out of the group (idempotent); 404 for an unknown group or agent."""
    with database.write_session() as session:
        groups.set_membership(session, group_id=group_id, agent_name=agent_name, member=False)
        session.commit()
    return {"member": False}
