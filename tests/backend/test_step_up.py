"""Step-up for sensitive operations, enforced by the backend: TOTP (RFC 6238) or a supervisor's
approval earns a grant bound to one agent and one operation, short-lived and single-use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import sqlalchemy as sa

from backend.core.db import Database
from tests.backend.conftest import RunningBackend, make_chain

EXPORT = "/api/v1/audit/export.csv"


def new_agent(backend: RunningBackend, name: str, role: str) -> str:
    response = backend.client().post("/api/v1/agents", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()["detail"]
    return body


def age(backend: RunningBackend, table: str, column: str, seconds: int) -> None:
    """Move ``column`` of every row of ``table`` ``seconds`` into the past (time passing)."""
    database = Database(backend.database_url)
    try:
        with database.write_session() as session:
            for row_id, moment in session.execute(sa.text(f"SELECT id, {column} FROM {table}")):
                if moment is None:
                    continue
                if isinstance(moment, str):  # SQLite: naive UTC text
                    moment = datetime.fromisoformat(moment)
                session.execute(
                    sa.text(f"UPDATE {table} SET {column} = :moment WHERE id = :id"),
                    {"moment": moment - timedelta(seconds=seconds), "id": row_id},
                )
            session.commit()
    finally:
        database.dispose()


def test_totp_enrolment_and_a_code_exchanged_once_for_a_grant(backend: RunningBackend) -> None:
    alice = backend.client(new_agent(backend, "alice", "agent"))
    not_enrolled = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": "123456"}
    )
    assert refusal(not_enrolled)["error"] == "totp_not_enrolled"
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
    assert refusal(wrong)["error"] == "totp_invalid"
    code = totp.now()
    granted = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": code}
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["method"] == "totp" and body["operation"] == "bulk_close"
    assert body["agent"] == "alice" and body["used_at"] is None
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=120)
    replay = alice.post(
        "/api/v1/step-up/totp/verify", json={"operation": "bulk_close", "code": code}
    )
    assert refusal(replay)["error"] == "totp_replayed"

    token = body["step_up_token"]
    check = alice.get(
        "/api/v1/step-up/check",
        params={"operation": "bulk_close"},
        headers={"X-Step-Up-Token": token},
    )
    assert check.status_code == 200 and check.json()["grant_id"] == body["grant_id"]
    other_op = alice.get(
        "/api/v1/step-up/check",
        params={"operation": "export_customer_data"},
        headers={"X-Step-Up-Token": token},
    )
    assert refusal(other_op) == {
        "error": "step_up_required",
        "message": refusal(other_op)["message"],
        "operation": "export_customer_data",
        "reason": "other_operation",
    }
    bob = backend.client(new_agent(backend, "bob", "agent"))
    stolen = bob.get(
        "/api/v1/step-up/check",
        params={"operation": "bulk_close"},
        headers={"X-Step-Up-Token": token},
    )
    assert refusal(stolen)["reason"] == "unknown"  # another agent's grant is no grant
    assert backend.client().delete("/api/v1/step-up/totp/alice").status_code == 200
    assert alice.post("/api/v1/step-up/totp/enrol").status_code == 201


def test_the_export_of_customer_data_needs_a_fresh_single_use_grant(
    backend: RunningBackend,
) -> None:
    chain = make_chain(3)
    assert backend.upload(chain).status_code == 200
    admin = backend.client()

    missing = refusal(admin.get(EXPORT))
    assert missing["error"] == "step_up_required" and missing["reason"] == "missing"
    assert missing["operation"] == "export_customer_data"
    assert refusal(admin.get(EXPORT, headers={"X-Step-Up-Token": "forged"}))["reason"] == "unknown"
    wrong_op = backend.step_up(operation="bulk_close")
    assert refusal(admin.get(EXPORT, headers={"X-Step-Up-Token": wrong_op}))["reason"] == (
        "other_operation"
    )

    grant = backend.step_up()
    exported = admin.get(
        EXPORT, params={"device_id": chain[0].device_id}, headers={"X-Step-Up-Token": grant}
    )
    assert exported.status_code == 200, exported.text
    assert exported.text.count("\r\n") == 1 + len(chain)
    replayed = admin.get(EXPORT, headers={"X-Step-Up-Token": grant})
    assert refusal(replayed)["reason"] == "used"

    # The backend's record of the step-up: who, how, when, and what it was spent on.
    grants = admin.get("/api/v1/step-up/grants", params={"operation": "export_customer_data"})
    [record] = grants.json()["grants"]
    assert record["agent"] == "demo" and record["method"] == "totp"
    assert record["used_at"] is not None
    assert record["used_for"] == f"GET {EXPORT}?device_id={chain[0].device_id}"


def test_a_grant_expires(backend: RunningBackend) -> None:
    grant = backend.step_up()
    age(backend, "step_up_grants", "expires_at", 121)
    expired = backend.client().get(EXPORT, headers={"X-Step-Up-Token": grant})
    assert refusal(expired)["reason"] == "expired"


def test_a_grant_is_spent_once_across_replicas(
    start_backend: Callable[..., RunningBackend],
) -> None:
    one, two = start_backend(), start_backend()  # two replicas on one database
    grant = one.step_up(operation="bulk_close")
    results: list[int] = []

    def redeem(replica: RunningBackend) -> None:
        response = replica.client().post(
            "/api/v1/step-up/redeem",
            json={"operation": "bulk_close", "used_for": "bulk close of 40 zendesk tickets"},
            headers={"X-Step-Up-Token": grant},
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=redeem, args=(r,)) for r in (one, two, one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 403, 403, 403]


def test_supervisor_approval(backend: RunningBackend) -> None:
    alice = backend.client(new_agent(backend, "alice", "agent"))
    bob = backend.client(new_agent(backend, "bob", "agent"))
    sue = backend.client(new_agent(backend, "sue", "supervisor"))
    stranger = backend.client(new_agent(backend, "sam", "supervisor"))
    group = backend.client().post(
        "/api/v1/groups", json={"name": "L1", "departments": [], "scope": "team"}
    )
    for member in ("alice", "sue"):
        backend.client().put(f"/api/v1/groups/{group.json()['id']}/members/{member}")

    asked = alice.post(
        "/api/v1/step-up/approvals",
        json={"operation": "merge_across_systems", "reason": "同一客户的两张工单"},
    )
    assert asked.status_code == 201
    approval = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    assert [a["id"] for a in sue.get("/api/v1/step-up/approvals").json()["approvals"]] == [approval]
    assert stranger.get("/api/v1/step-up/approvals").json()["approvals"] == []
    assert bob.get("/api/v1/step-up/approvals").status_code == 403

    assert alice.post(f"/api/v1/step-up/approvals/{approval}/token").status_code == 409
    assert bob.post(f"/api/v1/step-up/approvals/{approval}/grant").status_code == 403
    assert bob.post(f"/api/v1/step-up/approvals/{approval}/token").status_code == 404
    assert bob.get(f"/api/v1/step-up/approvals/{approval}").status_code == 404
    assert stranger.post(f"/api/v1/step-up/approvals/{approval}/grant").status_code == 404
    granted = sue.post(f"/api/v1/step-up/approvals/{approval}/grant")
    assert granted.status_code == 200 and granted.json()["approver"] == "sue"
    polled = alice.get(f"/api/v1/step-up/approvals/{approval}")
    assert polled.json()["status"] == "granted" and polled.json()["granted_at"]

    token = alice.post(f"/api/v1/step-up/approvals/{approval}/token")
    assert token.status_code == 200
    assert token.json()["method"] == "approval" and token.json()["approver"] == "sue"
    again = alice.post(f"/api/v1/step-up/approvals/{approval}/token")
    assert again.status_code == 409 and again.json()["detail"]["error"] == "approval_used"
    redeemed = alice.post(
        "/api/v1/step-up/redeem",
        json={"operation": "merge_across_systems", "used_for": "merge zendesk#1 into rt#7"},
        headers={"X-Step-Up-Token": token.json()["step_up_token"]},
    )
    assert redeemed.status_code == 200 and redeemed.json()["used_for"].startswith("merge")
    seen = sue.get("/api/v1/step-up/grants").json()["grants"]
    assert [(g["agent"], g["approver"], g["used_for"]) for g in seen] == [
        ("alice", "sue", "merge zendesk#1 into rt#7")
    ]
    assert stranger.get("/api/v1/step-up/grants").json()["grants"] == []
    assert bob.get("/api/v1/step-up/grants").status_code == 403

    own = sue.post(
        "/api/v1/step-up/approvals", json={"operation": "bulk_close", "reason": "mine"}
    ).json()["id"]
    refused = sue.post(f"/api/v1/step-up/approvals/{own}/grant")
    assert refused.status_code == 403 and refused.json()["detail"]["error"] == "self_approval"
    assert sue.post("/api/v1/step-up/approvals/nope/grant").status_code == 404


def test_an_approval_not_collected_in_time_expires(backend: RunningBackend) -> None:
    alice_token = new_agent(backend, "alice", "agent")
    alice = backend.client(alice_token)
    approval = alice.post(
        "/api/v1/step-up/approvals", json={"operation": "bulk_close", "reason": "40 spam tickets"}
    ).json()["id"]
    assert backend.client().post(f"/api/v1/step-up/approvals/{approval}/grant").status_code == 200
    age(backend, "step_up_approvals", "granted_at", 121)
    late = alice.post(f"/api/v1/step-up/approvals/{approval}/token")
    assert late.status_code == 409 and late.json()["detail"]["error"] == "approval_expired"
