"""Step-up for sensitive operations: a TOTP code (RFC 6238) or a supervisor's approval.

Either earns a *grant*: an opaque token (the backend keeps only its sha256) bound to one agent
and one operation, valid for ``step_up_ttl_s`` seconds and spent by the first request that
uses it. The backend refuses its sensitive endpoints without one (403 ``step_up_required``),
and a client spends one on ``POST /api/v1/step-up/redeem`` right before an operation that it
carries out in another system (bulk close, merge across systems). Every grant stays in
``step_up_grants`` as the backend's record: who, what, how, approved by whom, when, used for
what. Grants live in the database, so replicas share them and a grant is spent only once
across all of them. A TOTP code is accepted once: the time step it was accepted for is
remembered.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.authz import supervised
from backend.core.security import hash_token
from backend.crud import AgentInfo
from backend.errors import AccessDenied, Conflict, NotFound, StepUpRequired
from backend.models import Agent, StepUpApproval, StepUpGrant

ISSUER = "Tabless"
MAX_USED_FOR = 1000


class Operation(StrEnum):
    """Operations that need a step-up."""

    BULK_CLOSE = "bulk_close"
    MERGE_ACROSS_SYSTEMS = "merge_across_systems"
    EXPORT_CUSTOMER_DATA = "export_customer_data"


@dataclass(frozen=True, slots=True)
class Grant:
    """A step-up grant as plain data (never its token)."""

    id: str
    agent: str
    operation: Operation
    method: str
    approver: str | None
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_for: str | None

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "grant_id": self.id,
            "agent": self.agent,
            "operation": self.operation.value,
            "method": self.method,
            "approver": self.approver,
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "used_at": _iso(self.used_at) if self.used_at else None,
            "used_for": self.used_for,
        }


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
    """Grant a request: by a supervisor of the requester (:func:`backend.authz.supervised`) or
    an admin, never by the requester themself; 404 for a request the approver may not see."""
    if not approver.role.may_read_audit:
        raise AccessDenied("only a supervisor or an admin grants approvals")
    row = session.get(StepUpApproval, approval_id)
    if row is not None and row.agent_id == approver.id:
        raise AccessDenied("nobody approves their own request", code="self_approval")
    row = _approvable(session, approval_id, approver)
    if row is None:
        raise NotFound(f"no approval request {approval_id} that you may grant")
    if row.status == "pending":
        row.status = "granted"
        row.approver_id = approver.id
        row.granted_at = datetime.now(UTC)
        session.flush()
    return approval_json(session, row)


def _approvable(session: Session, approval_id: str, approver: AgentInfo) -> StepUpApproval | None:
    return session.scalar(
        select(StepUpApproval).where(
            StepUpApproval.id == approval_id,
            StepUpApproval.agent_id != approver.id,
            supervised(session, approver, StepUpApproval.agent_id),
        )
    )


def pending_approvals(session: Session, approver: AgentInfo) -> list[dict[str, Any]]:
    """The pending requests ``approver`` may grant, oldest first (403 for a plain agent)."""
    rows = session.scalars(
        select(StepUpApproval)
        .where(
            StepUpApproval.status == "pending",
            StepUpApproval.agent_id != approver.id,
            supervised(session, approver, StepUpApproval.agent_id),
        )
        .order_by(StepUpApproval.created_at)
        .limit(500)
    )
    return [approval_json(session, row) for row in rows]


def approval_for(session: Session, approval_id: str, agent: AgentInfo) -> StepUpApproval:
    """The requester's own approval request (404 for anyone else's)."""
    row = session.get(StepUpApproval, approval_id)
    if row is None or row.agent_id != agent.id:
        raise NotFound(f"no approval request {approval_id} of yours")
    return row


def visible_approval(session: Session, approval_id: str, caller: AgentInfo) -> dict[str, Any]:
    """A request as its requester or one of its possible approvers sees it (else 404)."""
    row = session.get(StepUpApproval, approval_id)
    if row is not None and row.agent_id != caller.id:
        row = _approvable(session, approval_id, caller) if caller.role.may_read_audit else None
    if row is None:
        raise NotFound(f"no approval request {approval_id} that you may see")
    return approval_json(session, row)


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
        "created_at": _iso(row.created_at),
        "granted_at": _iso(row.granted_at) if row.granted_at else None,
    }


def grant_for_totp(
    session: Session, agent: AgentInfo, operation: Operation, code: str, *, ttl_s: int
) -> tuple[str, Grant]:
    """Check ``code`` (:func:`check_totp`) and issue a grant for ``operation``."""
    now = datetime.now(UTC)
    check_totp(session, agent, code, now)
    return _issue(session, agent, operation, method="totp", ttl_s=ttl_s, now=now)


def grant_for_approval(
    session: Session, approval_id: str, agent: AgentInfo, *, ttl_s: int
) -> tuple[str, Grant]:
    """The one grant a granted approval earns its requester.

    409 ``approval_pending`` while it waits, ``approval_used`` once its grant was issued,
    ``approval_expired`` when it was granted more than ``ttl_s`` seconds ago.
    """
    row = approval_for(session, approval_id, agent)
    if row.status != "granted" or row.granted_at is None:
        raise Conflict("the request is not granted yet", code="approval_pending")
    if session.scalar(select(StepUpGrant.id).where(StepUpGrant.approval_id == row.id)):
        raise Conflict("this approval's grant was already issued", code="approval_used")
    now = datetime.now(UTC)
    if now - row.granted_at > timedelta(seconds=ttl_s):
        raise Conflict("the approval expired: ask again", code="approval_expired")
    return _issue(
        session,
        agent,
        Operation(row.operation),
        method="approval",
        ttl_s=ttl_s,
        now=now,
        approval=row,
    )


def _issue(
    session: Session,
    agent: AgentInfo,
    operation: Operation,
    *,
    method: str,
    ttl_s: int,
    now: datetime,
    approval: StepUpApproval | None = None,
) -> tuple[str, Grant]:
    token = secrets.token_urlsafe(32)
    row = StepUpGrant(
        id=str(uuid.uuid4()),
        token_sha256=hash_token(token),
        agent_id=agent.id,
        operation=operation.value,
        method=method,
        approval_id=approval.id if approval else None,
        approver_id=approval.approver_id if approval else None,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    session.flush()
    return token, _grant(session, row)


def check_grant(
    session: Session, agent: AgentInfo, operation: Operation, token: str | None
) -> Grant:
    """The valid, unused grant ``token`` of ``agent`` for ``operation``, without spending it;
    :class:`StepUpRequired` (403) otherwise."""
    return _grant(session, _usable(session, agent, operation, token, lock=False))


def redeem(
    session: Session, agent: AgentInfo, operation: Operation, token: str | None, used_for: str
) -> Grant:
    """Spend grant ``token`` on ``used_for`` (the request, or the client's description of the
    operation); :class:`StepUpRequired` (403) when it is missing, unknown, another agent's or
    operation's, expired or already spent. The row is locked: two requests never both spend
    one grant, on any replica."""
    row = _usable(session, agent, operation, token, lock=True)
    row.used_at = datetime.now(UTC)
    row.used_for = used_for[:MAX_USED_FOR]
    session.flush()
    return _grant(session, row)


def _usable(
    session: Session, agent: AgentInfo, operation: Operation, token: str | None, *, lock: bool
) -> StepUpGrant:
    if not token:
        raise _required(operation, "missing", f"{operation.value} needs a step-up grant")
    query = select(StepUpGrant).where(StepUpGrant.token_sha256 == hash_token(token))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.agent_id != agent.id:
        raise _required(operation, "unknown", "the step-up grant is unknown")
    if row.operation != operation.value:
        raise _required(operation, "other_operation", f"the step-up grant is for {row.operation}")
    if row.used_at is not None:
        raise _required(operation, "used", "the step-up grant was already used")
    if row.expires_at <= datetime.now(UTC):
        raise _required(operation, "expired", "the step-up grant expired")
    return row


def list_grants(
    session: Session,
    caller: AgentInfo,
    *,
    agent: str | None = None,
    operation: Operation | None = None,
    limit: int = 100,
) -> list[Grant]:
    """The grants of the agents ``caller`` supervises, newest first (403 for a plain agent)."""
    query = select(StepUpGrant).where(supervised(session, caller, StepUpGrant.agent_id))
    if agent is not None:
        query = query.join(Agent, Agent.id == StepUpGrant.agent_id).where(Agent.name == agent)
    if operation is not None:
        query = query.where(StepUpGrant.operation == operation.value)
    rows = session.scalars(query.order_by(StepUpGrant.issued_at.desc()).limit(limit))
    return [_grant(session, row) for row in rows]


def _grant(session: Session, row: StepUpGrant) -> Grant:
    owner = session.get(Agent, row.agent_id)
    approver = session.get(Agent, row.approver_id) if row.approver_id is not None else None
    return Grant(
        id=row.id,
        agent=owner.name if owner else "",
        operation=Operation(row.operation),
        method=row.method,
        approver=approver.name if approver else None,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_for=row.used_for,
    )


def _required(operation: Operation, reason: str, message: str) -> StepUpRequired:
    return StepUpRequired(
        message=f"{message}: step up (TOTP or a supervisor's approval) and retry",
        details={"operation": operation.value, "reason": reason},
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
