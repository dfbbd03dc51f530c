"""``/api/v1/me``: what the calling agent is allowed to do (for the client's UI)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend import groups
from backend.api.deps import CurrentAgent, DatabaseDep

router = APIRouter(prefix="/me", tags=["me"])


@router.get("/permissions")
def my_permissions(agent: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """``{"agent", "role", "may_read_audit", "may_administer", "groups": [{"id", "name",
    "departments": [{"system_id", "queue"?, "group"?}], "scope"}]}``."""
    with database.session() as session:
        return groups.permissions(session, agent)
