"""The Freshdesk adapter against the Freshdesk stand-in over real HTTP, and its mapping on saved
payloads in Freshdesk's documented shapes (tests/fixtures/freshdesk/)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext, PullResult
from adapters.freshdesk import MANIFEST, FreshdeskAdapter, mapping
from adapters.freshdesk.client import error_detail
from app.domain import (
    AdapterError,
    DecodeError,
    ErrorContext,
    MessageKind,
    Priority,
    RecordError,
    RemoteError,
    Status,
    Ticket,
)
from sandbox import dataset
from sandbox.dataset import SeedTicket
from sandbox.freshdesk import FreshdeskStandIn, freshdesk_seeds
from sandbox.server import free_socket

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "freshdesk"
FAST = HttpSettings(backoff_base=0.02, backoff_max=0.1)
T = TypeVar("T")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def run_with(
    standin: FreshdeskStandIn,
    url: str,
    scenario: Callable[[FreshdeskAdapter], Awaitable[T]],
    *,
    api_key: str | None = None,
    **settings: Any,
) -> T:
    """Build the adapter inside one event loop, run ``scenario`` with it, close it."""
    connection = standin.connection(url)
    secrets = {**connection["secrets"], **({"api_key": api_key} if api_key else {})}

    async def main() -> T:
        adapter = FreshdeskAdapter(
            AdapterContext(
                system_id="freshdesk",
                settings={**connection["settings"], **settings},
                secret=secrets.__getitem__,
                naive_zone=connection["naive_zone"],
            ),
            http=FAST,
        )
        try:
            return await scenario(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


async def pull_all(
    adapter: FreshdeskAdapter, cursor: str | None = None
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


class PastClock:
    """Stand-in change times an hour ago, one second apart: never in the second being read."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def api(url: str, standin: FreshdeskStandIn) -> httpx.Client:
    """The stand-in's own API, as a second Freshdesk client would see it."""
    return httpx.Client(base_url=url, auth=(standin.api_key, "X"))


@pytest.fixture
def standin(seed_tickets: list[SeedTicket]) -> FreshdeskStandIn:
    return FreshdeskStandIn(seed_tickets)


@pytest.fixture
def past_standin() -> FreshdeskStandIn:
    seeds = dataset.build(seed=42, now=datetime.now(UTC) - timedelta(hours=2))
    return FreshdeskStandIn(seeds, now=PastClock())


def _first_with_status(standin: FreshdeskStandIn, status: int) -> str:
    return str(next(i for i in standin.ticket_ids() if standin.raw_ticket(i)["status"] == status))


# ------------------------------------------------------------------------------ over HTTP


def test_full_sync_follows_link_pages_and_returns_every_conversation(
    standin: FreshdeskStandIn, serve: Any, seed_tickets: list[SeedTicket]
) -> None:
    url = serve(standin.app)
    pages, cursor = run_with(standin, url, pull_all, page_size=30)
    seeds = {str(s.id): s for s in freshdesk_seeds(seed_tickets)}
    tickets = {t.key.external_id: t for t in tickets_of(pages)}

    assert len(pages) >= 5 and all(p.quarantined == [] for p in pages)
    assert json.loads(cursor or "{}")["stream"] == "tickets"
    assert sorted(tickets) == sorted(seeds) and len(tickets) == 140
    for ticket_id, seed in seeds.items():
        ticket = tickets[ticket_id]
        assert ticket.subject == seed.subject
        assert ticket.created_at == seed.created_at and ticket.created_at.tzinfo is UTC
        assert ticket.requester is not None and ticket.requester.email == seed.customer.email
        assert ticket.priority is Priority(seed.priority)
        assert [(m.body_text, m.public) for m in ticket.messages] == [
            (e.body, e.public) for e in seed.entries
        ]
        assert [m.author.email if m.author else None for m in ticket.messages] == [
            e.author_email for e in seed.entries
        ]
        assert (ticket.assignee.name if ticket.assignee else None) == (
            seed.assignee.name if seed.assignee else None
        )
    natives = {t.native_status: t.status for t in tickets.values()}
    assert natives["Waiting on Customer"] is Status.PENDING
    assert natives["Waiting on Third Party"] is Status.ON_HOLD
    assert natives["Resolved"] is Status.SOLVED
    spare = [t for t in tickets.values() if t.native_status == "Awaiting Spare Parts"]
    assert spare and all(t.status is Status.OPEN for t in spare)
    assert all(t.extra["unmapped_status"] == "Awaiting Spare Parts" for t in spare)
    # the SLA due time rides along for the inbox, as aware UTC like every timestamp
    assert all(t.extra["due_by"].endswith("Z") and "T" in t.extra["due_by"] for t in spare)
    invoice = next(a for t in tickets.values() for m in t.messages for a in m.attachments if a.size)
    assert (invoice.filename, invoice.content_type) == ("invoice-corrected.pdf", "application/pdf")


