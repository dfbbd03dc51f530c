"""Step-up for sensitive operations: TOTP (RFC 6238) or a supervisor's approval."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp

from tests.backend.conftest import RunningBackend


def new_agent(backend: RunningBackend, name: str, role: str) -> str:
    response = backend.client().post("/api/v1/agents", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def test_totp_enrolment_and_a_code_exchanged_once_for_a_token(backend: RunningBackend) -> None:
    alice = backend.client(new_agent(backend, "alice", "agent"))
    assert (
        alice.post(
            "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": "123456"}
        ).json()["detail"]["error"]
        == "totp_not_enrolled"
    )
    enrolled = alice.post("/api/v1/step-up/totp/enrol")
    assert enrolled.status_code == 201
    secret = enrolled.json()["secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/Tabless:alice")
    assert alice.post("/api/v1/step-up/totp/enrol").status_code == 409
    totp = pyotp.TOTP(secret)

    now = datetime.now(UTC)
    nearby = {totp.at(now + timedelta(seconds=delta)) for delta in (-30, 0, 30)}
    wrong_code = next(code for code in ("000000", "111111", "222222") if code not in nearby)
    wrong = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": wrong_code}
    )
    assert wrong.status_code == 403 and wrong.json()["detail"]["error"] == "totp_invalid"
    code = totp.now()
    granted = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": code}
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["method"] == "totp" and body["operation"] == "bulk_close"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=300)
    replay = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": code}
    )
    assert replay.status_code == 403 and replay.json()["detail"]["error"] == "totp_replayed"

    token = body["step_up_token"]
    check = alice.get(
        "/api/v1/step-up/check",
        params={"operation": "bulk_close"},
        headers={"X-Step-Up-Token": token},
    )
    assert check.status_code == 200 and check.json()["method"] == "totp"
    other_op = alice.get(
        "/api/v1/step-up/check",
        params={"operation": "export_customer_data"},
        headers={"X-Step-Up-Token": token},
    )
    assert other_op.status_code == 403
    bob = backend.client(new_agent(backend, "bob", "agent"))
    stolen = bob.get(
        "/api/v1/step-up/check",
        params={"operation": "bulk_close"},
        headers={"X-Step-Up-Token": token},
    )
    assert stolen.status_code == 403
    assert backend.client().delete("/api/v1/step-up/totp/alice").status_code == 200
    assert alice.post("/api/v1/step-up/totp/enrol").status_code == 201


def test_a_token_expires(start_backend: Callable[..., RunningBackend]) -> None:
    backend = start_backend(step_up_ttl_s=10)
    from backend.errors import AccessDenied
    from backend.stepup import Operation, issue_token, read_token

    secret = "s" * 32
    old, _ = issue_token(
        secret,
        agent="alice",
        operation=Operation.BULK_CLOSE,
        method="totp",
        approver=None,
        ttl_s=10,
        now=datetime.now(UTC) - timedelta(seconds=60),
    )
    try:
        read_token(secret, old, agent="alice", operation=Operation.BULK_CLOSE)
    except AccessDenied as exc:
        assert "expired" in str(exc).lower()
    else:
        raise AssertionError("an expired token was accepted")
    forged = backend.client().get(
        "/api/v1/step-up/check",
        params={"operation": "bulk_close"},
        headers={"X-Step-Up-Token": old},
    )
    assert forged.status_code == 403  # another secret, and expired


def test_supervisor_approval(backend: RunningBackend) -> None:
    alice = backend.client(new_agent(backend, "alice", "agent"))
    bob = backend.client(new_agent(backend, "bob", "agent"))
    sue = backend.client(new_agent(backend, "sue", "supervisor"))
    asked = alice.post(
        "/api/v1/step-up/approvals",
        json={"operation": "merge_across_systems", "reason": "同一客户的两张工单"},
    )
    assert asked.status_code == 201
    approval = asked.json()["id"]
    assert asked.json()["status"] == "pending"

    assert alice.post(f"/api/v1/step-up/approvals/{approval}/token").status_code == 409
    assert bob.post(f"/api/v1/step-up/approvals/{approval}/grant").status_code == 403
    assert bob.post(f"/api/v1/step-up/approvals/{approval}/token").status_code == 404
    granted = sue.post(f"/api/v1/step-up/approvals/{approval}/grant")
    assert granted.status_code == 200 and granted.json()["approver"] == "sue"

    token = alice.post(f"/api/v1/step-up/approvals/{approval}/token")
    assert token.status_code == 200
    assert token.json()["method"] == "approval" and token.json()["approver"] == "sue"
    check = alice.get(
        "/api/v1/step-up/check",
        params={"operation": "merge_across_systems"},
        headers={"X-Step-Up-Token": token.json()["step_up_token"]},
    )
    assert check.status_code == 200 and check.json()["approver"] == "sue"

    own = sue.post(
        "/api/v1/step-up/approvals", json={"operation": "bulk_close", "reason": "mine"}
    ).json()["id"]
    refused = sue.post(f"/api/v1/step-up/approvals/{own}/grant")
    assert refused.status_code == 403 and refused.json()["detail"]["error"] == "self_approval"
    assert sue.post("/api/v1/step-up/approvals/nope/grant").status_code == 404
