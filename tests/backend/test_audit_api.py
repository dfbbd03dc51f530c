"""The audit API over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from app.audit.signature import SigningKey
from app.audit.uploader import BATCH
from app.audit.wire import new_record, seal, to_wire, verify_chain
from backend.core.db import Database
from tests.backend.conftest import RunningBackend, make_chain, sign


def detail(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["detail"]
    return body


def test_an_uploaded_chain_is_stored_and_listed(backend: RunningBackend) -> None:
    chain = make_chain(5)
    device = chain[0].device_id

    response = backend.upload(chain)

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 5, "duplicates": 0, "last_seq": 5}
    listed = backend.listed(device_id=device)
    assert listed == chain  # every field, timestamps to the microsecond, unicode JSON
    assert verify_chain(listed) is None

    more = make_chain(3, previous=chain[-1])
    assert backend.upload(more).json() == {"accepted": 3, "duplicates": 0, "last_seq": 8}
    assert backend.listed(device_id=device, after_seq=5) == more


def test_listing_filters_and_pages(backend: RunningBackend) -> None:
    chain = make_chain(6, agent="bob")
    other = make_chain(2, agent="carol")
    assert backend.upload(chain).status_code == 200
    assert backend.upload(other).status_code == 200
    device = chain[0].device_id

    assert backend.listed(agent="carol") == other
    assert backend.listed(device_id=device, action="note") == [r for r in chain if r.seq % 3 == 1]
    assert backend.listed(device_id=device, system_id="osticket", ticket_id="T-1") == [chain[3]]

    page = (
        backend.client()
        .get("/api/v1/audit/records", params={"device_id": device, "limit": 4})
        .json()
    )
    assert [r["seq"] for r in page["records"]] == [1, 2, 3, 4] and page["has_more"] is True
    rest = (
        backend.client()
        .get("/api/v1/audit/records", params={"device_id": device, "limit": 4, "after_seq": 4})
        .json()
    )
    assert [r["seq"] for r in rest["records"]] == [5, 6] and rest["has_more"] is False


def test_re_uploading_counts_duplicates_and_stores_nothing_twice(backend: RunningBackend) -> None:
    chain = make_chain(5)
    assert backend.upload(chain[:3]).json() == {"accepted": 3, "duplicates": 0, "last_seq": 3}

    assert backend.upload(chain[:3]).json() == {"accepted": 0, "duplicates": 3, "last_seq": 3}
    overlapping = backend.upload(chain[1:])
    assert overlapping.json() == {"accepted": 2, "duplicates": 2, "last_seq": 5}
    assert backend.upload(chain[4:] + chain[4:]).json() == {
        "accepted": 0,
        "duplicates": 2,
        "last_seq": 5,
    }

    assert backend.listed(device_id=chain[0].device_id) == chain


def test_a_gap_is_refused_with_409_naming_the_seq(backend: RunningBackend) -> None:
    chain = make_chain(6)
    device = chain[0].device_id
    backend.upload(chain[:3])

    response = backend.upload(chain[4:])

    assert response.status_code == 409
    body = detail(response)
    assert body["error"] == "chain_gap"
    assert (body["device_id"], body["seq"], body["record_id"]) == (device, 5, chain[4].id)
    assert "seq 4 to 4 missing" in body["message"]
    # A gap inside one batch refuses the whole batch, the good records before it included.
    response = backend.upload([chain[3], chain[5]])
    assert response.status_code == 409 and detail(response)["seq"] == 6
    assert backend.listed(device_id=device) == chain[:3]
    # A device's first upload must start at seq 1.
    fresh = make_chain(3)
    response = backend.upload(fresh[1:])
    assert response.status_code == 409 and detail(response)["seq"] == 2


def test_a_fork_is_refused_with_409(backend: RunningBackend) -> None:
    chain = make_chain(3)
    device = chain[0].device_id
    backend.upload(chain)

    rival = sign(
        new_record(
            chain[1], device_id=device, agent="mallory", action="note", client_version="0.1.0"
        )
    )
    response = backend.upload([rival])
    assert response.status_code == 409
    assert detail(response)["error"] == "chain_fork"
    assert (detail(response)["seq"], detail(response)["record_id"]) == (3, rival.id)

    after_rival = make_chain(1, previous=rival)
    response = backend.upload(after_rival)
    assert response.status_code == 409
    assert (detail(response)["error"], detail(response)["seq"]) == ("chain_fork", 4)
    assert "prev_hash of seq 4" in detail(response)["message"]

    assert backend.listed(device_id=device) == chain
    assert backend.upload(make_chain(1, previous=chain[-1])).json()["accepted"] == 1


def test_a_reused_record_id_is_refused(backend: RunningBackend) -> None:
    chain = make_chain(2)
    backend.upload(chain)
    clash = sign(seal(dataclasses.replace(make_chain(1, previous=chain[-1])[0], id=chain[0].id)))

    response = backend.upload([clash])

    assert response.status_code == 409
    assert (detail(response)["error"], detail(response)["seq"]) == ("id_conflict", 3)


def test_a_tampered_record_is_refused_naming_it(backend: RunningBackend) -> None:
    chain = make_chain(4)
    tampered = dataclasses.replace(chain[2], after={"status": "solved"})

    response = backend.upload([chain[0], chain[1], tampered, chain[3]])

    assert response.status_code == 422
    body = detail(response)
    assert body["error"] == "hash_mismatch"
    assert (body["record_id"], body["seq"]) == (chain[2].id, 3)
    assert backend.listed(device_id=chain[0].device_id) == []


def test_a_malformed_record_is_refused_naming_the_field(backend: RunningBackend) -> None:
    chain = make_chain(2)
    body: dict[str, Any] = {"device_id": chain[0].device_id, "records": [to_wire(r) for r in chain]}
    body["records"][1]["occurred_at"] = "2026-03-14 09:26:53"

    response = backend.client().post("/api/v1/audit/batches", json=body)

    assert response.status_code == 422
    assert detail(response)["field"] == "records[1].occurred_at"
    assert backend.client().post("/api/v1/audit/batches", json=[1, 2]).status_code == 422
    assert backend.listed(device_id=chain[0].device_id) == []


def test_an_oversized_batch_is_refused(start_backend: Callable[..., RunningBackend]) -> None:
    backend = start_backend(max_batch_records=2)
    response = backend.upload(make_chain(3))
    assert response.status_code == 413
    assert "at most 2" in response.json()["detail"]


def test_concurrent_uploads_of_one_batch_store_it_once(backend: RunningBackend) -> None:
    chain = make_chain(20)
    barrier = threading.Barrier(3)
    results: list[dict[str, int]] = []

    def upload() -> None:
        barrier.wait()
        response = backend.upload(chain)
        assert response.status_code == 200, response.text
        results.append(response.json())

    threads = [threading.Thread(target=upload) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 3
    assert sum(r["accepted"] for r in results) == 20
    assert sum(r["duplicates"] for r in results) == 40
    assert backend.listed(device_id=chain[0].device_id) == chain


def test_without_a_valid_token_the_api_answers_401(backend: RunningBackend) -> None:
    chain = make_chain(1)
    for token in (None, "wrong-token"):
        response = backend.upload(chain, token=token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        listing = backend.client(token).get("/api/v1/audit/records")
        assert listing.status_code == 401
    basic = httpx.get(f"{backend.url}/api/v1/audit/records", auth=("demo", "secret"))
    assert basic.status_code == 401
    assert backend.listed(device_id=chain[0].device_id) == []


def test_health_needs_no_token_and_readiness_checks_the_schema(backend: RunningBackend) -> None:
    anonymous = backend.client(None)
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": "0003"}

    database = Database(backend.database_url)
    with database.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
    database.dispose()

    not_ready = anonymous.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["problem"] == "schema at revision None, expected 0003"
    assert anonymous.get("/healthz").status_code == 200


def test_a_record_not_signed_by_the_device_key_is_refused_naming_it(
    backend: RunningBackend,
) -> None:
    chain = make_chain(4)
    forged = SigningKey.generate().sign(chain[2])
    unsigned = dataclasses.replace(chain[3], signature=None)

    response = backend.upload([chain[0], chain[1], forged, chain[3]])

    assert response.status_code == 422
    body = detail(response)
    assert body["error"] == "bad_signature"
    assert (body["record_id"], body["seq"]) == (chain[2].id, 3)
    assert chain[2].id in body["message"] and "bad signature" in body["message"]
    response = backend.upload([chain[0], chain[1], chain[2], unsigned])
    assert response.status_code == 422
    assert (detail(response)["seq"], detail(response)["error"]) == (4, "bad_signature")
    assert "is not signed" in detail(response)["message"]
    assert backend.listed(device_id=chain[0].device_id) == []
    assert backend.upload(chain).status_code == 200


def test_an_unregistered_device_cannot_upload(backend: RunningBackend) -> None:
    chain = make_chain(2)
    body = {"device_id": chain[0].device_id, "records": [to_wire(r) for r in chain]}

    response = backend.client().post("/api/v1/audit/batches", json=body)

    assert response.status_code == 409
    assert detail(response)["error"] == "unknown_device"
    assert "POST /api/v1/devices" in detail(response)["message"]


def test_a_full_batch_with_one_bad_signature_in_the_middle_is_refused_whole(
    backend: RunningBackend,
) -> None:
    chain = make_chain(BATCH)  # what the uploader sends at most
    middle = BATCH // 2
    chain[middle] = SigningKey.generate().sign(chain[middle])

    response = backend.upload(chain)

    assert response.status_code == 422
    body = detail(response)
    assert (body["error"], body["record_id"], body["seq"]) == (
        "bad_signature",
        chain[middle].id,
        middle + 1,
    )
    assert chain[middle].id in body["message"]
    assert backend.listed(device_id=chain[0].device_id) == []


def test_concurrent_uploads_from_two_devices(backend: RunningBackend) -> None:
    chains = [make_chain(60, agent=name) for name in ("alice", "bob")]
    for chain in chains:
        assert backend.register(chain[0].device_id).status_code == 201
    failures: list[str] = []

    def upload(chain: list[Any]) -> None:
        for start in range(0, len(chain), 10):  # one device's batches in chain order
            response = backend.upload(chain[start : start + 10])
            if response.status_code != 200:
                failures.append(response.text)

    threads = [threading.Thread(target=upload, args=(chain,)) for chain in chains]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    for chain in chains:
        assert backend.listed(device_id=chain[0].device_id, limit=1000) == chain


def test_a_record_id_stored_under_another_device_is_refused(backend: RunningBackend) -> None:
    first = make_chain(2)
    assert backend.upload(first).status_code == 200
    other = make_chain(2)
    clash = sign(seal(dataclasses.replace(other[1], id=first[0].id)))

    response = backend.upload([other[0], clash])  # continues the head: the quick path first

    assert response.status_code == 409
    assert (detail(response)["error"], detail(response)["seq"]) == ("id_conflict", 2)
    assert first[0].device_id in detail(response)["message"]
    assert backend.listed(device_id=other[0].device_id) == []


def test_json_that_cannot_be_hashed_is_refused_and_big_integers_are_kept(
    backend: RunningBackend,
) -> None:
    chain = make_chain(1)
    backend.register(chain[0].device_id)
    client = backend.client()
    headers = {"Content-Type": "application/json"}
    wire = json.dumps({"device_id": chain[0].device_id, "records": [to_wire(chain[0])]})
    for bad, error in (
        (wire.replace('"x": 1.5', '"x": NaN'), "invalid_json"),
        (wire.replace('"status": "pending"', '"status": "\\ud800"'), "invalid_text"),
    ):
        assert bad != wire
        response = client.post("/api/v1/audit/batches", content=bad, headers=headers)
        assert response.status_code == 422 and detail(response)["error"] == error
    assert client.post("/api/v1/audit/batches", content=b"{", headers=headers).status_code == 422

    big = sign(
        new_record(
            None,
            device_id=chain[0].device_id,
            agent="alice",
            action="note",
            client_version="0.1.0",
            after={"n": 2**70},
        )
    )
    assert backend.upload([big]).status_code == 200
    assert backend.listed(device_id=big.device_id) == [big]


def test_a_device_registered_again_with_a_new_key_is_verified_with_it(
    backend: RunningBackend,
) -> None:
    chain = make_chain(2)
    assert backend.upload(chain).status_code == 200  # the backend now remembers the key
    device = chain[0].device_id
    database = Database(backend.database_url)
    try:  # the device went with its agent, and registers again with another key
        with database.write_session() as session:
            session.execute(sa.text("DELETE FROM devices WHERE device_id = :d"), {"d": device})
            session.commit()
    finally:
        database.dispose()
    new_key = SigningKey.generate()
    registered = backend.client().post(
        "/api/v1/devices", json={"device_id": device, "public_key": new_key.public_key}
    )
    assert registered.status_code == 201

    more = [new_key.sign(r) for r in make_chain(2, previous=chain[-1])]
    assert backend.upload(more).json() == {"accepted": 2, "duplicates": 0, "last_seq": 4}
    signed_with_the_old_key = make_chain(1, previous=more[-1])
    response = backend.upload(signed_with_the_old_key)
    assert response.status_code == 422 and detail(response)["error"] == "bad_signature"
