"""Probes for load balancers and orchestrators; no token needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from backend.api.deps import DatabaseDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (says nothing about the database)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request, database: DatabaseDep) -> dict[str, str] | JSONResponse:
    """The database answers and its schema is current; 503 otherwise."""
    expected: str | None = request.app.state.schema_revision
    problem = database.readiness_problem(expected)
    if problem:
        return JSONResponse({"status": "unavailable", "problem": problem}, status_code=503)
    return {"status": "ready", "revision": expected or ""}