def test_incremental_pull_returns_exactly_the_changed_tickets(
    past_standin: FreshdeskStandIn, serve: Any
) -> None:
    standin = past_standin
    url = serve(standin.app)
    order = standin.ticket_ids()
    changed, replied, deleted = order[3], order[60], order[120]

    async def scenario(adapter: FreshdeskAdapter) -> tuple[list[PullResult], list[PullResult]]:
        _, cursor = await pull_all(adapter)
        standin.update_ticket(changed, status=7, priority=4)
        standin.add_customer_reply(replied, "我刚才又试了一次，还是不行。")
        standin.delete_ticket(deleted)
        after, cursor = await pull_all(adapter, cursor)
        quiet, _ = await pull_all(adapter, cursor)
        return after, quiet

    after, quiet = run_with(standin, url, scenario, page_size=50)
    tickets = {t.key.external_id: t for t in tickets_of(after)}

    assert sorted(tickets) == sorted(str(i) for i in (changed, replied, deleted))
    assert tickets[str(changed)].status is Status.ON_HOLD
    assert tickets[str(changed)].priority is Priority.URGENT
    last = tickets[str(replied)].messages[-1]
    assert (last.body_text, last.kind) == ("我刚才又试了一次，还是不行。", MessageKind.REPLY)
    assert len(tickets[str(replied)].messages) == len(standin.conversations_of(replied)) + 1
    assert tickets[str(deleted)].deleted
    assert tickets_of(quiet) == [] and not quiet[-1].has_more


def test_reply_note_and_status_reach_freshdesk(standin: FreshdeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first_with_status(standin, 2)

    async def scenario(adapter: FreshdeskAdapter) -> list[Any]:
        return [
            await adapter.perform(
                ActionRequest(ActionKind.REPLY, ticket_id, "key-reply", body="您好，退款已到账。")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.NOTE, ticket_id, "key-note", body="Refund <checked>.")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-hold", status=Status.ON_HOLD)
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-solve", status=Status.SOLVED)
            ),
        ]

    reply, note, held, solved = run_with(standin, url, scenario)

    assert reply.ok and note.ok and held.ok and solved.ok
    assert reply.created_messages[0].kind is MessageKind.REPLY
    assert note.created_messages[0].kind is MessageKind.NOTE
    assert held.ticket is not None and held.ticket.native_status == "Waiting on Third Party"
    assert solved.ticket is not None and solved.ticket.status is Status.SOLVED
    with api(url, standin) as remote:
        assert remote.get(f"/api/v2/tickets/{ticket_id}").json()["status"] == 4
        shown = remote.get(f"/api/v2/tickets/{ticket_id}/conversations?per_page=100").json()
    assert [(c["body_text"], c["private"]) for c in shown[-2:]] == [
        ("您好，退款已到账。", False),
        ("Refund <checked>.", True),
    ]
    assert [str(c["id"]) for c in shown[-2:]] == [reply.remote_id, note.remote_id]


