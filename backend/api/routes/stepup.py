"""``/api/v1/step-up``: a second factor or a supervisor's approval for a sensitive operation.

    POST /step-up/totp/enrol                 -> {"secret", "otpauth_uri"} (once per agent)
    POST /step-up/totp/verify  {operation, code}   -> {"step_up_token", "expires_at", ...}
    POST /step-up/approvals    {operation, reason} -> {"id", "status": "pending", ...}
    POST /step-up/approvals/{id}/grant (supervisor/admin, not the requester)
    POST /step-up/approvals/{id}/token (the requester, once granted) -> {"step_up_token", ...}
    GET  /step-up/check?operation=... with ``X-Step-Up-Token`` -> 200 or 403
    DELETE /step-up/totp/{agent_name} (admin): reset a lost second factor

The client records the step-up in its audit journal (``journal.record_event(event="step_up")``);
the backend keeps every approval request with its approver.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from pydantic import BaseModel, Field

from backend import stepup
from backend.api.deps import AdminAgent, CurrentAgent, DatabaseDep, SettingsDep
from backend.errors import Conflict
from backend.stepup import Operation

router = APIRouter(prefix="/step-up", tags=["step-up"])
log = logging.getLogger("tabless.backend.step_up")


class TotpCode(BaseModel):
    """``POST /step-up/totp/verify`` body."""

    operation: Operation
    code: str = Field(pattern=r"^[0-9]{6}$")


class ApprovalRequest(BaseModel):
    """``POST /step-up/approvals`` body."""

    operation: Operation
    reason: str = Field(min_length=1, max_length=1000)


def _secret(request: Request) -> str:
    secret: str = request.app.state.step_up_secret
    return secret


def _token_body(
    request: Request,
    ttl_s: int,
    *,
    agent: str,
    operation: Operation,
    method: str,
    approver: str | None,
) -> dict[str, Any]:
    token, expires = stepup.issue_token(
        _secret(request),
        agent=agent,
        operation=operation,
        method=method,
        approver=approver,
        ttl_s=ttl_s,
        now=datetime.now(UTC),
    )
    log.info(
        "step-up granted",
        extra={
            "agent": agent,
            "operation": operation.value,
            "method": method,
            "approver": approver,
        },
    )
    return {
        "step_up_token": token,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "operation": operation.value,
        "method": method,
        "approver": approver,
    }


@router.post("/totp/enrol", status_code=status.HTTP_201_CREATED)
def enrol_totp(agent: CurrentAgent, database: DatabaseDep) -> dict[str, str]:
    """Enrol a TOTP second factor: the secret and ``otpauth://`` URI (for a QR code), once."""
    with database.write_session() as session:
        enrolled = stepup.enrol_totp(session, agent)
        session.commit()
    return enrolled


@router.delete("/totp/{agent_name}")
def reset_totp(agent_name: str, _admin: AdminAgent, database: DatabaseDep) -> dict[str, bool]:
    """Remove an agent's second factor so that it can enrol again (admin)."""
    with database.write_session() as session:
        stepup.reset_totp(session, agent_name)
        session.commit()
    return {"enrolled": False}


@router.post("/totp/verify")
def verify_totp(
    body: TotpCode,
    agent: CurrentAgent,
    database: DatabaseDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """Exchange a current TOTP code for a step-up token for ``operation``; 403 for a wrong,
    expired or reused code."""
    with database.write_session() as session:
        stepup.check_totp(session, agent, body.code, datetime.now(UTC))
        session.commit()
    return _token_body(
        request,
        settings.step_up_ttl_s,
        agent=agent.name,
        operation=body.operation,
        method="totp",
        approver=None,
    )


@router.post("/approvals", status_code=status.HTTP_201_CREATED)
def request_approval(
    body: ApprovalRequest, agent: CurrentAgent, database: DatabaseDep
) -> dict[str, Any]:
    """Ask a supervisor to approve ``operation``."""
    with database.write_session() as session:
        found = stepup.request_approval(session, agent, body.operation, body.reason)
        session.commit()
    return found


@router.post("/approvals/{approval_id}/grant")
def grant_approval(approval_id: str, agent: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """Grant a request (supervisor or admin; 403 for the requester or a plain agent)."""
    with database.write_session() as session:
        found = stepup.grant_approval(session, approval_id, agent)
        session.commit()
    return found


@router.post("/approvals/{approval_id}/token")
def approval_token(
    approval_id: str,
    agent: CurrentAgent,
    database: DatabaseDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """The requester's step-up token once the request is granted (409 while pending)."""
    with database.session() as session:
        row = stepup.approval_for(session, approval_id, agent)
        found = stepup.approval_json(session, row)
    if found["status"] != "granted":
        raise Conflict("the request is not granted yet", code="approval_pending")
    return _token_body(
        request,
        settings.step_up_ttl_s,
        agent=agent.name,
        operation=Operation(found["operation"]),
        method="approval",
        approver=found["approver"],
    )


@router.get("/check")
def check_step_up(
    operation: Operation,
    agent: CurrentAgent,
    request: Request,
    x_step_up_token: Annotated[str, Header(min_length=1, max_length=4000)],
) -> dict[str, Any]:
    """Whether the ``X-Step-Up-Token`` header allows the caller ``operation`` now (else 403)."""
    claims = stepup.read_token(
        _secret(request), x_step_up_token, agent=agent.name, operation=operation
    )
    return {
        "operation": claims.operation.value,
        "method": claims.method,
        "approver": claims.approver,
        "expires_at": claims.expires_at.isoformat().replace("+00:00", "Z"),
    }
