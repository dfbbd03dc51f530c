"""The ``osticket`` adapter against the legacy portal stand-in, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from adapters._formats import xml
from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext
from adapters.osticket.adapter import LOOKBACK, OsTicketAdapter
from adapters.osticket.client import Payload, decode_page
from adapters.osticket.mapping import to_ticket
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    MessageKind,
    Priority,
    RecordError,
    RemoteError,
    Status,
    Ticket,
    UnreachableError,
)
from sandbox.osticket import DEMO_API_KEY, OsTicketStandIn, local_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "osticket"
FAST = HttpSettings(retries=2, backoff_base=0.01, backoff_max=0.05, read_timeout=10)
SYSTEM = "portal"
T = TypeVar("T")

SEED_STATUS = {
    "new": Status.OPEN,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "on_hold": Status.OPEN,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
SEED_PRIORITY = {p: Priority(p) for p in ("low", "normal", "high", "urgent")}


@pytest.fixture
def portal(seed_tickets, serve):  # type: ignore[no-untyped-def]
    """A fresh stand-in on a free port: ``(stand_in, base_url)``."""
    stand_in = OsTicketStandIn(seed_tickets)
    return stand_in, serve(stand_in.app)


def make_adapter(
    stand_in: OsTicketStandIn,
    base_url: str,
    *,
    page_size: int = 20,
    password: str | None = None,
    naive_zone: str | None = None,
    http: HttpSettings = FAST,
) -> OsTicketAdapter:
    connection = stand_in.connection(base_url)
    secrets = {**connection["secrets"], **({"password": password} if password else {})}
    context = AdapterContext(
        system_id=SYSTEM,
        settings={**connection["settings"], "page_size": page_size},
        secret=secrets.__getitem__,
        naive_zone=naive_zone or connection["naive_zone"],
    )
    return OsTicketAdapter(context, http_settings=http)


async def drain(
    adapter: OsTicketAdapter, cursor: str | None
) -> tuple[list[Ticket], str | None, list[RecordError], int]:
    """Pull until ``has_more`` is False: tickets, final cursor, quarantined, number of pulls."""
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    for pulls in range(1, 200):
        result = await adapter.pull(cursor)
        tickets += result.tickets
        quarantined += result.quarantined
        cursor = result.cursor
        if not result.has_more:
            return tickets, cursor, quarantined, pulls
    raise AssertionError("the adapter never said has_more=False")


def with_adapter(
    stand_in: OsTicketStandIn,
    base_url: str,
    body: Callable[[OsTicketAdapter], Awaitable[T]],
    **options: Any,
) -> T:
    async def main() -> T:
        adapter = make_adapter(stand_in, base_url, **options)
        try:
            return await body(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


def remote_ticket(stand_in: OsTicketStandIn, base_url: str, ticket_id: str) -> xml.Element:
    """The ticket as the portal's own HTTP API shows it."""
    response = httpx.get(
        f"{base_url}/api/tickets/{ticket_id}.xml", auth=(stand_in.username, stand_in.password)
    )
    assert response.status_code == 200
    return xml.parse_xml(
        response.content, declared_charset=response.charset_encoding, context=ErrorContext()
    )


def ids(tickets: list[Ticket]) -> list[str]:
    return [t.key.external_id for t in tickets]


# --- full sync ----------------------------------------------------------------------------


def test_full_sync_over_pages_keeps_chinese_text_and_utc_times(portal, seed_tickets) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    tickets, _cursor, quarantined, pulls = with_adapter(
        stand_in, url, lambda a: drain(a, None), page_size=20
    )
    seeds = {str(s.id): s for s in seed_tickets if s.system == "osticket"}
    assert pulls >= 5  # 100 tickets, 20 per page
    assert quarantined == []
    assert sorted(ids(tickets)) == sorted(seeds)  # every ticket exactly once
    for ticket in tickets:
        seed = seeds[ticket.key.external_id]
        assert ticket.key.system_id == SYSTEM
        assert ticket.subject == seed.subject
        assert ticket.created_at == seed.created_at  # naive Shanghai on the wire, UTC here
        assert ticket.updated_at == seed.updated_at
        assert ticket.created_at.tzinfo is UTC
        assert ticket.status is SEED_STATUS[seed.status]
        assert ticket.priority is SEED_PRIORITY[seed.priority]
        assert ticket.queue == seed.queue
        assert ticket.requester is not None and ticket.requester.email == seed.customer.email
        assert (ticket.assignee.name if ticket.assignee else None) == (
            seed.assignee.name if seed.assignee else None
        )
        assert [m.body_text for m in ticket.messages] == [e.body for e in seed.entries]
        assert [m.created_at for m in ticket.messages] == [e.created_at for e in seed.entries]
        assert [m.kind for m in ticket.messages] == [
            MessageKind.REPLY if e.public else MessageKind.NOTE for e in seed.entries
        ]
    assert any("订单" in t.subject for t in tickets)


