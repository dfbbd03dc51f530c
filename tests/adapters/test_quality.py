"""The quality-inspection adapter against its stand-in, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from adapters.base import ActionKind, ActionRequest, AdapterContext, Capability
from adapters.quality import mapping
from adapters.quality.adapter import QualityAdapter
from adapters.quality.manifest import MANIFEST
from app.domain import (
    AuthError,
    ConfigError,
    MessageKind,
    RecordError,
    RemoteError,
    Status,
    Ticket,
    UnreachableError,
)
from sandbox.quality import DEMO_CLIENT_ID, DEMO_JWT_KEY, QualityStandIn

SYSTEM = "qa-main"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "quality"
WRONG_KEY = "not-the-shared-key-but-long-enough-for-hs256"


@pytest.fixture
def standin(seed_tickets: list[Any]) -> QualityStandIn:
    return QualityStandIn(seed_tickets)


def make_adapter(
    standin: QualityStandIn, url: str, *, key: str | None = None, **settings: Any
) -> QualityAdapter:
    conn = standin.connection(url)
    secrets = {**conn["secrets"], **({"jwt_key": key} if key else {})}
    context = AdapterContext(
        system_id=SYSTEM,
        settings={**conn["settings"], **settings},
        secret=secrets.__getitem__,
        naive_zone=conn["naive_zone"],
    )
    return QualityAdapter(context)


def run(
    standin: QualityStandIn,
    url: str,
    scenario: Callable[[QualityAdapter], Any],
    **options: Any,
) -> Any:
    """Run ``scenario(adapter)`` in a fresh event loop, closing the adapter afterwards."""

    async def main() -> Any:
        adapter = make_adapter(standin, url, **options)
        try:
            return await scenario(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


async def sync_all(
    adapter: QualityAdapter, cursor: str | None = None
) -> tuple[dict[str, Ticket], list[RecordError], str | None, int]:
    """Pull until ``has_more`` is false: tickets by id, quarantine, final cursor, page count."""
    tickets: dict[str, Ticket] = {}
    quarantined: list[RecordError] = []
    pages = 0
    while True:
        result = await adapter.pull(cursor)
        pages += 1
        tickets.update({t.key.external_id: t for t in result.tickets})
        quarantined.extend(result.quarantined)
        cursor = result.cursor
        if not result.has_more:
            return tickets, quarantined, cursor, pages


def api(url: str, method: str, path: str, *, key: str = DEMO_JWT_KEY, **kwargs: Any) -> Any:
    """Call the stand-in's own HTTP API with a freshly signed token; returns the response."""
    now = int(time.time())
    token = jwt.encode(
        {"iss": DEMO_CLIENT_ID, "iat": now, "exp": now + 60, "aud": "quality-api"},
        key,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    with httpx.Client(base_url=url, trust_env=False) as client:
        return client.request(method, path, headers=headers, **kwargs)


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# -- pull -------------------------------------------------------------------------------------


def test_full_sync_returns_every_inspection_across_pages(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        first = await sync_all(adapter)
        again = await adapter.pull(first[2])
        return first, again

    (tickets, quarantined, cursor, pages), again = run(standin, url, scenario, page_size=25)

    assert pages == 3
    assert quarantined == []
    assert set(tickets) == {str(i) for i in standin.inspections}
    assert len(tickets) == 60
    for inspection in standin.inspections.values():
        ticket = tickets[str(inspection.id)]
        assert ticket.subject == inspection.subject
        assert ticket.native_status == inspection.status
        assert ticket.status is mapping.STATUS_MAP[inspection.status]
        assert ticket.requester is not None
        assert ticket.requester.email == inspection.customer.email
        assert ticket.messages[0].kind is MessageKind.REPLY
        assert ticket.messages[0].author is not None
        assert ticket.messages[0].author.email == inspection.customer.email
        assert [m.kind for m in ticket.messages[1:]] == [MessageKind.NOTE] * (
            len(inspection.notes) - 1
        )
        assert ticket.priority is None
        if inspection.score is None:
            assert "qa_score" not in ticket.extra
            assert not any(tag.startswith("qa:") for tag in ticket.tags)
        else:
            assert ticket.extra["qa_score"] == str(inspection.score)
            verdict = "qa:pass" if inspection.score >= mapping.PASS_SCORE else "qa:fail"
            assert verdict in ticket.tags
        assert ticket.updated_at.tzinfo is UTC
    # Nothing changed since: the committed cursor yields nothing and stays put.
    assert again.tickets == [] and again.has_more is False and again.cursor == cursor


def test_incremental_pull_returns_exactly_the_changed_inspections(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        _, _, cursor, _ = await sync_all(adapter)
        standin.update_inspection(5, status="accepted", score=95)
        standin.add_note(7, "复核意见：结束语缺失，请补充。")
        standin.delete_inspection(9)
        changed, quarantined, cursor, _ = await sync_all(adapter, cursor)
        quiet, _, _, _ = await sync_all(adapter, cursor)
        return changed, quarantined, quiet

    changed, quarantined, quiet = run(standin, url, scenario, page_size=2)

    assert set(changed) == {"5", "7", "9"}
    assert quarantined == []
    assert changed["5"].status is Status.SOLVED
    assert changed["5"].extra["qa_score"] == "95"
    assert "qa:pass" in changed["5"].tags
    assert changed["7"].messages[-1].body_text == "复核意见：结束语缺失，请补充。"
    assert changed["7"].messages[-1].kind is MessageKind.NOTE
    assert changed["9"].deleted is True
    assert changed["5"].deleted is False
    assert quiet == {}


def test_malformed_records_are_quarantined_and_the_rest_kept(standin, serve) -> None:
    standin.corrupt(4, created_at="last tuesday")
    standin.corrupt(6, customer="nobody")
    standin.corrupt(
        8,
        notes=[
            {
                "id": 77,
                "kind": "review",
                "body": 42,
                "visibility": "internal",
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        ],
    )
    url = serve(standin.app)

    tickets, quarantined, _, _ = run(standin, url, sync_all, page_size=20)

    assert len(tickets) == 57
    assert not {"4", "6", "8"} & set(tickets)
    where = {
        (e.context.system, e.context.stream, e.context.record_id, e.context.field)
        for e in quarantined
    }
    assert where == {
        (SYSTEM, "inspections", "4", "created_at"),
        (SYSTEM, "inspections", "6", "customer"),
        (SYSTEM, "inspections", "8", "notes[0].body"),
    }
    assert all(e.code == "bad_record" for e in quarantined)
    assert any("last tuesday" in str(e) for e in quarantined)


def test_unreadable_last_position_is_read_again_not_skipped(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        _, _, cursor, _ = await sync_all(adapter)
        standin.update_inspection(11, subject="changed")
        standin.corrupt(11, updated_at="soon")
        _, first, cursor, _ = await sync_all(adapter, cursor)
        standin.repair(11)
        healed, second, _, _ = await sync_all(adapter, cursor)
        return first, healed, second

    first, healed, second = run(standin, url, scenario)

    assert [e.context.field for e in first] == ["updated_at"]
    assert second == []
    assert healed["11"].subject == "changed"


def test_simulated_activity_reaches_an_incremental_pull(standin, serve) -> None:
    url = serve(standin.app)
    rng = random.Random(7)

    async def scenario(adapter: QualityAdapter) -> Any:
        before, _, cursor, _ = await sync_all(adapter)
        for _ in range(6):
            standin.simulate_activity(rng)
        after, quarantined, _, _ = await sync_all(adapter, cursor)
        return before, after, quarantined

    before, after, quarantined = run(standin, url, scenario)

    assert after and quarantined == []
    for ticket in after.values():
        old = before.get(ticket.key.external_id)
        assert old is None or ticket.updated_at > old.updated_at


# -- actions ----------------------------------------------------------------------------------


def test_note_reply_and_status_round_trip_through_the_service(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        note = await adapter.perform(
            ActionRequest(ActionKind.NOTE, "12", "key-note", "内部：语气很好")
        )
        reply = await adapter.perform(
            ActionRequest(ActionKind.REPLY, "12", "key-reply", "Well done")
        )
        solved = await adapter.perform(
            ActionRequest(ActionKind.SET_STATUS, "12", "key-status", status=Status.SOLVED)
        )
        on_hold = await adapter.perform(
            ActionRequest(ActionKind.SET_STATUS, "12", "key-hold", status=Status.ON_HOLD)
        )
        return note, reply, solved, on_hold

    note, reply, solved, on_hold = run(standin, url, scenario)

    assert note.ok and reply.ok and solved.ok
    remote = api(url, "GET", "/api/v1/inspections/12").json()
    by_id = {str(n["id"]): n for n in remote["notes"]}
    assert by_id[note.remote_id]["body"] == "内部：语气很好"
    assert by_id[note.remote_id]["visibility"] == "internal"
    assert by_id[reply.remote_id]["body"] == "Well done"
    assert by_id[reply.remote_id]["visibility"] == "agent"
    assert remote["status"] == "accepted"
    assert note.created_messages[0].kind is MessageKind.NOTE
    assert note.ticket is not None and note.ticket.messages[-1].external_id == note.remote_id
    assert solved.ticket is not None and solved.ticket.status is Status.SOLVED
    assert solved.ticket.native_status == "accepted"
    assert on_hold.ok is False and "on_hold" in on_hold.message


def test_idempotent_retry_after_a_lost_response_gives_one_note(standin, serve) -> None:
    url = serve(standin.app)
    standin.fail_after_write = 1  # committed, then the answer is lost (502)
    action = ActionRequest(ActionKind.NOTE, "14", "outbox-14-1", "Only once, please")

    async def scenario(adapter: QualityAdapter) -> Any:
        first = await adapter.perform(action)
        replay = await adapter.perform(action)  # the outbox replays after a crash
        return first, replay

    first, replay = run(standin, url, scenario)

    bodies = [n.body for n in standin.notes_of(14)]
    assert bodies.count("Only once, please") == 1
    assert first.ok and replay.ok and first.remote_id == replay.remote_id
    assert standin.fail_after_write == 0


def test_reusing_an_idempotency_key_for_another_note_is_refused(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        await adapter.perform(ActionRequest(ActionKind.NOTE, "15", "same-key", "first"))
        with pytest.raises(RemoteError) as caught:
            await adapter.perform(ActionRequest(ActionKind.NOTE, "15", "same-key", "second"))
        return caught.value

    error = run(standin, url, scenario)

    assert error.status_code == 409
    assert "Idempotency-Key reused" in error.message
    assert [n.body for n in standin.notes_of(15)].count("second") == 0


def test_bad_values_and_unknown_inspections_are_explained(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        with pytest.raises(RemoteError) as bad_status:
            await adapter.client.set_status("3", "bogus")
        with pytest.raises(RemoteError) as missing:
            await adapter.perform(ActionRequest(ActionKind.NOTE, "999", "k-999", "hello"))
        return bad_status.value, missing.value

    bad_status, missing = run(standin, url, scenario)

    assert bad_status.status_code == 422
    assert "status: Input should be 'queued'" in bad_status.message
    assert missing.status_code == 404
    assert "Inspection 999 not found" in missing.message


# -- auth -------------------------------------------------------------------------------------


def test_an_expired_token_is_renewed_transparently(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        first = await adapter.pull(None)
        standin.expire_tokens()
        second = await adapter.pull(first.cursor)
        return first, second

    first, second = run(standin, url, scenario, page_size=10)

    assert len(first.tickets) == 10 and len(second.tickets) == 10
    assert standin.rejections == ["token_expired"]
    assert len(standin.token_uses) == 2


def test_token_lifetime_follows_the_service_limit(standin, serve, seed_tickets) -> None:
    strict = QualityStandIn(seed_tickets, max_token_lifetime_s=120)
    url = serve(strict.app)

    too_long = run(strict, url, lambda a: a.check())
    fitting = run(strict, url, lambda a: a.check(), token_lifetime_s=120)

    assert too_long.ok is False
    assert "lifetime" in too_long.message and "token_lifetime_s" in too_long.message
    assert fitting.ok is True
    with pytest.raises(ConfigError, match="token_lifetime_s"):
        make_adapter(strict, url, token_lifetime_s=600)


def test_wrong_key_is_reported_as_a_rejected_signature(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        result = await adapter.check()
        with pytest.raises(AuthError) as caught:
            await adapter.pull(None)
        return result, caught.value

    result, error = run(standin, url, scenario, key=WRONG_KEY)

    assert result.ok is False
    assert result.message.startswith("401")
    assert "signature was rejected" in result.message
    assert "signature was rejected" in error.message
    assert WRONG_KEY not in result.message and WRONG_KEY not in str(error)
    # One renewal after the first 401, then the failure is reported: 2 tries per call.
    assert standin.rejections == ["bad_signature"] * 4


def test_check_succeeds_with_the_right_key(standin, serve) -> None:
    url = serve(standin.app)

    result = run(standin, url, lambda a: a.check())

    assert result.ok is True
    assert "Tabless workstation" in result.message
    assert result.latency_ms is not None and result.latency_ms > 0


def test_service_rejects_missing_long_lived_and_misaddressed_tokens(standin, serve) -> None:
    url = serve(standin.app)
    now = int(time.time())

    def with_token(claims: dict[str, Any]) -> httpx.Response:
        token = jwt.encode(claims, DEMO_JWT_KEY, algorithm="HS256")
        with httpx.Client(base_url=url, trust_env=False) as client:
            return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    with httpx.Client(base_url=url, trust_env=False) as client:
        missing = client.get("/api/v1/me")
    long_lived = with_token({"iss": DEMO_CLIENT_ID, "iat": now, "exp": now + 600})
    expired = with_token({"iss": DEMO_CLIENT_ID, "iat": now - 400, "exp": now - 100})
    wrong_aud = with_token({"iss": DEMO_CLIENT_ID, "iat": now, "exp": now + 60, "aud": "x"})
    stranger = with_token({"iss": "someone-else", "iat": now, "exp": now + 60})

    assert missing.status_code == 401 and missing.json()["code"] == "missing_token"
    assert long_lived.json() == {
        "detail": "Token lifetime 600 s exceeds the limit of 300 s",
        "code": "token_too_long",
    }
    assert expired.json()["code"] == "token_expired"
    assert wrong_aud.json()["code"] == "invalid_audience"
    assert stranger.json()["code"] == "invalid_issuer"
    assert long_lived.headers["WWW-Authenticate"].startswith("Bearer")


def test_service_validation_errors_have_the_fastapi_shape(standin, serve) -> None:
    url = serve(standin.app)

    bad = api(url, "PATCH", "/api/v1/inspections/3", json={"status": "done"})
    page = api(url, "GET", "/api/v1/inspections", params={"limit": 0})

    assert bad.status_code == 422
    [error] = bad.json()["detail"]
    assert error["loc"] == ["body", "status"] and error["input"] == "done"
    assert page.status_code == 422 and page.json()["detail"][0]["loc"] == ["query", "limit"]
    assert api(url, "GET", "/api/v1/inspections/3").json()["status"] != "done"


# -- network faults ---------------------------------------------------------------------------


def test_unreachable_host_is_reported_readably(standin) -> None:
    url = closed_port_url()

    async def scenario(adapter: QualityAdapter) -> Any:
        result = await adapter.check()
        with pytest.raises(UnreachableError) as caught:
            await adapter.pull(None)
        return result, caught.value

    result, error = run(standin, url, scenario)

    assert result.ok is False
    assert result.message == f"cannot connect to {url}: connection refused"
    assert "unreachable" in str(error)


def test_rate_limit_waits_for_retry_after(standin, serve) -> None:
    url = serve(standin.app)
    standin.plan.retry_after_s = 0.4
    standin.plan.fail_next = [429]

    async def scenario(adapter: QualityAdapter) -> Any:
        started = time.monotonic()
        result = await adapter.pull(None)
        return result, time.monotonic() - started

    result, elapsed = run(standin, url, scenario, page_size=10)

    assert len(result.tickets) == 10
    assert elapsed >= 0.4
    assert standin.plan.fail_next == []


def test_server_errors_are_retried_for_pulls_and_keyed_notes(standin, serve) -> None:
    url = serve(standin.app)

    async def scenario(adapter: QualityAdapter) -> Any:
        standin.plan.fail_next = [500, 503]
        page = await adapter.pull(None)
        standin.plan.fail_next = [500]
        note = await adapter.perform(ActionRequest(ActionKind.NOTE, "16", "k-16", "retry me"))
        return page, note

    page, note = run(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10
    assert note.ok
    assert [n.body for n in standin.notes_of(16)].count("retry me") == 1
    assert standin.plan.fail_next == []


# -- manifest and mapping (saved fixtures) ----------------------------------------------------


def test_manifest_declares_the_capabilities_and_a_secret_key() -> None:
    assert MANIFEST.name == "quality"
    assert {Capability.REPLY, Capability.INTERNAL_NOTE, Capability.STATUS} <= MANIFEST.capabilities
    assert MANIFEST.field("jwt_key").secret is True
    assert MANIFEST.field("page_size").default == 100
    assert not MANIFEST.field("base_url").secret


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def test_mapping_keeps_chinese_text_and_converts_to_utc() -> None:
    ticket = mapping.inspection_to_ticket(load("inspection_zh.json"), system_id=SYSTEM)

    assert ticket.subject == "质检 #448120: 会员续费扣款两次"
    assert ticket.status is Status.OPEN and ticket.native_status == "rejected"
    assert ticket.created_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 3, 2, 9, 40, 12, 250000, tzinfo=UTC)
    assert ticket.requester is not None and ticket.requester.name == "陈静"
    assert ticket.requester.phone == "+86 13812345678"
    assert ticket.assignee is not None and ticket.assignee.email.startswith("xiaohua.chen")
    assert ticket.extra == {"qa_score": "72", "ticket_ref": "ZD-35088"}
    assert ticket.tags == ("退款", "会员", "qa:fail")  # the service's stale verdict tag is replaced
    customer, review = ticket.messages
    assert customer.kind is MessageKind.REPLY
    assert customer.body_text == "这个月的会员费被扣了两次，请核实并退还多扣的款项。"
    assert review.kind is MessageKind.NOTE and review.public is False
    assert review.body_text.endswith("\n未确认退款到账时间。")
    assert review.created_at.tzinfo is UTC


def test_mapping_of_a_queued_tombstone() -> None:
    ticket = mapping.inspection_to_ticket(load("inspection_queued_deleted.json"), system_id=SYSTEM)

    assert ticket.deleted is True
    assert ticket.status is Status.NEW
    assert ticket.assignee is None
    assert "qa_score" not in ticket.extra
    assert ticket.tags == ("billing", "refund")
    assert ticket.updated_at == datetime(2026, 3, 5, 8, 0, 0, 1, tzinfo=UTC)
    assert ticket.requester is not None and ticket.requester.name == "Mateo García"


def test_mapping_reads_naive_times_in_the_configured_zone() -> None:
    raw = load("inspection_zh.json")
    raw["created_at"] = "2026-03-02 09:15:00"

    ticket = mapping.inspection_to_ticket(raw, system_id=SYSTEM, naive_zone="Asia/Shanghai")

    assert ticket.created_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)


def test_mapping_a_page_quarantines_the_bad_item_and_keeps_the_rest() -> None:
    page = load("page_with_malformed.json")

    tickets, quarantined = mapping.map_page(page["items"], system_id=SYSTEM)

    assert [t.key.external_id for t in tickets] == ["3", "5"]
    [error] = quarantined
    assert (error.context.record_id, error.context.field) == ("4", "score")
    assert "ninety" in error.message
    assert tickets[0].status is Status.PENDING and "qa:pass" in tickets[0].tags
    assert tickets[1].status is Status.CLOSED and "qa:fail" in tickets[1].tags


@pytest.mark.parametrize(
    ("native", "unified"),
    [
        ("queued", Status.NEW),
        ("in_review", Status.OPEN),
        ("awaiting_agent", Status.PENDING),
        ("accepted", Status.SOLVED),
        ("rejected", Status.OPEN),
        ("archived", Status.CLOSED),
    ],
)
def test_status_mapping(native: str, unified: Status) -> None:
    raw = load("inspection_zh.json")
    raw["status"] = native

    assert mapping.inspection_to_ticket(raw, system_id=SYSTEM).status is unified
    if native != "rejected":  # a verdict only a reviewer gives
        assert mapping.NATIVE_FOR[unified] == native


def test_unknown_status_is_a_record_error() -> None:
    raw = load("inspection_zh.json")
    raw["status"] = "escalated"

    with pytest.raises(RecordError) as caught:
        mapping.inspection_to_ticket(raw, system_id=SYSTEM)

    assert caught.value.context.field == "status"
    assert caught.value.context.record_id == "17"
