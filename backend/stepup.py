"""Step-up for sensitive operations: a TOTP code (RFC 6238) or a supervisor's approval.

Either yields a short-lived step-up token: a JWT (HS256) naming the agent, the operation and
how it was earned, signed with the backend's step-up secret. Replicas must share that secret
(``TABLESS_BACKEND_STEP_UP_SECRET``); without one each process makes its own at start.
A TOTP code is accepted once: the time step it was accepted for is remembered.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.crud import AgentInfo
from backend.errors import AccessDenied, Conflict, NotFound
from backend.models import Agent, StepUpApproval

ISSUER = "Tabless"
_ALGORITHM = "HS256"
_AUDIENCE = "tabless-step-up"


class Operation(StrEnum):
    """Operations that need a step-up."""

    BULK_CLOSE = "bulk_close"
    MERGE_ACROSS_SYSTEMS = "merge_across_systems"
    EXPORT_CUSTOMER_DATA = "export_customer_data"


@dataclass(frozen=True, slots=True)
class StepUp:
    """A verified step-up token's claims."""

    agent: str
    operation: Operation
    method: str
    approver: str | None
    expires_at: datetime


def enrol_totp(session: Session, agent: AgentInfo) -> dict[str, str]:
    """Give ``agent`` a TOTP secret (409 when it has one: an admin resets it)."""
    row = session.get(Agent, agent.id)
    assert row is not None
    if row.totp_secret is not None:
        raise Conflict("a second factor is already enrolled", code="totp_enrolled")
    secret = pyotp.random_base32()
    row.totp_secret = secret
    row.totp_last_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=agent.name, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri}


def reset_totp(session: Session, agent_name: str) -> None:
    """Remove an agent's second factor (admin); 404 for an unknown agent."""
    row = session.scalar(select(Agent).where(Agent.name == agent_name))
    if row is None:
        raise NotFound(f"no agent {agent_name!r}")
    row.totp_secret = None
    row.totp_last_step = None
    session.flush()


def check_totp(session: Session, agent: AgentInfo, code: str, now: datetime) -> None:
    """Accept ``code`` (this or the neighbouring 30 s step) once; 403 otherwise."""
    row = session.get(Agent, agent.id)
    assert row is not None
    if row.totp_secret is None:
        raise AccessDenied("no second factor enrolled", code="totp_not_enrolled")
    totp = pyotp.TOTP(row.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if row.totp_last_step is not None and step <= row.totp_last_step:
                raise AccessDenied("this code was already used", code="totp_replayed")
            row.totp_last_step = step
            session.flush()
            return
    raise AccessDenied("the code is wrong or expired", code="totp_invalid")


def request_approval(
    session: Session, agent: AgentInfo, operation: Operation, reason: str
) -> dict[str, Any]:
    """A pending approval request."""
    row = StepUpApproval(
        id=str(uuid.uuid4()),
        agent_id=agent.id,
        operation=operation.value,
        reason=reason,
        status="pending",
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return approval_json(session, row)


def grant_approval(session: Session, approval_id: str, approver: AgentInfo) -> dict[str, Any]:
    """Grant a request: by a supervisor or admin, never by the requester themself."""
    if not approver.role.may_read_audit:
        raise AccessDenied("only a supervisor or an admin grants approvals")
    row = session.get(StepUpApproval, approval_id)
    if row is None:
        raise NotFound(f"no approval request {approval_id}")
    if row.agent_id == approver.id:
        raise AccessDenied("nobody approves their own request", code="self_approval")
    if row.status == "pending":
        row.status = "granted"
        row.approver_id = approver.id
        row.granted_at = datetime.now(UTC)
        session.flush()
    return approval_json(session, row)


def approval_for(session: Session, approval_id: str, agent: AgentInfo) -> StepUpApproval:
    """The requester's own approval request (404 for anyone else's)."""
    row = session.get(StepUpApproval, approval_id)
    if row is None or row.agent_id != agent.id:
        raise NotFound(f"no approval request {approval_id} of yours")
    return row


def approval_json(session: Session, row: StepUpApproval) -> dict[str, Any]:
    """The API form of an approval request."""
    approver = session.get(Agent, row.approver_id) if row.approver_id is not None else None
    requester = session.get(Agent, row.agent_id)
    return {
        "id": row.id,
        "agent": requester.name if requester else None,
        "operation": row.operation,
        "reason": row.reason,
        "status": row.status,
        "approver": approver.name if approver else None,
    }


def issue_token(
    secret: str,
    *,
    agent: str,
    operation: Operation,
    method: str,
    approver: str | None,
    ttl_s: int,
    now: datetime,
) -> tuple[str, datetime]:
    """A step-up token and when it expires."""
    expires = now + timedelta(seconds=ttl_s)
    claims = {
        "sub": agent,
        "op": operation.value,
        "method": method,
        "approver": approver,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), expires


def read_token(secret: str, token: str, *, agent: str, operation: Operation) -> StepUp:
    """The claims of a valid, unexpired token for ``agent`` and ``operation``; 403 otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE)
    except jwt.PyJWTError as exc:
        raise AccessDenied(f"step-up token refused ({exc})", code="step_up_invalid") from None
    if claims.get("sub") != agent or claims.get("op") != operation.value:
        raise AccessDenied(
            "the step-up token is for another agent or operation", code="step_up_invalid"
        )
    return StepUp(
        agent=agent,
        operation=operation,
        method=str(claims.get("method")),
        approver=claims.get("approver"),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
