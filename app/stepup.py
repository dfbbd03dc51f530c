"""Step-up for sensitive operations, the workstation's side (no Qt): earn a grant, spend it.

Before a bulk close, a merge across systems or an export of customer data the workstation
asks the backend for a *grant*: with the agent's current TOTP code (:meth:`StepUpClient.
with_totp`), or by asking a supervisor and waiting for the approval
(:meth:`StepUpClient.request_approval`, then :meth:`StepUpClient.wait_for_approval`). A grant
is bound to the agent and the operation, expires within minutes and is spent once:

* operations carried out in another system (bulk close, merge): :meth:`StepUpClient.redeem`
  right before doing them; the backend records what the grant was used for;
* the backend's own CSV export: send :meth:`Grant.headers` with the request.

Record the step-up in the signed journal too, with what it allowed::

    grant = await step_up.with_totp(Operation.BULK_CLOSE, code)
    await step_up.redeem(grant, "bulk close of 40 tickets in zendesk")
    journal.record_event(conn, agent, device_id, event="step_up", now=now,
                         details=grant.audit_details())

Refusals raise :class:`StepUpError` whose ``code`` is the backend's (``totp_invalid``,
``totp_replayed``, ``totp_not_enrolled``, ``approval_pending``, ``approval_expired``,
``approval_used``, ``step_up_required``, ``forbidden``, ...). The grant's token is a bearer
secret: it lives in memory only and :func:`repr` never shows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from app.domain.errors import ErrorContext, TablessError

__all__ = ["Grant", "Operation", "StepUpClient", "StepUpError"]

TOKEN_HEADER = "X-Step-Up-Token"  # noqa: S105  (a header name, not a secret)


class Operation(StrEnum):
    """Operations the backend guards with a step-up (the same values as the backend's)."""

    BULK_CLOSE = "bulk_close"
    MERGE_ACROSS_SYSTEMS = "merge_across_systems"
    EXPORT_CUSTOMER_DATA = "export_customer_data"


@dataclass(eq=False)
class StepUpError(TablessError):
    """The backend refused a step-up request; ``code`` says why (see the module docstring)."""

    code: str = "step_up_error"


@dataclass(frozen=True, slots=True)
class Grant:
    """An earned step-up: spend it with :meth:`StepUpClient.redeem` or :meth:`headers`."""

    grant_id: str
    operation: Operation
    method: str
    """``totp`` or ``approval``."""
    approver: str | None
    expires_at: str
    """ISO-8601 UTC."""
    token: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        """The request header that carries this grant."""
        return {TOKEN_HEADER: self.token}

    def audit_details(self) -> dict[str, Any]:
        """What the journal's ``step_up`` record keeps (never the token)."""
        return {
            "operation": self.operation.value,
            "method": self.method,
            "approver": self.approver,
            "grant_id": self.grant_id,
        }


class StepUpClient:
    """Talks to the backend's ``/api/v1/step-up`` endpoints as the signed-in agent."""

    def __init__(
        self,
        backend_url: str,
        token: Callable[[], str],
        client: httpx.AsyncClient | None = None,
        *,
        poll_interval_s: float = 2.0,
    ) -> None:
        self.base = backend_url.rstrip("/") + "/api/v1/step-up"
        self._token = token
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)
        self.poll_interval_s = poll_interval_s

    async def with_totp(self, operation: Operation, code: str) -> Grant:
        """A grant for ``operation`` earned with the agent's current 6-digit TOTP code."""
        body = await self._call(
            "POST", "/totp/verify", json={"operation": operation.value, "code": code.strip()}
        )
        return _grant(body)

    async def enrol_totp(self) -> dict[str, str]:
        """Enrol a second factor: ``{"secret", "otpauth_uri"}`` for the agent's authenticator
        app (once; an admin resets a lost one)."""
        body = await self._call("POST", "/totp/enrol")
        return {"secret": str(body["secret"]), "otpauth_uri": str(body["otpauth_uri"])}

    async def request_approval(self, operation: Operation, reason: str) -> str:
        """Ask a supervisor to approve ``operation``; the request's id (to wait on)."""
        body = await self._call(
            "POST", "/approvals", json={"operation": operation.value, "reason": reason}
        )
        return str(body["id"])

    async def approval_status(self, approval_id: str) -> str:
        """``pending`` or ``granted``."""
        body = await self._call("GET", f"/approvals/{approval_id}")
        return str(body["status"])

    async def wait_for_approval(self, approval_id: str, *, timeout_s: float = 300.0) -> Grant:
        """Poll until a supervisor grants the request, then collect its grant (once).

        :class:`StepUpError` ``approval_timeout`` when nobody granted it within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while await self.approval_status(approval_id) != "granted":
            if time.monotonic() >= deadline:
                raise StepUpError(
                    f"no supervisor approved request {approval_id} within {timeout_s:g} s",
                    code="approval_timeout",
                    context=ErrorContext(record_id=approval_id),
                )
            await asyncio.sleep(self.poll_interval_s)
        return _grant(await self._call("POST", f"/approvals/{approval_id}/token"))

    async def redeem(self, grant: Grant, used_for: str) -> dict[str, Any]:
        """Spend ``grant`` on the operation about to be carried out (``used_for`` says what,
        e.g. ``"bulk close of 40 tickets in zendesk"``); the backend's record of it."""
        return await self._call(
            "POST",
            "/redeem",
            json={"operation": grant.operation.value, "used_for": used_for[:1000]},
            headers=grant.headers(),
        )

    async def aclose(self) -> None:
        """Close the HTTP client (when this object made it)."""
        if self._own_client:
            await self._client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(
                method,
                self.base + path,
                json=json,
                headers={"Authorization": f"Bearer {self._token()}", **(headers or {})},
            )
        except httpx.HTTPError as exc:
            raise StepUpError(
                f"the backend is unreachable ({type(exc).__name__})", code="unreachable"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            raise _refusal(response.status_code, body)
        return body


def _grant(body: dict[str, Any]) -> Grant:
    return Grant(
        grant_id=str(body["grant_id"]),
        operation=Operation(body["operation"]),
        method=str(body["method"]),
        approver=body.get("approver"),
        expires_at=str(body["expires_at"]),
        token=str(body["step_up_token"]),
    )


def _refusal(status: int, body: object) -> StepUpError:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = str(detail.get("error") or f"http_{status}")
        message = str(detail.get("message") or code)
        extra = {k: v for k, v in detail.items() if k not in ("error", "message")}
        return StepUpError(message, code=code, details={"status": status, **extra})
    message = str(detail) if detail else f"the backend answered {status}"
    return StepUpError(message, code=f"http_{status}", details={"status": status})
