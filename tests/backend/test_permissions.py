"""Roles, permission groups and the one authorization rule for reading audit records."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx

from app.audit.wire import from_wire
from tests.backend.conftest import RunningBackend, make_chain


def new_agent(backend: RunningBackend, name: str, role: str) -> str:
    response = backend.client().post("/api/v1/agents", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def new_group(backend: RunningBackend, name: str, systems: list[str], scope: str) -> str:
    departments = [{"system_id": s, "queue": "billing"} for s in systems]
    response = backend.client().post(
        "/api/v1/groups", json={"name": name, "departments": departments, "scope": scope}
    )
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def join(backend: RunningBackend, group_id: str, agent: str) -> None:
    response = backend.client().put(f"/api/v1/groups/{group_id}/members/{agent}")
    assert response.status_code == 200, response.text


def seen(client: httpx.Client, **query: str) -> set[tuple[str, str | None]]:
    response = client.get("/api/v1/audit/records", params={"limit": 1000, **query})
    assert response.status_code == 200, response.text
    return {(r["agent"], r["system_id"]) for r in response.json()["records"]}


def test_a_supervisor_reads_only_its_departments(backend: RunningBackend) -> None:
    # make_chain alternates zendesk (odd seq) and osticket (even seq).
    for agent in ("alice", "bob", "carol"):
        assert backend.upload(make_chain(4, agent=agent)).status_code == 200
    for name in ("alice", "bob"):
        new_agent(backend, name, "agent")
    sup_token = new_agent(backend, "sue", "supervisor")
    sup = backend.client(sup_token)
    assert seen(sup) == set()  # no group: nothing

    zendesk = new_group(backend, "Zendesk L1", ["zendesk"], "department")
    join(backend, zendesk, "sue")
    assert seen(sup) == {("alice", "zendesk"), ("bob", "zendesk"), ("carol", "zendesk")}
    assert seen(sup, system_id="osticket") == set()  # a filter never widens the scope

    osticket_team = new_group(backend, "Portal team", ["osticket"], "team")
    for member in ("sue", "alice"):
        join(backend, osticket_team, member)
    assert seen(sup, system_id="osticket") == {("alice", "osticket")}

    # The detail endpoint shares the rule: invisible records answer 404, like missing ones.
    everything = [
        from_wire(r)
        for r in backend.client()
        .get("/api/v1/audit/records", params={"limit": 1000})
        .json()["records"]
    ]
    hidden = next(r for r in everything if (r.agent, r.system_id) == ("bob", "osticket"))
    visible = next(r for r in everything if (r.agent, r.system_id) == ("bob", "zendesk"))
    assert sup.get(f"/api/v1/audit/records/{hidden.id}").status_code == 404
    assert sup.get(f"/api/v1/audit/records/{visible.id}").json()["id"] == visible.id
    assert backend.client().get(f"/api/v1/audit/records/{hidden.id}").status_code == 200  # admin

    # The export too.
    exported = sup.get(
        "/api/v1/audit/export.csv",
        params={"system_id": "osticket"},
        headers={"X-Step-Up-Token": backend.step_up(sup_token)},
    )
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {(r["agent"], r["system_id"]) for r in rows} == {("alice", "osticket")}

    # Leaving the group takes the access away.
    response = backend.client().delete(f"/api/v1/groups/{osticket_team}/members/sue")
    assert response.status_code == 200
    assert seen(sup, system_id="osticket") == set()


def test_own_and_all_scopes(backend: RunningBackend) -> None:
    for agent in ("sue", "bob"):
        assert backend.upload(make_chain(2, agent=agent)).status_code == 200
    sup = backend.client(new_agent(backend, "sue", "supervisor"))
    join(backend, new_group(backend, "Mine", ["zendesk", "osticket"], "own"), "sue")
    assert seen(sup) == {("sue", "zendesk"), ("sue", "osticket")}
    join(backend, new_group(backend, "Everything", [], "all"), "sue")
    assert seen(sup) == {
        ("sue", "zendesk"),
        ("sue", "osticket"),
        ("bob", "zendesk"),
        ("bob", "osticket"),
    }


def test_forbidden_requests(backend: RunningBackend) -> None:
    agent = backend.client(new_agent(backend, "alice", "agent"))
    sup = backend.client(new_agent(backend, "sue", "supervisor"))
    group = new_group(backend, "G", ["zendesk"], "department")
    chain = make_chain(1, agent="bob")
    backend.upload(chain)

    assert agent.get("/api/v1/audit/records").status_code == 403
    assert agent.get(f"/api/v1/audit/records/{chain[0].id}").status_code == 403
    refused = agent.get("/api/v1/audit/export.csv", headers={"X-Step-Up-Token": "x" * 43})
    assert refused.status_code == 403 and refused.json()["detail"]["error"] == "forbidden"
    for client in (agent, sup):
        assert client.post("/api/v1/agents", json={"name": "x"}).status_code == 403
        assert client.get("/api/v1/groups").status_code == 403
        assert (
            client.post(
                "/api/v1/groups", json={"name": "y", "departments": [], "scope": "all"}
            ).status_code
            == 403
        )
        assert client.put(f"/api/v1/groups/{group}/members/sue").status_code == 403
    # Reading another agent's device chain.
    assert agent.get(f"/api/v1/devices/{chain[0].device_id}/records").status_code == 403
    assert agent.get("/api/v1/devices/nope/records").status_code == 404
    admin = backend.client()
    assert admin.put(f"/api/v1/groups/{group}/members/nobody").status_code == 404
    assert (
        admin.put("/api/v1/groups/00000000-0000-0000-0000-000000000000/members/sue").status_code
        == 404
    )
    clash = admin.post("/api/v1/groups", json={"name": "G", "departments": [], "scope": "own"})
    assert clash.status_code == 409
    bad_scope = admin.post("/api/v1/groups", json={"name": "Z", "departments": [], "scope": "x"})
    assert bad_scope.status_code == 422


def test_me_permissions_tells_the_client_what_it_may_do(backend: RunningBackend) -> None:
    sup = backend.client(new_agent(backend, "sue", "supervisor"))
    group = new_group(backend, "Zendesk L1", ["zendesk"], "team")
    join(backend, group, "sue")

    mine = sup.get("/api/v1/me/permissions").json()

    assert mine == {
        "agent": "sue",
        "role": "supervisor",
        "may_read_audit": True,
        "may_administer": False,
        "groups": [
            {
                "id": group,
                "name": "Zendesk L1",
                "departments": [{"system_id": "zendesk", "queue": "billing"}],
                "scope": "team",
            }
        ],
    }
    listed = backend.client().get("/api/v1/groups").json()["groups"]
    assert listed[0]["members"] == ["sue"]


def test_device_registration_first_wins(backend: RunningBackend) -> None:
    from app.audit.signature import SigningKey

    key, other = SigningKey.generate(), SigningKey.generate()
    client = backend.client()
    body = {"device_id": "dev-1", "public_key": key.public_key}
    first = client.post("/api/v1/devices", json=body)
    assert first.status_code == 201 and first.json()["agent"] == "demo"
    assert client.post("/api/v1/devices", json=body).status_code == 200
    conflict = client.post(
        "/api/v1/devices", json={"device_id": "dev-1", "public_key": other.public_key}
    )
    assert conflict.status_code == 409
    assert conflict.json()["detail"]["error"] == "device_key_conflict"
    garbage = client.post("/api/v1/devices", json={"device_id": "dev-2", "public_key": "!" * 44})
    assert garbage.status_code == 422
    assert backend.client(None).post("/api/v1/devices", json=body).status_code == 401


def test_rate_limit_per_agent(start_backend: Callable[..., RunningBackend]) -> None:
    backend = start_backend(rate_limit_per_s=0.01, rate_limit_burst=3)
    client = backend.client()
    codes = [client.get("/api/v1/me/permissions").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/me/permissions")
    assert int(limited.headers["retry-after"]) >= 1
    other = backend.client(new_agent_via_cli(backend))
    assert other.get("/api/v1/me/permissions").status_code == 200  # buckets are per agent


def new_agent_via_cli(backend: RunningBackend) -> str:
    from backend import crud
    from backend.core.db import Database
    from backend.core.security import Role

    database = Database(backend.database_url)
    try:
        with database.write_session() as session:
            crud.upsert_agent(session, name="other", role=Role.AGENT, token="other-token-123")
            session.commit()
    finally:
        database.dispose()
    return "other-token-123"
