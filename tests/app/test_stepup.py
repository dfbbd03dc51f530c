"""app.stepup against a real backend over HTTP on 127.0.0.1 (SQLite): TOTP and approval grants,
spending them, refusals with the backend's codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from app.stepup import Grant, Operation, StepUpClient, StepUpError
from backend import stepup as backend_stepup
from backend.core.config import Settings
from backend.main import create_app
from sandbox.server import ServerThread

ADMIN = "stepup-admin-token-4242"


@dataclass
class Backend:
    url: str

    def agent(self, name: str, role: str = "agent") -> str:
        response = httpx.post(
            f"{self.url}/api/v1/agents",
            json={"name": name, "role": role},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}",
        bootstrap_token=ADMIN,  # type: ignore[arg-type]
    )
    server = ServerThread(create_app(settings)).start()
    try:
        yield Backend(server.url)
    finally:
        server.stop()


def test_the_operations_are_the_backends() -> None:
    assert [o.value for o in Operation] == [o.value for o in backend_stepup.Operation]


def test_totp_grant_spent_once_and_recorded(backend: Backend) -> None:
    alice = backend.agent("alice")

    async def scenario() -> None:
        client = StepUpClient(backend.url, lambda: alice)
        try:
            with pytest.raises(StepUpError) as not_enrolled:
                await client.with_totp(Operation.BULK_CLOSE, "123456")
            assert not_enrolled.value.code == "totp_not_enrolled"
            enrolled = await client.enrol_totp()
            totp = pyotp.TOTP(enrolled["secret"])
            code = totp.now()
            grant = await client.with_totp(Operation.BULK_CLOSE, code)
            assert (grant.operation, grant.method, grant.approver) == (
                Operation.BULK_CLOSE,
                "totp",
                None,
            )
            assert grant.token not in repr(grant)
            assert grant.token not in str(grant.audit_details())
            with pytest.raises(StepUpError) as replayed:
                await client.with_totp(Operation.BULK_CLOSE, code)
            assert replayed.value.code == "totp_replayed"

            used = await client.redeem(grant, "bulk close of 40 tickets in zendesk")
            assert used["used_for"] == "bulk close of 40 tickets in zendesk"
            with pytest.raises(StepUpError) as again:
                await client.redeem(grant, "the same grant twice")
            assert again.value.code == "step_up_required"
            assert again.value.details["reason"] == "used"
        finally:
            await client.aclose()

    asyncio.run(scenario())
    grants = httpx.get(
        f"{backend.url}/api/v1/step-up/grants", headers={"Authorization": f"Bearer {ADMIN}"}
    ).json()["grants"]
    assert [(g["agent"], g["operation"], g["used_for"]) for g in grants] == [
        ("alice", "bulk_close", "bulk close of 40 tickets in zendesk")
    ]


def test_supervisor_approval_polled_then_used_for_the_export(backend: Backend) -> None:
    alice = backend.agent("alice", "supervisor")
    sue = backend.agent("sue", "supervisor")
    group = httpx.post(
        f"{backend.url}/api/v1/groups",
        json={"name": "Everything", "departments": [], "scope": "all"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()["id"]
    httpx.put(
        f"{backend.url}/api/v1/groups/{group}/members/sue",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )

    async def scenario() -> tuple[Grant, httpx.Response, httpx.Response]:
        client = StepUpClient(backend.url, lambda: alice, poll_interval_s=0.05)
        try:
            approval = await client.request_approval(
                Operation.EXPORT_CUSTOMER_DATA, "月度质检导出 / monthly QA export"
            )
            with pytest.raises(StepUpError) as timeout:
                await client.wait_for_approval(approval, timeout_s=0.1)
            assert timeout.value.code == "approval_timeout"

            async def supervisor_grants() -> None:
                await asyncio.sleep(0.2)
                async with httpx.AsyncClient() as http:
                    response = await http.post(
                        f"{backend.url}/api/v1/step-up/approvals/{approval}/grant",
                        headers={"Authorization": f"Bearer {sue}"},
                    )
                    assert response.status_code == 200, response.text

            grant, _ = await asyncio.gather(
                client.wait_for_approval(approval, timeout_s=10), supervisor_grants()
            )
            async with httpx.AsyncClient(base_url=backend.url) as http:
                auth = {"Authorization": f"Bearer {alice}"}
                refused = await http.get("/api/v1/audit/export.csv", headers=auth)
                exported = await http.get(
                    "/api/v1/audit/export.csv", headers={**auth, **grant.headers()}
                )
            return grant, refused, exported
        finally:
            await client.aclose()

    grant, refused, exported = asyncio.run(scenario())
    assert (grant.method, grant.approver) == ("approval", "sue")
    assert grant.audit_details()["approver"] == "sue"
    assert refused.status_code == 403
    assert refused.json()["detail"]["error"] == "step_up_required"
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")


def test_an_unreachable_backend_is_a_clear_error() -> None:
    async def scenario() -> None:
        client = StepUpClient("http://127.0.0.1:9", lambda: "token")
        try:
            await client.with_totp(Operation.MERGE_ACROSS_SYSTEMS, "123456")
        finally:
            await client.aclose()

    with pytest.raises(StepUpError) as unreachable:
        asyncio.run(scenario())
    assert unreachable.value.code == "unreachable"
