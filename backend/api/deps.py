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
from backend.core.ratelimit import TokenBuckets
from backend.crud import AgentInfo

bearer = HTTPBearer(
    auto_error=False, description="The agent's token (`tabless backend create-agent`)"
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (``async``: FastAPI runs a plain ``def``
    dependency on a worker thread, a hand-off that cost more than this lookup)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    """The app's database (``async``, as :func:`get_settings`)."""
    database: Database = request.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_current_agent(
    request: Request, database: DatabaseDep, credentials: BearerCredentials
) -> AgentInfo:
    """The agent whose bearer token came with the request (:func:`authenticate`)."""
    return authenticate(request, database, credentials)


def authenticate(
    request: Request, database: Database, credentials: HTTPAuthorizationCredentials | None
) -> AgentInfo:
    """The agent holding the bearer token ``credentials``; 401 without a valid one, 429 when
    it exceeds its rate (per backend process, see :mod:`backend.core.ratelimit`). Blocking (a
    database read): for a worker thread."""
    if credentials is None:
        raise _unauthorized("Send 'Authorization: Bearer <token>'")
    with database.read_connection() as connection:
        agent = crud.agent_for_token(connection, credentials.credentials)
    if agent is None:
        raise _unauthorized("Unknown or revoked token")
    buckets: TokenBuckets = request.app.state.rate_limits
    wait = buckets.take(agent.id)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Agent {agent.name!r} exceeds {buckets.rate:g} requests per second",
            headers={"Retry-After": buckets.retry_after(wait)},
        )
    return agent


CurrentAgent = Annotated[AgentInfo, Depends(get_current_agent)]


def get_admin(agent: CurrentAgent) -> AgentInfo:
    """The current agent if its role is admin; else 403."""
    if not agent.role.may_administer:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"Role {agent.role.value!r} may not administer"
        )
    return agent


AdminAgent = Annotated[AgentInfo, Depends(get_admin)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )
