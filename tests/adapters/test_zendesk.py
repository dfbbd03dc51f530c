"""The Zendesk adapter against the Zendesk stand-in over real HTTP, and its mapping on saved
payloads in Zendesk's documented shapes (tests/fixtures/zendesk/)."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext, PullResult
from adapters.zendesk import MANIFEST, ZendeskAdapter, mapping
from app.domain import (
    AdapterError,
    DecodeError,
    MessageKind,
    Priority,
    RemoteError,
    Status,
    Ticket,
)
from sandbox.dataset import SeedTicket, by_system
from sandbox.server import free_socket
from sandbox.zendesk import ZendeskStandIn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zendesk"
FAST = HttpSettings(backoff_base=0.02, backoff_max=0.1)
T = TypeVar("T")


class FakeClock:
    """The stand-in's token clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def seeds_of(seed_tickets: list[SeedTicket]) -> dict[str, SeedTicket]:
    return {str(t.id): t for t in by_system(seed_tickets, "zendesk")}


def run_with(
    standin: ZendeskStandIn,
    url: str,
    scenario: Callable[[ZendeskAdapter], Awaitable[T]],
    *,
    secret: str | None = None,
    http: HttpSettings = FAST,
    **settings: Any,
) -> T:
    """Build the adapter inside one event loop, run ``scenario`` with it, close it."""
    connection = standin.connection(url)
    secrets = {**connection["secrets"], **({"client_secret": secret} if secret else {})}

    async def main() -> T:
        adapter = ZendeskAdapter(
            AdapterContext(
                system_id="zendesk",
                settings={**connection["settings"], **settings},
                secret=secrets.__getitem__,
                naive_zone=connection["naive_zone"],
            ),
            http=http,
        )
        try:
            return await scenario(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


async def pull_all(
    adapter: ZendeskAdapter, cursor: str | None = None
) -> tuple[list[PullResult], str | None]:
    pages: list[PullResult] = []
    while True:
        page = await adapter.pull(cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.has_more:
            return pages, cursor


def tickets_of(pages: list[PullResult]) -> list[Ticket]:
    return [ticket for page in pages for ticket in page.tickets]


class ZendeskApi:
    """The stand-in's own API, as a second Zendesk client would see it."""

    def __init__(self, url: str, standin: ZendeskStandIn) -> None:
        self.http = httpx.Client(base_url=url)
        token = self.http.post(
            "/oauth/tokens",
            data={
                "grant_type": "client_credentials",
                "client_id": standin.client_id,
                "client_secret": standin.client_secret,
            },
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)


@pytest.fixture
def standin(seed_tickets: list[SeedTicket]) -> ZendeskStandIn:
    return ZendeskStandIn(seed_tickets)


# ------------------------------------------------------------------------------ over HTTP


def test_full_sync_returns_every_ticket_with_its_conversation(
    standin: ZendeskStandIn, serve: Any, seed_tickets: list[SeedTicket]
) -> None:
    url = serve(standin.app)
    pages, cursor = run_with(standin, url, pull_all, page_size=40)
    seeds = seeds_of(seed_tickets)
    tickets = {t.key.external_id: t for t in tickets_of(pages)}

    assert len(pages) >= 3 and all(p.quarantined == [] for p in pages)
    assert [p.has_more for p in pages] == [True] * (len(pages) - 1) + [False]
    assert json.loads(cursor or "{}")["after_cursor"]
    assert sorted(tickets) == sorted(seeds)
    for ticket_id, seed in seeds.items():
        ticket = tickets[ticket_id]
        assert ticket.subject == seed.subject
        assert ticket.status is Status(seed.status)
        assert ticket.created_at == seed.created_at and ticket.created_at.tzinfo is UTC
        assert ticket.requester is not None and ticket.requester.email == seed.customer.email
        assert ticket.requester.phone == seed.customer.phone
        assert (ticket.assignee.name if ticket.assignee else None) == (
            seed.assignee.name if seed.assignee else None
        )
        assert ticket.queue == seed.queue
        assert [(m.body_text, m.public) for m in ticket.messages] == [
            (e.body, e.public) for e in seed.entries
        ]
        assert [m.author.email if m.author else None for m in ticket.messages] == [
            e.author_email for e in seed.entries
        ]
    on_hold = [t for t in tickets.values() if t.native_status == "hold"]
    assert on_hold and all(t.status is Status.ON_HOLD for t in on_hold)
    attachments = [a for t in tickets.values() for m in t.messages for a in m.attachments]
    photo = next(a for a in attachments if a.filename == "破损照片.jpg")
    assert photo.content_type == "image/jpeg" and photo.url and photo.url.startswith(url)


def test_incremental_pull_returns_exactly_the_changed_tickets(
    standin: ZendeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()
    changed, commented, deleted = order[3], order[60], order[120]

    async def scenario(adapter: ZendeskAdapter) -> tuple[list[PullResult], list[PullResult]]:
        _, cursor = await pull_all(adapter)
        standin.update_ticket(changed, status="hold", priority="urgent")
        standin.add_comment(commented, "我刚才又试了一次，还是不行。")
        standin.delete_ticket(deleted)
        after, cursor = await pull_all(adapter, cursor)
        quiet, _ = await pull_all(adapter, cursor)
        return after, quiet

    after, quiet = run_with(standin, url, scenario, page_size=50)
    tickets = {t.key.external_id: t for t in tickets_of(after)}

    assert sorted(tickets) == sorted(str(i) for i in (changed, commented, deleted))
    assert tickets[str(changed)].status is Status.ON_HOLD
    assert tickets[str(changed)].priority is Priority.URGENT
    last = tickets[str(commented)].messages[-1]
    assert (last.body_text, last.kind) == ("我刚才又试了一次，还是不行。", MessageKind.REPLY)
    assert len(tickets[str(commented)].messages) == len(standin.comments_of(commented))
    gone = tickets[str(deleted)]
    assert gone.deleted and gone.status is Status.CLOSED and gone.native_status == "deleted"
    assert tickets_of(quiet) == [] and not quiet[-1].has_more


def test_cursor_never_skips_a_ticket_changed_while_syncing(
    standin: ZendeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()
    early, late = order[5], order[100]  # on the first page / on a page not yet pulled

    async def scenario(adapter: ZendeskAdapter) -> list[PullResult]:
        first = await adapter.pull(None)
        standin.update_ticket(early, subject="changed after its page was handed out")
        standin.update_ticket(late, subject="changed before its page was pulled")
        rest, _ = await pull_all(adapter, first.cursor)
        return [first, *rest]

    pages = run_with(standin, url, scenario, page_size=40)
    seen = [t.key.external_id for t in tickets_of(pages)]
    final = {t.key.external_id: t for t in tickets_of(pages)}  # later versions win

    assert seen.count(str(early)) == 2 and seen.count(str(late)) == 1
    assert set(seen) == {str(i) for i in order}
    assert final[str(early)].subject == "changed after its page was handed out"
    assert final[str(late)].subject == "changed before its page was pulled"


def _first_with_status(standin: ZendeskStandIn, status: str) -> str:
    return str(next(i for i in standin.ticket_ids() if standin.raw_ticket(i)["status"] == status))


def test_reply_note_and_status_reach_zendesk(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first_with_status(standin, "open")

    async def scenario(adapter: ZendeskAdapter) -> list[Any]:
        return [
            await adapter.perform(
                ActionRequest(ActionKind.REPLY, ticket_id, "key-reply", body="您好，退款已到账。")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.NOTE, ticket_id, "key-note", body="Refund checked.")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-status", status=Status.SOLVED)
            ),
        ]

    reply, note, solved = run_with(standin, url, scenario)

    assert reply.ok and note.ok and solved.ok
    assert reply.created_messages[0].kind is MessageKind.REPLY
    assert note.created_messages[0].kind is MessageKind.NOTE
    assert solved.ticket is not None and solved.ticket.status is Status.SOLVED
    assert [m.external_id for m in solved.ticket.messages[-2:]] == [
        reply.remote_id,
        note.remote_id,
    ]
    api = ZendeskApi(url, standin)
    assert api.get(f"/api/v2/tickets/{ticket_id}.json").json()["ticket"]["status"] == "solved"
    comments = api.get(f"/api/v2/tickets/{ticket_id}/comments.json").json()["comments"]
    assert [(c["body"], c["public"]) for c in comments[-2:]] == [
        ("您好，退款已到账。", True),
        ("Refund checked.", False),
    ]


def test_retried_action_posts_one_comment(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first_with_status(standin, "open")
    before = len(standin.comments_of(int(ticket_id)))
    reply = ActionRequest(
        ActionKind.REPLY, ticket_id, "outbox-17", body="Your refund is on its way."
    )

    async def scenario(adapter: ZendeskAdapter) -> list[Any]:
        first = await adapter.perform(reply)
        retried = await adapter.perform(reply)  # the outbox crashed before marking it done
        other = await adapter.perform(
            ActionRequest(ActionKind.REPLY, ticket_id, "outbox-18", body="Anything else?")
        )
        return [first, retried, other]

    first, retried, other = run_with(standin, url, scenario)

    assert first.remote_id == retried.remote_id != other.remote_id
    comments = ZendeskApi(url, standin).get(f"/api/v2/tickets/{ticket_id}/comments.json").json()
    assert comments["count"] == before + 2
    assert [c["body"] for c in comments["comments"][-2:]] == [
        "Your refund is on its way.",
        "Anything else?",
    ]


def test_actions_the_system_refuses_raise_readable_errors(
    standin: ZendeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    closed = _first_with_status(standin, "closed")
    deleted = standin.ticket_ids()[0]
    standin.delete_ticket(deleted)

    async def scenario(adapter: ZendeskAdapter) -> list[AdapterError]:
        errors: list[AdapterError] = []
        for action in (
            ActionRequest(ActionKind.REPLY, str(closed), "k1", body="hello"),
            ActionRequest(ActionKind.NOTE, str(deleted), "k2", body="hello"),
            ActionRequest(ActionKind.REPLY, str(closed), "k3", body="   "),
        ):
            try:
                await adapter.perform(action)
            except AdapterError as exc:
                errors.append(exc)
        return errors

    refused, missing, empty = run_with(standin, url, scenario)

    assert isinstance(refused, RemoteError) and refused.status_code == 422
    assert f"refused the change to ticket {closed}" in refused.message
    assert isinstance(missing, RemoteError) and missing.status_code == 404
    assert missing.message == f"ticket {deleted} no longer exists in Zendesk"
    assert empty.message == "a reply needs a text"


def test_expired_token_is_renewed_transparently(seed_tickets: list[SeedTicket], serve: Any) -> None:
    clock = FakeClock()
    standin = ZendeskStandIn(seed_tickets, token_ttl_s=60, clock=clock)
    url = serve(standin.app)
    stale = ZendeskApi(url, standin)

    async def scenario(adapter: ZendeskAdapter) -> list[PullResult]:
        first = await adapter.pull(None)
        clock.advance(61)  # the server now refuses the token the adapter still holds
        rest, _ = await pull_all(adapter, first.cursor)
        return [first, *rest]

    pages = run_with(standin, url, scenario, page_size=70)

    assert len(tickets_of(pages)) == len(standin.ticket_ids())
    assert standin.tokens_issued == 3  # ours, the adapter's first, the renewed one
    assert standin.tokens_rejected >= 1
    refused = stale.get("/api/v2/users/me.json")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_check_reports_a_working_connection(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check())

    assert result.ok and result.message == f"connected to {url} as Tabless Integration (admin)"
    assert result.latency_ms is not None and result.latency_ms > 0


def test_check_says_the_secret_was_rejected(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check(), secret="wrong")

    assert not result.ok and result.message == "401 — the client id or secret was rejected"


def test_check_names_an_unreachable_host(standin: ZendeskStandIn) -> None:
    sock = free_socket()
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there any more

    result = run_with(standin, dead, lambda adapter: adapter.check())

    assert not result.ok and result.message == f"cannot connect to {dead}: connection refused"


def test_rate_limit_waits_for_retry_after(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update(
        {"path_prefix": "/api/v2/incremental/", "retry_after_s": 0.4, "fail_next": [429]}
    )

    async def scenario(adapter: ZendeskAdapter) -> tuple[PullResult, float]:
        started = time.perf_counter()
        page = await adapter.pull(None)
        return page, time.perf_counter() - started

    page, elapsed = run_with(standin, url, scenario, page_size=20)

    assert len(page.tickets) == 20 and standin.plan.fail_next == []
    assert elapsed >= 0.4


def test_server_errors_are_retried_then_reported(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update({"path_prefix": "/api/v2/tickets/", "fail_next": [500, 502, 503]})

    async def scenario(adapter: ZendeskAdapter) -> tuple[PullResult, BaseException | None]:
        page = await adapter.pull(None)
        standin.plan.update({"path_prefix": "/api/v2/incremental/", "fail_next": [500] * 4})
        try:
            await adapter.pull(page.cursor)
        except RemoteError as exc:
            return page, exc
        return page, None

    page, error = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10
    assert all(
        len(t.messages) == len(standin.comments_of(int(t.key.external_id))) for t in page.tickets
    )
    assert isinstance(error, RemoteError) and error.status_code == 500  # after 3 retries


def test_malformed_ticket_is_quarantined_and_the_rest_kept(
    standin: ZendeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    broken = standin.ticket_ids()[42]
    standin.update_ticket(broken, updated_at="last Tuesday")

    pages, _ = run_with(standin, url, pull_all, page_size=50)
    errors = [e for p in pages for e in p.quarantined]

    ids = {t.key.external_id for t in tickets_of(pages)}
    assert ids == {str(i) for i in standin.ticket_ids()} - {str(broken)}
    assert len(errors) == 1
    ctx = errors[0].context
    assert (ctx.system, ctx.stream, ctx.record_id, ctx.field) == (
        "zendesk",
        "tickets",
        str(broken),
        "updated_at",
    )
    assert "'last Tuesday'" in errors[0].message


def test_an_unreadable_cursor_is_an_error_not_a_resync(standin: ZendeskStandIn) -> None:
    async def scenario(adapter: ZendeskAdapter) -> None:
        await adapter.pull('{"page": 3}')

    with pytest.raises(DecodeError) as caught:
        run_with(standin, "http://127.0.0.1:9", scenario)
    assert caught.value.context.field == "cursor"


def test_manifest_declares_the_secret_and_defaults() -> None:
    assert MANIFEST.name == "zendesk"
    assert MANIFEST.field("client_secret").secret
    assert not MANIFEST.field("client_id").secret
    assert MANIFEST.field("page_size").default == 100
    assert not MANIFEST.field("page_size").required


# ------------------------------------------------------------------- mapping on fixtures


def _map_fixture_page(page: dict[str, Any]) -> tuple[list[Ticket], list[Any]]:
    comments = fixture("ticket_comments.json")
    return mapping.map_page(
        page["tickets"],
        {"35012": comments["comments"]},
        mapping.index_by_id([*page["users"], *comments["users"]]),
        mapping.index_by_id(page["groups"]),
        system_id="zendesk-eu",
    )


def test_mapping_of_an_export_page() -> None:
    tickets, errors = _map_fixture_page(fixture("incremental_tickets_page.json"))
    by_id = {t.key.external_id: t for t in tickets}

    assert errors == [] and list(by_id) == ["35012", "35013", "35014", "35015"]
    refund = by_id["35012"]
    assert refund.subject == "订单 482913 申请退款"
    assert refund.tags == ("退款", "订单")
    assert (refund.status, refund.priority, refund.queue) == (Status.OPEN, Priority.HIGH, "Billing")
    assert refund.created_at == datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)
    assert refund.updated_at == datetime(2024, 3, 6, 2, 40, 11, tzinfo=UTC)
    assert refund.requester is not None
    assert (refund.requester.name, refund.requester.email, refund.requester.phone) == (
        "王芳",
        "wang.fang@example.cn",
        "+86 13812345678",
    )
    assert refund.assignee is not None and refund.assignee.name == "陈晓华"
    held = by_id["35013"]
    assert (held.status, held.native_status, held.priority, held.assignee) == (
        Status.ON_HOLD,
        "hold",
        None,
        None,
    )
    gone = by_id["35014"]
    assert (gone.deleted, gone.status, gone.native_status, gone.messages) == (
        True,
        Status.CLOSED,
        "deleted",
        (),
    )
    pending = by_id["35015"]
    assert pending.queue is None  # its group was not sideloaded: no invented name
    assert pending.requester is not None and pending.requester.external_id == "1029"
    assert pending.requester.name is None


def test_mapping_of_comments() -> None:
    tickets, _ = _map_fixture_page(fixture("incremental_tickets_page.json"))
    messages = tickets[0].messages

    assert [m.kind for m in messages] == [MessageKind.REPLY, MessageKind.NOTE, MessageKind.REPLY]
    assert (
        messages[0].body_text
        == "你好，我的订单 482913 收到的商品有破损，想申请退款，请尽快处理。谢谢！"
    )
    assert messages[1].body_text == "已核实，等待仓库回复。" and not messages[1].public
    assert messages[2].author is not None and messages[2].author.email == (
        "xiaohua.chen@support.example.com"
    )
    assert all(m.created_at.tzinfo is UTC for m in messages)
    (photo,) = messages[0].attachments
    assert (photo.filename, photo.content_type, photo.size) == (
        "破损照片.jpg",
        "image/jpeg",
        1204551,
    )
    assert photo.url is not None and photo.url.startswith("https://tabless-demo.zendesk.com/")


def test_offset_timestamps_become_utc() -> None:
    page = fixture("incremental_tickets_page.json")
    page["tickets"][1]["updated_at"] = "2024-03-06T11:12:45+08:00"

    tickets, _ = _map_fixture_page(page)

    assert tickets[1].updated_at == datetime(2024, 3, 6, 3, 12, 45, tzinfo=UTC)


def test_unreadable_tickets_are_quarantined_with_their_field() -> None:
    page = fixture("incremental_tickets_page.json")
    del page["tickets"][1]["id"]
    page["tickets"][2]["created_at"] = "32/13/2024"
    page["tickets"][3]["status"] = "archived"
    comments = copy.deepcopy(fixture("ticket_comments.json"))
    comments["comments"][1]["created_at"] = None

    tickets, errors = mapping.map_page(
        page["tickets"],
        {"35012": comments["comments"]},
        mapping.index_by_id(page["users"]),
        {},
        system_id="zendesk-eu",
    )

    assert tickets == []
    assert [(e.context.record_id, e.context.field, e.context.offset) for e in errors] == [
        ("35012", "comments[5001003].created_at", 0),
        (None, "id", 1),
        ("35014", "created_at", 2),
        ("35015", "status", 3),
    ]
    assert all((e.context.system, e.context.stream) == ("zendesk-eu", "tickets") for e in errors)


def test_people_are_shared_within_a_page_and_odd_ids_keep_their_rules() -> None:
    page = fixture("incremental_tickets_page.json")
    users = mapping.index_by_id(page["users"])
    first, second = copy.deepcopy(page["tickets"][0]), copy.deepcopy(page["tickets"][0])
    second["id"] = first["id"] + 1
    user_id = first["requester_id"]
    users[1] = {"id": 1, "name": "User One"}
    second["assignee_id"] = True  # True == 1 as a dict key: must not become user 1
    comment = {"id": 9, "public": True, "body": "hi", "created_at": 0, "author_id": "1"}
    tickets, errors = mapping.map_page(
        [first, second],
        {str(second["id"]): [comment]},
        users,
        {},
        system_id="zendesk",
    )
    assert errors == []
    assert tickets[0].requester is tickets[1].requester  # built once per page
    assert tickets[0].requester == mapping.person(user_id, users)
    assert tickets[1].assignee is None
    message = tickets[1].messages[0]
    assert message.author is None  # an id as text is not an id
    assert message.created_at == datetime(1970, 1, 1, tzinfo=UTC)  # epoch numbers still read


def test_unknown_priority_stays_unknown() -> None:
    assert mapping.map_priority("critical") is None
    assert mapping.map_priority(None) is None
    assert mapping.map_priority("urgent") is Priority.URGENT


def test_actions_become_ticket_updates() -> None:
    reply = ActionRequest(ActionKind.REPLY, "35012", "k", body="好的", status=Status.PENDING)
    note = ActionRequest(ActionKind.NOTE, "35012", "k", body="internal")
    hold = ActionRequest(ActionKind.SET_STATUS, "35012", "k", status=Status.ON_HOLD)

    assert mapping.update_body(reply) == {
        "comment": {"body": "好的", "public": True},
        "status": "pending",
    }
    assert mapping.update_body(note) == {"comment": {"body": "internal", "public": False}}
    assert mapping.update_body(hold) == {"status": "hold"}
    with pytest.raises(AdapterError):
        mapping.update_body(ActionRequest(ActionKind.SET_STATUS, "35012", "k"))


def test_update_response_names_the_created_comment() -> None:
    answer = fixture("ticket_update_response.json")

    assert mapping.created_comment_id(answer) == "5001007"
    assert mapping.audit_id(answer) == "5001006"
    assert mapping.created_comment_id({"audit": {"events": []}}) is None


def test_long_conversations_are_read_across_comment_pages(
    standin: ZendeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    ticket_id = int(_first_with_status(standin, "pending"))
    for number in range(230):
        standin.add_comment(ticket_id, f"第 {number} 条消息", public=number % 3 != 0)
    expected = standin.comments_of(ticket_id)

    ticket = run_with(standin, url, lambda adapter: adapter.fetch_ticket(str(ticket_id)))

    assert len(expected) > 2 * 100  # three pages of Zendesk's maximum 100
    assert [m.external_id for m in ticket.messages] == [str(c["id"]) for c in expected]
    assert ticket.messages[-1].body_text == "第 229 条消息"


def test_simulated_activity_shows_up_in_the_next_pull(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    rng = random.Random(7)

    async def scenario(adapter: ZendeskAdapter) -> list[PullResult]:
        _, cursor = await pull_all(adapter)
        for _ in range(6):
            standin.simulate_activity(rng)
        changed = standin.ticket_ids()[-6:]
        pages, _ = await pull_all(adapter, cursor)
        assert {t.key.external_id for t in tickets_of(pages)} <= {str(i) for i in changed}
        return pages

    pages = run_with(standin, url, scenario)
    tickets = tickets_of(pages)

    assert 1 <= len(tickets) <= 6 and all(p.quarantined == [] for p in pages)
    assert all(t.messages for t in tickets)


def test_standin_speaks_zendesk_errors(standin: ZendeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    api = ZendeskApi(url, standin)
    open_id = _first_with_status(standin, "open")

    no_token = httpx.get(f"{url}/api/v2/users/me.json")
    bad_client = httpx.post(
        f"{url}/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": standin.client_id,
            "client_secret": "guess",
        },
    )
    missing = api.get("/api/v2/tickets/1.json")
    invalid = api.http.put(f"/api/v2/tickets/{open_id}.json", json={"ticket": {"status": "gone"}})
    first = api.http.put(
        f"/api/v2/tickets/{open_id}.json",
        json={"ticket": {"comment": {"body": "hi", "public": False}}},
        headers={"Idempotency-Key": "same"},
    )
    reused = api.http.put(
        f"/api/v2/tickets/{open_id}.json",
        json={"ticket": {"comment": {"body": "different", "public": False}}},
        headers={"Idempotency-Key": "same"},
    )

    assert (no_token.status_code, no_token.json()) == (401, {"error": "Couldn't authenticate you"})
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    assert missing.status_code == 404
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    assert invalid.status_code == 422 and invalid.json()["error"] == "RecordInvalid"
    assert invalid.json()["details"]["status"][0]["description"] == "Status: gone is not valid"
    assert first.headers["x-idempotency-lookup"] == "miss"
    assert reused.status_code == 400 and reused.json()["error"] == "IdempotentRequestError"


def test_ticket_deleted_while_its_page_is_read_comes_back_deleted(
    standin: ZendeskStandIn, serve: Any
) -> None:
    victim = standin.ticket_ids()[7]
    comments_path = f"/api/v2/tickets/{victim}/comments.json"

    async def delete_on_first_comment_request(scope: Any, receive: Any, send: Any) -> None:
        # a colleague deletes the ticket after the export page was cut, before its comments
        first_time = standin.raw_ticket(victim)["status"] != "deleted"
        if scope["type"] == "http" and scope["path"] == comments_path and first_time:
            standin.delete_ticket(victim)
        await standin.app(scope, receive, send)

    url = serve(delete_on_first_comment_request)
    pages, _ = run_with(standin, url, pull_all, page_size=30)

    first = [t.key.external_id for t in pages[0].tickets]
    assert str(victim) not in first and len(first) == 29 and pages[0].quarantined == []
    (again,) = [t for t in tickets_of(pages) if t.key.external_id == str(victim)]
    assert again.deleted and again.messages == ()
