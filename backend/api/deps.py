"""Request dependencies (``Annotated`` aliases, as in the FastAPI full-stack template).

There is deliberately no yield-dependency handing a Session to routes: FastAPI would open it,
use it and close it on three different worker threads. Routes take ``DatabaseDep`` and open a
session for the span of one synchronous call instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend import crud
from backend.core.config import Settings
from backend.core.db import Database
from backend.crud import AgentInfo

bearer = HTTPBearer(
    auto_error=False, description="The agent's token (`tabless backend create-agent`)"
)


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database."""
    database: Database = request.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_current_agent(
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AgentInfo:
    """The agent whose bearer token came with the request; 401 without a valid one."""
    if credentials is None:
        raise _unauthorized("Send 'Authorization: Bearer <token>'")
    with database.session() as session:
        agent = crud.agent_for_token(session, credentials.credentials)
    if agent is None:
        raise _unauthorized("Unknown or revoked token")
    return agent


CurrentAgent = Annotated[AgentInfo, Depends(get_current_agent)]


def get_audit_reader(agent: CurrentAgent) -> AgentInfo:
    """The current agent if it may read every audit record (supervisor, admin); else 403."""
    if not agent.role.may_read_audit:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"Role {agent.role.value!r} may not read audit records"
        )
    return agent


AuditReader = Annotated[AgentInfo, Depends(get_audit_reader)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )
