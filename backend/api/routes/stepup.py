"""``/api/v1/step-up``: a second factor or a supervisor's approval for a sensitive operation.

    POST /step-up/totp/enrol                           -> {"secret", "otpauth_uri"} (once)
    POST /step-up/totp/verify  {operation, code}       -> grant: {"step_up_token", "grant_id",
                                                          "expires_at", ...}
    POST /step-up/approvals    {operation, reason}     -> {"id", "status": "pending", ...}
    GET  /step-up/approvals                            -> pending requests the caller may grant
    GET  /step-up/approvals/{id}                       -> the request (requester or approver)
    POST /step-up/approvals/{id}/grant                 (a supervisor of the requester, or admin)
    POST /step-up/approvals/{id}/token                 -> grant (the requester, once granted;
                                                          once per approval)
    GET  /step-up/check?operation=...                  -> 200 or 403, does not spend the grant
    POST /step-up/redeem {operation, used_for}         -> spends the grant (bulk close, merge
                                                          across systems: done by the client)
    GET  /step-up/grants                               -> the record of step-ups (supervisor:
                                                          of the agents it supervises; admin)
    DELETE /step-up/totp/{agent_name} (admin): reset a lost second factor

A grant travels in the ``X-Step-Up-Token`` header. It is bound to the agent and the operation,
expires after ``step_up_ttl_s`` seconds and is spent by the first request that uses it: the
backend's sensitive endpoints (``GET /api/v1/audit/export.csv``) and ``/step-up/redeem``
answer 403 ``step_up_required`` without a valid one. The client also records the step-up in
its signed audit journal (``journal.record_event(event="step_up")``, see ``app.stepup``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from app.audit.wire import MAX_NAME_LENGTH
from backend import stepup
from backend.api.deps import AdminAgent, CurrentAgent, DatabaseDep, SettingsDep
from backend.errors import Conflict
from backend.stepup import Grant, Operation

router = APIRouter(prefix="/step-up", tags=["step-up"])
log = logging.getLogger("tabless.backend.step_up")

StepUpToken = Annotated[
    str | None,
    Header(max_length=4000, description="A step-up grant's token (POST /step-up/totp/verify)"),
]


class TotpCode(BaseModel):
    """``POST /step-up/totp/verify`` body."""

    operation: Operation
    code: str = Field(pattern=r"^[0-9]{6}$")


class ApprovalRequest(BaseModel):
    """``POST /step-up/approvals`` body."""

    operation: Operation
    reason: str = Field(min_length=1, max_length=1000)


class Redemption(BaseModel):
    """``POST /step-up/redeem`` body: the operation about to be carried out."""

    operation: Operation
    used_for: str = Field(
        min_length=1,
        max_length=stepup.MAX_USED_FOR,
        description="What the grant is spent on, e.g. 'bulk close of 40 tickets in zendesk'",
    )


def _granted(token: str, grant: Grant) -> dict[str, Any]:
    log.info(
        "step-up granted",
        extra={
            "agent": grant.agent,
            "operation": grant.operation.value,
            "method": grant.method,
            "approver": grant.approver,
            "grant": grant.id,
        },
    )
    return {"step_up_token": token, **grant.to_json()}


def spent(grant: Grant) -> dict[str, Any]:
    """Log that ``grant`` was used; its API form."""
    log.info(
        "step-up used",
        extra={
            "agent": grant.agent,
            "operation": grant.operation.value,
            "grant": grant.id,
            "used_for": grant.used_for,
        },
    )
    return grant.to_json()


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
    body: TotpCode, agent: CurrentAgent, database: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """Exchange a current TOTP code for a grant for ``operation``; 403 for a wrong, expired or
    reused code."""
    with database.write_session() as session:
        token, grant = stepup.grant_for_totp(
            session, agent, body.operation, body.code, ttl_s=settings.step_up_ttl_s
        )
        session.commit()
    return _granted(token, grant)


@router.post("/approvals", status_code=status.HTTP_201_CREATED)
def request_approval(
    body: ApprovalRequest, agent: CurrentAgent, database: DatabaseDep
) -> dict[str, Any]:
    """Ask a supervisor to approve ``operation``."""
    with database.write_session() as session:
        found = stepup.request_approval(session, agent, body.operation, body.reason)
        session.commit()
    return found


@router.get("/approvals")
def pending_approvals(agent: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """``{"approvals": [...]}``: pending requests the caller may grant (403 for an agent)."""
    with database.session() as session:
        return {"approvals": stepup.pending_approvals(session, agent)}


@router.get("/approvals/{approval_id}")
def get_approval(approval_id: str, agent: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """One request, for its requester (to poll) or an approver; 404 for anyone else."""
    with database.session() as session:
        return stepup.visible_approval(session, approval_id, agent)


@router.post("/approvals/{approval_id}/grant")
def grant_approval(approval_id: str, agent: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """Grant a request (a supervisor of the requester or an admin; 403 for the requester or a
    plain agent, 404 for a request outside the supervisor's groups)."""
    with database.write_session() as session:
        found = stepup.grant_approval(session, approval_id, agent)
        session.commit()
    return found


@router.post("/approvals/{approval_id}/token")
def approval_token(
    approval_id: str, agent: CurrentAgent, database: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """The requester's grant once the request is granted (409 while pending, once it was
    issued, or when the approval is older than the grant lifetime)."""
    with database.write_session() as session:
        try:
            token, grant = stepup.grant_for_approval(
                session, approval_id, agent, ttl_s=settings.step_up_ttl_s
            )
            session.commit()
        except IntegrityError:  # the same request twice at once: the other one won
            raise Conflict(
                "this approval's grant was already issued", code="approval_used"
            ) from None
    return _granted(token, grant)


@router.get("/check")
def check_step_up(
    operation: Operation,
    agent: CurrentAgent,
    database: DatabaseDep,
    x_step_up_token: StepUpToken = None,
) -> dict[str, Any]:
    """Whether the ``X-Step-Up-Token`` grant allows the caller ``operation`` now (else 403
    ``step_up_required``); the grant is not spent."""
    with database.session() as session:
        return stepup.check_grant(session, agent, operation, x_step_up_token).to_json()


@router.post("/redeem")
def redeem(
    body: Redemption,
    agent: CurrentAgent,
    database: DatabaseDep,
    x_step_up_token: StepUpToken = None,
) -> dict[str, Any]:
    """Spend the ``X-Step-Up-Token`` grant on an operation the client carries out in another
    system (bulk close, merge across systems) right before it does; 403 ``step_up_required``
    for a missing, unknown, expired, spent or mismatched grant."""
    with database.write_session() as session:
        grant = stepup.redeem(session, agent, body.operation, x_step_up_token, body.used_for)
        session.commit()
    return spent(grant)


@router.get("/grants")
def list_grants(
    caller: CurrentAgent,
    database: DatabaseDep,
    agent: Annotated[str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH)] = None,
    operation: Operation | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """``{"grants": [...]}``, newest first: the step-ups of the agents the caller supervises
    (admin: all; 403 for a plain agent)."""
    with database.session() as session:
        grants = stepup.list_grants(session, caller, agent=agent, operation=operation, limit=limit)
    return {"grants": [grant.to_json() for grant in grants]}