def test_the_wire_really_carries_naive_shanghai_time(portal, seed_tickets) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    seed = next(s for s in seed_tickets if s.system == "osticket")
    shown = xml.findtext(remote_ticket(stand_in, url, str(seed.id)), "created")
    assert shown == (seed.created_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert shown == local_text(seed.created_at)


def test_the_configured_zone_is_authoritative(portal, seed_tickets) -> None:  # type: ignore[no-untyped-def]
    """A connection that says UTC is taken at its word: times come out eight hours late."""
    stand_in, url = portal
    result = with_adapter(stand_in, url, lambda a: a.pull(None), page_size=5, naive_zone="UTC")
    seeds = {str(s.id): s for s in seed_tickets if s.system == "osticket"}
    for ticket in result.tickets:
        assert ticket.created_at == seeds[ticket.key.external_id].created_at + timedelta(hours=8)


# --- incremental sync ---------------------------------------------------------------------


def test_incremental_returns_exactly_the_changed_tickets(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    solved, replied, deleted = sorted(stand_in.tickets)[3:6]

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        stand_in.update_ticket(solved, status="resolved")
        entry = stand_in.add_entry(replied, "我又试了一次，还是不行。\n请再帮忙看看。")
        stand_in.delete_ticket(deleted)
        changed, cursor, quarantined, _n = await drain(adapter, cursor)
        assert quarantined == []
        assert sorted(ids(changed)) == sorted(str(i) for i in (solved, replied, deleted))
        by_id = {t.key.external_id: t for t in changed}
        assert by_id[str(solved)].status is Status.SOLVED
        assert by_id[str(solved)].native_status == "resolved"
        last = by_id[str(replied)].messages[-1]
        assert (last.external_id, last.kind) == (str(entry), MessageKind.REPLY)
        assert last.body_text == "我又试了一次，还是不行。\n请再帮忙看看。"
        assert by_id[str(deleted)].deleted is True
        assert by_id[str(deleted)].native_status == "deleted"
        again, _cursor, _q, _n = await drain(adapter, cursor)
        assert again == []

    with_adapter(stand_in, url, scenario)


def test_same_second_updates_split_across_a_page_boundary(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    w, x, y, z = sorted(stand_in.tickets)[10:14]  # y < z: the portal orders y first
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        stand_in.update_ticket(w, at=t0, subject="第一次修改")
        first, cursor, _q, _n = await drain(adapter, cursor)
        assert ids(first) == [str(w)]
        served_before = len(stand_in.list_log)
        stand_in.update_ticket(x, at=t0 + timedelta(seconds=100), priority="High")
        stand_in.update_ticket(y, at=t0 + timedelta(seconds=101), status="resolved")
        stand_in.update_ticket(z, at=t0 + timedelta(seconds=101), status="closed")
        changed, cursor, _q, pulls = await drain(adapter, cursor)
        assert sorted(ids(changed)) == sorted(str(i) for i in (x, y, z))  # none twice, none lost
        assert pulls == 2
        pages = stand_in.list_log[served_before:]
        assert pages[0] == [w, x, y]  # the page ends between y and z, stamped the same second
        assert z in pages[1]
        assert len(ids(changed)) == 3

    with_adapter(stand_in, url, scenario, page_size=3)


def test_a_second_change_within_the_same_second_is_not_lost(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    ticket_id = sorted(stand_in.tickets)[15]
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        stand_in.update_ticket(ticket_id, at=t0, status="awaiting_customer")
        first, cursor, _q, _n = await drain(adapter, cursor)
        assert [t.status for t in first] == [Status.PENDING]
        stand_in.add_entry(ticket_id, "马上补充截图。", at=t0)  # same second: `updated` unchanged
        second, cursor, _q, _n = await drain(adapter, cursor)
        assert ids(second) == [str(ticket_id)]
        assert second[0].messages[-1].body_text == "马上补充截图。"

    with_adapter(stand_in, url, scenario)


def test_the_lookback_finds_a_ticket_committed_with_an_earlier_stamp(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    early, late = sorted(stand_in.tickets)[20:22]
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        stand_in.update_ticket(late, at=t0, status="resolved")
        first, cursor, _q, _n = await drain(adapter, cursor)
        assert ids(first) == [str(late)]
        # A slow transaction on the portal commits a change stamped before the one we saw.
        stand_in.update_ticket(early, at=t0 - LOOKBACK / 2, status="closed")
        second, cursor, _q, _n = await drain(adapter, cursor)
        assert ids(second) == [str(early)]

    with_adapter(stand_in, url, scenario)


def test_simulated_activity_shows_up_incrementally(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        rng = random.Random(7)
        for _ in range(3):
            before = {i: (t.updated, len(t.entries)) for i, t in stand_in.tickets.items()}
            stand_in.simulate_activity(rng)
            touched = {
                str(i)
                for i, t in stand_in.tickets.items()
                if before.get(i) != (t.updated, len(t.entries))
            }
            changed, cursor, _q, _n = await drain(adapter, cursor)
            assert len(touched) == 1
            assert set(ids(changed)) == touched

    with_adapter(stand_in, url, scenario)


def test_a_ticket_created_through_the_osticket_api_is_pulled(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    payload = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ticket alert="true" autorespond="true" source="API">'
        "<name>赵敏</name><email>zhao.min@example.cn</email><phone>+86 13811112222</phone>"
        "<subject>快递包装破损</subject>"
        '<message type="text/plain"><![CDATA[箱子压坏了，\n里面的杯子碎了。]]></message>'
        "</ticket>"
    ).encode()

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        async with httpx.AsyncClient() as client:
            created = await client.post(
                f"{url}/api/tickets.xml", content=payload, headers={"X-API-Key": DEMO_API_KEY}
            )
        assert created.status_code == 201
        changed, _cursor, _q, _n = await drain(adapter, cursor)
        assert len(changed) == 1
        ticket = changed[0]
        assert ticket.extra["number"] == created.text
        assert ticket.subject == "快递包装破损"
        assert ticket.messages[0].body_text == "箱子压坏了，\n里面的杯子碎了。"
        assert ticket.requester is not None and ticket.requester.phone == "+86 13811112222"

    with_adapter(stand_in, url, scenario)


# --- writes -------------------------------------------------------------------------------


def test_reply_note_and_status_round_trip_through_the_portal(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    ticket_id = str(sorted(stand_in.tickets)[0])
    reply_text = "您好：\n退款已提交 <3-5 个工作日> & 请留意短信 😀"
    note_text = "内部备注：客户是 VIP，优先处理。"

    async def scenario(adapter: OsTicketAdapter) -> None:
        _all, cursor, _q, _n = await drain(adapter, None)
        reply = await adapter.perform(
            ActionRequest(ActionKind.REPLY, ticket_id, "key-reply-1", body=reply_text)
        )
        note = await adapter.perform(
            ActionRequest(ActionKind.NOTE, ticket_id, "key-note-1", body=note_text)
        )
        status = await adapter.perform(
            ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-status-1", status=Status.SOLVED)
        )
        assert reply.ok and note.ok and status.ok
        assert [m.body_text for m in reply.created_messages] == [reply_text]
        assert reply.created_messages[0].kind is MessageKind.REPLY
        assert note.created_messages[0].kind is MessageKind.NOTE
        assert status.ticket is not None and status.ticket.status is Status.SOLVED

        shown = remote_ticket(stand_in, url, ticket_id)
        entries = {xml.attr(e, "id"): e for e in xml.children(shown, "thread/entry")}
        assert xml.attr(entries[str(reply.remote_id)], "type") == "R"
        assert xml.findtext(entries[str(reply.remote_id)], "body", strip=False) == reply_text
        assert xml.attr(entries[str(note.remote_id)], "type") == "N"
        assert xml.findtext(entries[str(note.remote_id)], "body") == note_text
        assert xml.findtext(shown, "status") == "resolved"

        changed, _cursor, _q, _n = await drain(adapter, cursor)
        assert ids(changed) == [ticket_id]
        assert [m.body_text for m in changed[0].messages[-2:]] == [reply_text, note_text]

    with_adapter(stand_in, url, scenario)


def test_a_retried_action_is_delivered_once(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    ticket_id = sorted(stand_in.tickets)[1]
    before = len(stand_in.ticket(ticket_id).entries)
    action = ActionRequest(ActionKind.REPLY, str(ticket_id), "key-retry-1", body="已处理")

    async def scenario(adapter: OsTicketAdapter) -> None:
        stand_in.plan.fail_next = [503]  # the first attempt fails; _http retries the POST
        first = await adapter.perform(action)
        second = await adapter.perform(action)  # the outbox replays after a lost answer
        assert first.remote_id == second.remote_id

    with_adapter(stand_in, url, scenario)
    entries = stand_in.ticket(ticket_id).entries
    assert len(entries) == before + 1
    assert entries[-1].body == "已处理"


def test_a_status_the_portal_lacks_is_refused_before_sending(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    seen = stand_in.plan.requests_seen
    action = ActionRequest(ActionKind.SET_STATUS, "1", "key-hold", status=Status.ON_HOLD)
    with pytest.raises(AdapterError, match="no status on_hold"):
        with_adapter(stand_in, url, lambda a: a.perform(action))
    assert stand_in.plan.requests_seen == seen


def test_an_unknown_ticket_is_a_remote_error(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    action = ActionRequest(ActionKind.NOTE, "99999", "key-404", body="x")
    with pytest.raises(RemoteError) as caught:
        with_adapter(stand_in, url, lambda a: a.perform(action))
    assert caught.value.status_code == 404
    assert caught.value.context.record_id == "99999"


# --- connection problems ------------------------------------------------------------------


def test_check_reports_success(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    result = with_adapter(stand_in, url, lambda a: a.check())
    assert result.ok
    assert result.message == "connected as portal-agent: 100 tickets"
    assert result.latency_ms is not None


def test_wrong_password_is_reported_by_check_and_refused_by_pull(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    result = with_adapter(stand_in, url, lambda a: a.check(), password="wrong")
    assert not result.ok
    assert result.message == "401 — the portal rejected user 'portal-agent' or its password"
    with pytest.raises(AuthError):
        with_adapter(stand_in, url, lambda a: a.pull(None), password="wrong")


def test_an_unreachable_portal_is_readable(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, _url = portal
    dead = "http://127.0.0.1:1"
    result = with_adapter(stand_in, dead, lambda a: a.check())
    assert not result.ok
    assert result.message == "cannot connect to http://127.0.0.1:1: connection refused"
    with pytest.raises(UnreachableError):
        with_adapter(stand_in, dead, lambda a: a.pull(None))


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "429 — the portal is rate limiting; try again shortly"),
        (500, "500 — the portal answered with an error"),
    ],
)
def test_check_answers_at_once_when_the_portal_is_struggling(  # type: ignore[no-untyped-def]
    portal, status: int, message: str
) -> None:
    stand_in, url = portal
    stand_in.plan.update({"fail_next": [status], "retry_after_s": 30})
    started = time.perf_counter()
    result = with_adapter(stand_in, url, lambda a: a.check())
    assert time.perf_counter() - started < 5  # no 30 s Retry-After wait inside a check
    assert (result.ok, result.message) == (False, message)


def test_429_and_500_are_retried(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    stand_in.plan.update({"fail_next": [429, 500], "retry_after_s": 0.3})
    started = time.perf_counter()
    result = with_adapter(stand_in, url, lambda a: a.pull(None), page_size=10)
    assert time.perf_counter() - started >= 0.3  # Retry-After was honoured
    assert len(result.tickets) == 10
    assert stand_in.plan.fail_next == []


def test_a_persistent_500_raises_and_keeps_the_cursor_usable(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal

    async def scenario(adapter: OsTicketAdapter) -> None:
        first = await adapter.pull(None)
        stand_in.plan.fail_next = [500, 500, 500]
        with pytest.raises(RemoteError) as caught:
            await adapter.pull(first.cursor)
        assert caught.value.status_code == 500
        second = await adapter.pull(first.cursor)
        assert set(ids(second.tickets)).isdisjoint(ids(first.tickets))
        assert second.tickets

    with_adapter(stand_in, url, scenario, page_size=10)


def test_configuration_errors_are_clear(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    with pytest.raises(ConfigError, match="page_size must be a number from 1 to 100"):
        make_adapter(stand_in, url, page_size=500)
    with pytest.raises(ConfigError, match="Unknown time zone"):
        make_adapter(stand_in, url, naive_zone="Mars/Olympus")


# --- bad data -----------------------------------------------------------------------------


def test_a_malformed_ticket_is_quarantined_and_the_page_kept(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    bad_ticket, bad_entry_ticket = sorted(stand_in.tickets)[30:32]
    entry_id = stand_in.ticket(bad_entry_ticket).entries[0].id
    stand_in.corrupt(bad_ticket, "created", "0000-00-00 00:00:00")
    stand_in.corrupt(bad_entry_ticket, f"entry:{entry_id}:created", "昨天")

    async def scenario(adapter: OsTicketAdapter) -> None:
        tickets, cursor, quarantined, _n = await drain(adapter, None)
        assert len(tickets) == 98
        assert {str(bad_ticket), str(bad_entry_ticket)}.isdisjoint(ids(tickets))
        where = {e.context.record_id: e.context for e in quarantined}
        assert set(where) == {str(bad_ticket), str(bad_entry_ticket)}
        assert where[str(bad_ticket)].field == "created"
        assert where[str(bad_entry_ticket)].field == f"thread/entry[{entry_id}]/created"
        for context in where.values():
            assert (context.system, context.stream) == (SYSTEM, "tickets")
        assert "0000-00-00 00:00:00" in next(
            e.message for e in quarantined if e.context.record_id == str(bad_ticket)
        )
        again, _cursor, requarantined, _n = await drain(adapter, cursor)
        assert again == [] and requarantined == []

    with_adapter(stand_in, url, scenario)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("billion_laughs", "declares entities"),
        ("xxe", "declares entities"),
        ("truncated", "malformed XML at line"),
    ],
)
def test_a_hostile_page_fails_clearly_and_delivers_nothing(portal, kind: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal

    async def scenario(adapter: OsTicketAdapter) -> None:
        first = await adapter.pull(None)
        stand_in.serve_hostile(kind)
        started = time.perf_counter()
        with pytest.raises(DecodeError) as caught:
            await adapter.pull(first.cursor)
        assert time.perf_counter() - started < 2.0
        assert reason in caught.value.message
        assert caught.value.context.system == SYSTEM
        # Nothing came back, so nothing can be stored; the old cursor still resumes correctly.
        second = await adapter.pull(first.cursor)
        assert second.tickets and set(ids(second.tickets)).isdisjoint(ids(first.tickets))

    with_adapter(stand_in, url, scenario, page_size=10)


def test_an_unreadable_cursor_is_a_decode_error(portal) -> None:  # type: ignore[no-untyped-def]
    stand_in, url = portal
    with pytest.raises(DecodeError, match="unreadable osticket cursor"):
        with_adapter(stand_in, url, lambda a: a.pull("{not json"))


# --- mapping of a recorded page -----------------------------------------------------------


def test_mapping_of_a_recorded_gbk_page() -> None:
    data = (FIXTURES / "tickets_page_gbk.xml").read_bytes()
    page = decode_page(Payload(data, charset="GBK"), ErrorContext(system=SYSTEM))
    assert (page.page, page.pages, page.total) == (2, 3, 7)
    first, archived, broken = page.tickets

    ticket = to_ticket(first, system_id=SYSTEM, naive_zone="Asia/Shanghai")
    assert ticket.status is Status.PENDING and ticket.native_status == "awaiting_customer"
    assert ticket.priority is Priority.URGENT
    assert ticket.created_at == datetime(2026, 3, 1, 0, 15, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 3, 1, 16, 30, 5, tzinfo=UTC)
    assert ticket.queue == "售后支持" and ticket.extra == {"number": "318204"}
    assert ticket.assignee is not None and ticket.assignee.email.startswith("xiaohua.chen")
    assert [m.kind for m in ticket.messages] == [
        MessageKind.REPLY,
        MessageKind.REPLY,
        MessageKind.NOTE,
    ]
    assert ticket.messages[0].body_text == (
        "你好：\n公司名称应该是“上海星辰科技有限公司”。\n税号 91310000MA1FL0XX <请核对>"
    )
    assert ticket.messages[0].author is not None
    assert ticket.messages[0].author.email == "wang.fang@example.cn"
    assert ticket.messages[1].author is not None
    assert ticket.messages[1].author.email == "xiaohua.chen@support.example.com"

    closed = to_ticket(archived, system_id=SYSTEM, naive_zone="Asia/Shanghai")
    assert closed.status is Status.CLOSED and closed.native_status == "archived"
    assert closed.priority is None  # "P3" is not an osTicket priority: never guessed
    assert closed.assignee is None
    assert closed.requester is not None and closed.requester.phone is None
    assert not closed.deleted

    with pytest.raises(RecordError) as caught:
        to_ticket(broken, system_id=SYSTEM, naive_zone="Asia/Shanghai")
    assert (
        caught.value.context.describe() == "system=portal stream=tickets record=1044 field=created"
    )


def _read_by_element_path(node: Any) -> dict[str, Any]:
    """How a ``<ticket>`` was read with one ElementPath search per field (the reference)."""
    fields = ["subject", "status", "priority", "dept", "created", "updated"]
    fields += ["user/name", "user/email", "user/phone", "staff/name", "staff/email"]
    read = {field.replace("/", "_"): xml.findtext(node, field) for field in fields}
    read |= {"id": xml.attr(node, "id"), "number": xml.attr(node, "number")}
    read["entries"] = [
        (
            xml.attr(entry, "id"),
            xml.attr(entry, "type"),
            xml.findtext(entry, "poster"),
            xml.findtext(entry, "created"),
            xml.findtext(entry, "body", strip=False),
        )
        for entry in xml.children(node, "thread/entry")
    ]
    return read


TRICKY_TICKET = """<?xml version="1.0" encoding="GBK"?>
<tickets page="1" pages="1" total="1"><ticket id=" 7 " number="42">
  <subject>  <![CDATA[退款]]>，尽快 <b>bold</b> tail</subject>
  <subject>second subject is ignored</subject>
  <status></status><status>open</status>
  <user><email>first@example.cn</email></user>
  <user><name>二号用户</name><email>second@example.cn</email></user>
  <staff/>
  <staff><name>王建国</name></staff>
  <!-- a comment --><?pi ignored?>
  <x:dept xmlns:x="urn:other">not the dept</x:dept>
  <created> 2026-11-04 17:10:17 </created>
  <thread>
    <note id="n1"><body>not an entry</body></note>
    <entry id="1" type=" M "><poster>李娜</poster><body>  keep  <![CDATA[空白]]>  </body>
      <created>2026-11-04 17:10:17</created><created>ignored</created></entry>
    <entry><body/></entry>
  </thread>
  <thread><entry id="3" type="N"><poster> 王建国 </poster></entry></thread>
</ticket></tickets>"""


def test_the_one_pass_reader_reads_like_element_path_searches() -> None:
    data = TRICKY_TICKET.encode("gbk")
    (raw,) = decode_page(Payload(data, charset="GBK"), ErrorContext(system=SYSTEM)).tickets
    root = xml.parse_xml(data, declared_charset="GBK", context=ErrorContext(system=SYSTEM))
    expected = _read_by_element_path(xml.children(root, "ticket")[0])
    assert {**raw._asdict(), "entries": [tuple(e) for e in raw.entries]} == expected
    assert raw.user_name == "二号用户" and raw.user_email == "first@example.cn"
    assert raw.status == "" and raw.dept == "" and raw.staff_name == "王建国"


def test_the_fingerprint_sees_every_field_and_entry() -> None:
    data = TRICKY_TICKET.encode("gbk")
    ctx = ErrorContext(system=SYSTEM)
    (raw,) = decode_page(Payload(data, charset="GBK"), ctx).tickets
    assert raw.fingerprint == raw.fingerprint and len(raw.fingerprint) == 16
    changed = [
        raw._replace(user_phone="1"),
        raw._replace(entries=raw.entries[:-1]),
        raw._replace(entries=(raw.entries[0]._replace(body="other"), *raw.entries[1:])),
    ]
    assert len({raw.fingerprint, *(other.fingerprint for other in changed)}) == 4


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "UTC"])
def test_portal_time_reads_like_parse_timestamp_also_around_dst_changes(zone: str) -> None:
    from adapters.osticket.mapping import portal_time
    from app.timeutil import parse_timestamp

    moment = datetime(2025, 1, 1)
    while moment.year < 2027:  # every 37 minutes: both DST changes of both years, each side
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        read = portal_time(text, naive_zone=zone)
        assert read == parse_timestamp(text, naive_zone=zone) and read.tzinfo is UTC
        moment += timedelta(minutes=37)
    for bad in ("2026-02-30 10:00:00", "0000-00-00 00:00:00", "2026-11-05T01:56:42", ""):
        with pytest.raises(ValueError, match="unreadable timestamp"):
            portal_time(bad, naive_zone=zone)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "UTC"])
@pytest.mark.parametrize("bad", [None, "2026-02-30 10:00:00", "0000-00-00 00:00:00", ""])
def test_a_page_s_times_read_at_once_equal_portal_time(zone: str, bad: str | None) -> None:
    from adapters.osticket.client import RawEntry, RawTicket
    from adapters.osticket.mapping import PageCache, portal_time

    texts = []
    moment = datetime(2025, 1, 1)
    while moment.year < 2027:  # both DST changes of both years, each side
        texts.append(moment.strftime("%Y-%m-%d %H:%M:%S"))
        moment += timedelta(minutes=37)
    texts = texts[: len(texts) // 3 * 3]  # three to a ticket
    if bad is not None:
        texts[len(texts) // 2] = bad
    raws = [
        RawTicket(
            id=str(n),
            number="",
            subject="",
            status="open",
            priority="",
            dept="",
            user_name="",
            user_email="",
            user_phone="",
            staff_name="",
            staff_email="",
            created=texts[n],
            updated=texts[n + 1],
            entries=(RawEntry(str(n), "M", "", texts[n + 2], ""),),
        )
        for n in range(0, len(texts), 3)
    ]
    cache = PageCache()
    cache.read_times(raws, zone)
    read = cache.times(zone)
    assert bad not in read
    assert read == {text: portal_time(text, naive_zone=zone) for text in texts if text != bad}
    assert {moment.tzinfo for moment in read.values()} == {UTC}


def test_times_with_other_digits_are_read_one_by_one_as_portal_time_reads_them() -> None:
    from adapters.osticket.client import RawTicket
    from adapters.osticket.mapping import PageCache, portal_time

    texts = ["2026-11-05 01:49:14", "２０２６-11-05 01:49:15", "٢٠٢٦-11-05 01:49:16"]
    raw = RawTicket("1", "", "", "open", "", "", "", "", "", "", "", texts[0], texts[1], ())
    entry_raw = raw._replace(created=texts[2], updated=texts[0])
    cache = PageCache()
    cache.read_times([raw, entry_raw], "Asia/Shanghai")
    expected = {}
    for text in texts:
        try:
            expected[text] = portal_time(text, naive_zone="Asia/Shanghai")
        except ValueError:
            continue
    assert cache.times("Asia/Shanghai") == expected and texts[0] in expected