def test_a_lost_answer_or_an_outbox_retry_posts_one_reply(
    standin: FreshdeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    ticket_id = _first_with_status(standin, 2)
    before = len(standin.conversations_of(int(ticket_id)))
    reply = ActionRequest(
        ActionKind.REPLY, ticket_id, "outbox-17", body="Your refund is on its way."
    )

    async def scenario(adapter: FreshdeskAdapter) -> list[Any]:
        standin.lose_next_answers = 1  # stored, then answered 502
        first = await adapter.perform(reply)
        retried = await adapter.perform(reply)  # the outbox crashed before marking it done
        other = await adapter.perform(
            ActionRequest(ActionKind.NOTE, ticket_id, "outbox-18", body="Anything else?")
        )
        return [first, retried, other]

    first, retried, other = run_with(standin, url, scenario)

    assert standin.lose_next_answers == 0
    assert first.ok and first.remote_id == retried.remote_id != other.remote_id
    stored = standin.conversations_of(int(ticket_id))
    assert len(stored) == before + 2
    assert [c["body_text"] for c in stored[-2:]] == ["Your refund is on its way.", "Anything else?"]


def test_refused_actions_raise_readable_errors(standin: FreshdeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    deleted = standin.ticket_ids()[0]
    standin.delete_ticket(deleted)
    ticket_id = _first_with_status(standin, 2)

    async def scenario(adapter: FreshdeskAdapter) -> list[AdapterError]:
        errors: list[AdapterError] = []
        for action in (
            ActionRequest(ActionKind.NOTE, str(deleted), "k1", body="hello"),
            ActionRequest(ActionKind.REPLY, ticket_id, "k2", body="   "),
            ActionRequest(ActionKind.SET_STATUS, "abc", "k3", status=Status.OPEN),
        ):
            try:
                await adapter.perform(action)
            except AdapterError as exc:
                errors.append(exc)
        return errors

    missing, empty, bad_id = run_with(standin, url, scenario)

    assert isinstance(missing, RemoteError) and missing.status_code == 404
    assert missing.message == f"ticket {deleted} no longer exists in Freshdesk"
    assert empty.message == "a reply needs a text"
    assert bad_id.message == "'abc' is not a Freshdesk ticket id"


def test_check_reports_a_working_connection_and_unknown_custom_statuses(
    standin: FreshdeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check())

    assert result.ok and result.message == (
        f"connected to {url} as Tabless Integration; "
        "custom statuses shown as open: Awaiting Spare Parts"
    )
    assert result.latency_ms is not None and result.latency_ms > 0


def test_check_says_the_api_key_was_rejected(standin: FreshdeskStandIn, serve: Any) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check(), api_key="wrong")

    assert not result.ok and result.message == "401 — the API key was rejected"


def test_check_names_an_unreachable_host(standin: FreshdeskStandIn) -> None:
    sock = free_socket()
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()

    result = run_with(standin, dead, lambda adapter: adapter.check())

    assert not result.ok and result.message == f"cannot connect to {dead}: connection refused"


def test_rate_limit_waits_for_retry_after(standin: FreshdeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update(
        {"path_prefix": "/api/v2/tickets", "retry_after_s": 0.4, "fail_next": [429]}
    )

    async def scenario(adapter: FreshdeskAdapter) -> tuple[PullResult, float]:
        started = time.perf_counter()
        page = await adapter.pull(None)
        return page, time.perf_counter() - started

    page, elapsed = run_with(standin, url, scenario, page_size=20)

    assert len(page.tickets) == 20 and standin.plan.fail_next == []
    assert elapsed >= 0.4


def test_stand_in_sends_the_documented_rate_limit_headers(
    seed_tickets: list[SeedTicket], serve: Any
) -> None:
    standin = FreshdeskStandIn(seed_tickets, rate_limit=2, clock=lambda: 100.0)
    url = serve(standin.app)

    with api(url, standin) as remote:
        first = remote.get("/api/v2/ticket_fields")
        remote.get("/api/v2/ticket_fields")
        limited = remote.get("/api/v2/ticket_fields")

    assert first.headers["X-RateLimit-Total"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Used-CurrentRequest"] == "1"
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert standin.requests_limited == 1


def test_server_errors_are_retried_then_reported(standin: FreshdeskStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update({"path_prefix": "/api/v2/tickets/", "fail_next": [500, 502, 503]})

    async def scenario(adapter: FreshdeskAdapter) -> tuple[PullResult, BaseException | None]:
        page = await adapter.pull(None)
        standin.plan.update({"path_prefix": "/api/v2/tickets", "fail_next": [500] * 4})
        try:
            await adapter.pull(page.cursor)
        except RemoteError as exc:
            return page, exc
        return page, None

    page, error = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10 and standin.plan.fail_next == []
    assert all(
        len(t.messages) == len(standin.conversations_of(int(t.key.external_id))) + 1
        for t in page.tickets
    )
    assert isinstance(error, RemoteError) and error.status_code == 500


def test_malformed_ticket_is_quarantined_and_the_rest_kept(
    standin: FreshdeskStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    broken = standin.ticket_ids()[42]
    standin.update_ticket(broken, created_at="last Tuesday")

    pages, _ = run_with(standin, url, pull_all, page_size=50)
    errors = [e for p in pages for e in p.quarantined]

    ids = {t.key.external_id for t in tickets_of(pages)}
    assert ids == {str(i) for i in standin.ticket_ids()} - {str(broken)}
    assert len(errors) == 1
    ctx = errors[0].context
    assert (ctx.system, ctx.stream, ctx.record_id, ctx.field) == (
        "freshdesk",
        "tickets",
        str(broken),
        "created_at",
    )
    assert "'last Tuesday'" in errors[0].message


def test_a_next_link_to_another_host_is_refused(standin: FreshdeskStandIn, serve: Any) -> None:
    async def fields(request: Request) -> Response:
        return JSONResponse([])

    async def agents(request: Request) -> Response:
        link = '<http://collector.invalid/api/v2/agents?page=2>; rel="next"'
        return JSONResponse([], headers={"Link": link})

    url = serve(
        Starlette(
            routes=[
                Route("/api/v2/ticket_fields", fields),
                Route("/api/v2/agents", agents),
            ]
        )
    )

    with pytest.raises(DecodeError) as caught:
        run_with(standin, url, lambda adapter: adapter.pull(None))
    assert "the next-page link leaves" in caught.value.message  # the API key stays home


def test_an_unreadable_cursor_is_an_error_not_a_resync(standin: FreshdeskStandIn) -> None:
    async def scenario(adapter: FreshdeskAdapter) -> None:
        await adapter.pull('{"page": 3}')

    with pytest.raises(DecodeError) as caught:
        run_with(standin, "http://127.0.0.1:9", scenario)
    assert caught.value.context.field == "cursor"


def test_manifest_declares_the_secret_and_defaults() -> None:
    assert MANIFEST.name == "freshdesk"
    assert MANIFEST.field("api_key").secret and not MANIFEST.field("base_url").secret
    assert MANIFEST.field("page_size").default == 100 and not MANIFEST.field("page_size").required


# ------------------------------------------------------------------- mapping on fixtures


def _map_fixture() -> tuple[list[Ticket], list[RecordError]]:
    return mapping.map_page(
        fixture("tickets_page.json"),
        {"112": fixture("conversations.json")},
        mapping.agent_people(fixture("agents.json")),
        mapping.status_labels(fixture("ticket_fields.json")),
        system_id="freshdesk-cn",
    )


def test_mapping_of_a_documented_ticket_page() -> None:
    tickets, errors = _map_fixture()
    by_id = {t.key.external_id: t for t in tickets}

    assert errors == [] and list(by_id) == ["112", "113", "114", "115"]
    refund = by_id["112"]
    assert (refund.subject, refund.tags) == ("订单 482913 申请退款", ("退款", "订单"))
    assert (refund.status, refund.native_status, refund.priority) == (
        Status.OPEN,
        "Open",
        Priority.HIGH,
    )
    assert refund.created_at == datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)
    assert refund.updated_at == datetime(2024, 3, 6, 2, 40, 11, tzinfo=UTC)
    assert refund.requester is not None
    assert (refund.requester.name, refund.requester.email, refund.requester.phone) == (
        "王芳",
        "wang.fang@example.cn",
        "+86 13812345678",
    )
    assert refund.assignee is not None and refund.assignee.name == "陈晓华"
    waiting = by_id["113"]
    assert (waiting.status, waiting.native_status, waiting.priority) == (
        Status.PENDING,
        "Waiting on Customer",
        Priority.LOW,
    )
    assert waiting.requester is not None and waiting.requester.phone == "+1 415 555 0100"
    parts = by_id["114"]
    assert (parts.status, parts.native_status, parts.extra) == (
        Status.OPEN,
        "等待配件",
        {"unmapped_status": "等待配件"},
    )
    assert parts.requester is not None and parts.requester.external_id == "43000001002"
    assert parts.requester.name is None  # not embedded: nothing invented
    gone = by_id["115"]
    assert gone.deleted and gone.status is Status.CLOSED


def test_mapping_of_documented_conversations() -> None:
    tickets, _ = _map_fixture()
    messages = tickets[0].messages

    assert [m.kind for m in messages] == [
        MessageKind.REPLY,
        MessageKind.REPLY,
        MessageKind.NOTE,
        MessageKind.REPLY,
    ]
    assert messages[0].body_text.startswith("你好，我的订单 482913")
    assert messages[0].external_id == "112-description"
    assert messages[2].body_text == "已核实，等待仓库回复。" and not messages[2].public
    assert messages[1].author is not None and messages[1].author.name == "陈晓华"
    assert messages[3].author is not None and messages[3].author.email == "wang.fang@example.cn"
    assert all(m.created_at.tzinfo is UTC for m in messages)
    (photo,) = messages[3].attachments
    assert (photo.filename, photo.content_type, photo.size) == (
        "破损照片.jpg",
        "image/jpeg",
        1204551,
    )


def test_unreadable_tickets_are_quarantined_with_their_field() -> None:
    page = fixture("tickets_page.json")
    del page[1]["id"]
    page[2]["updated_at"] = "32/13/2024"
    page[3]["status"] = "Closed"
    conversations = fixture("conversations.json")
    conversations[1]["private"] = None

    tickets, errors = mapping.map_page(
        page, {"112": conversations}, {}, mapping.status_labels([]), system_id="fd"
    )

    assert tickets == []
    assert [(e.context.record_id, e.context.field, e.context.offset) for e in errors] == [
        ("112", "conversations[80000000102].private", 0),
        (None, "id", 1),
        ("114", "updated_at", 2),
        ("115", "status", 3),
    ]


def test_statuses_and_priorities_never_guess() -> None:
    labels = mapping.status_labels(fixture("ticket_fields.json"))
    ctx = ErrorContext()

    assert mapping.map_status(9, labels, ctx) == (Status.OPEN, "等待配件", True)
    assert mapping.map_status(12, labels, ctx) == (Status.OPEN, "12", True)
    assert mapping.map_priority(5) is None and mapping.map_priority(None) is None
    assert mapping.unified_to_code(Status.ON_HOLD, labels) == 7
    assert mapping.unified_to_code(Status.NEW, labels) == 2
    with pytest.raises(AdapterError):
        mapping.unified_to_code(Status.ON_HOLD, mapping.status_labels([]))


def test_reply_bodies_are_escaped_and_marked() -> None:
    body = mapping.body_html("<b>1 < 2</b>\n好的", "key-1")
    delivered = [{"id": 7, "body": body, "body_text": "x", "private": False}]
    lookalike = [{"id": 8, "body": "<div>hi</div>", "body_text": "hi", "private": False}]

    assert body.startswith("<div>&lt;b&gt;1 &lt; 2&lt;/b&gt;<br>好的</div>")
    assert mapping.marker("a--> b") == "tabless-action:a-__b"  # cannot close the comment
    assert mapping.find_delivery(delivered, "key-1") == delivered[0]
    assert mapping.find_delivery(delivered, "key-2") is None
    assert mapping.find_delivery(lookalike, "k") is None  # no snapshot: text alone is not proof
    assert mapping.find_delivery(lookalike, "k", text="hi", private=False, known_ids=frozenset())
    assert not mapping.find_delivery(
        lookalike, "k", text="hi", private=False, known_ids=frozenset({"8"})
    )


def test_validation_errors_are_put_in_words() -> None:
    response = httpx.Response(400, json=fixture("validation_error.json"))

    assert error_detail(response) == "status: It should be one of these values: '2,3,4,5,6,7'"
