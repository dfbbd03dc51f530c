"""The Zammad adapter against the Zammad stand-in over real HTTP, and its mapping on saved
payloads in Zammad's documented shapes (tests/fixtures/zammad/)."""

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

from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext, PullResult
from adapters.zammad import MANIFEST, ZammadAdapter, mapping
from adapters.zammad.client import error_human
from app.domain import (
    AdapterError,
    DecodeError,
    MessageKind,
    Priority,
    RecordError,
    RemoteError,
    Status,
    Ticket,
)
from sandbox import dataset
from sandbox.dataset import SeedTicket
from sandbox.server import free_socket
from sandbox.zammad import ZammadStandIn, zammad_seeds

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zammad"
FAST = HttpSettings(backoff_base=0.02, backoff_max=0.1)
SEED_STATUS = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "on_hold": Status.PENDING,  # Zammad's defaults have no "on hold"
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
T = TypeVar("T")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def run_with(
    standin: ZammadStandIn,
    url: str,
    scenario: Callable[[ZammadAdapter], Awaitable[T]],
    *,
    token: str | None = None,
    **settings: Any,
) -> T:
    """Build the adapter inside one event loop, run ``scenario`` with it, close it."""
    connection = standin.connection(url)
    secrets = {**connection["secrets"], **({"api_token": token} if token else {})}

    async def main() -> T:
        adapter = ZammadAdapter(
            AdapterContext(
                system_id="zammad",
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
    adapter: ZammadAdapter, cursor: str | None = None
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


def api(url: str, standin: ZammadStandIn) -> httpx.Client:
    """The stand-in's own API, as a second Zammad client would see it."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Token token={standin.token}"})


@pytest.fixture
def standin(seed_tickets: list[SeedTicket]) -> ZammadStandIn:
    return ZammadStandIn(seed_tickets)


@pytest.fixture
def past_standin() -> ZammadStandIn:
    seeds = dataset.build(seed=42, now=datetime.now(UTC) - timedelta(hours=2))
    return ZammadStandIn(seeds, now=PastClock())


def _first_in(standin: ZammadStandIn, state: str) -> str:
    return str(next(i for i in standin.ticket_ids() if standin.state_of(i) == state))


# ------------------------------------------------------------------------------ over HTTP


def test_full_sync_returns_every_ticket_with_articles_and_tags(
    standin: ZammadStandIn, serve: Any, seed_tickets: list[SeedTicket]
) -> None:
    url = serve(standin.app)
    pages, cursor = run_with(standin, url, pull_all, page_size=30)
    seeds = {str(s.id): s for s in zammad_seeds(seed_tickets)}
    tickets = {t.key.external_id: t for t in tickets_of(pages)}

    assert len(pages) >= 5 and all(p.quarantined == [] for p in pages)
    assert json.loads(cursor or "{}")["page"] == 1
    assert sorted(tickets) == sorted(seeds) and len(tickets) == 140
    for ticket_id, seed in seeds.items():
        ticket = tickets[ticket_id]
        assert ticket.subject == seed.subject
        assert ticket.status is SEED_STATUS[seed.status]
        assert ticket.created_at == seed.created_at and ticket.created_at.tzinfo is UTC
        assert ticket.requester is not None and ticket.requester.email == seed.customer.email
        assert ticket.requester.name == seed.customer.name
        assert (ticket.queue, ticket.tags) == (seed.queue, tuple(seed.tags))
        assert (ticket.assignee.name if ticket.assignee else None) == (
            seed.assignee.name if seed.assignee else None
        )
        assert [(m.body_text, m.public) for m in ticket.messages] == [
            (e.body, e.public) for e in seed.entries
        ]
        assert [m.author.email if m.author else None for m in ticket.messages] == [
            e.author_email for e in seed.entries
        ]
    urgent = [t for s, t in ((seeds[i], t) for i, t in tickets.items()) if s.priority == "urgent"]
    assert urgent and all(t.priority is Priority.HIGH for t in urgent)  # Zammad has 3 levels
    photo = next(a for t in tickets.values() for m in t.messages for a in m.attachments if a.size)
    assert (photo.filename, photo.content_type, photo.size) == (
        "破损照片.jpg",
        "image/jpeg",
        1204551,
    )


def test_incremental_pull_returns_exactly_the_changed_tickets(
    past_standin: ZammadStandIn, serve: Any
) -> None:
    standin = past_standin
    url = serve(standin.app)
    order = standin.ticket_ids()
    changed, replied, deleted = order[3], order[60], order[120]

    async def scenario(adapter: ZammadAdapter) -> tuple[list[PullResult], list[PullResult]]:
        _, cursor = await pull_all(adapter)
        standin.update_ticket(changed, state="closed", priority="1 low")
        standin.add_customer_reply(replied, "我刚才又试了一次，还是不行。")
        standin.delete_ticket(deleted)
        after, cursor = await pull_all(adapter, cursor)
        quiet, _ = await pull_all(adapter, cursor)
        return after, quiet

    after, quiet = run_with(standin, url, scenario, page_size=50)
    tickets = {t.key.external_id: t for t in tickets_of(after)}

    assert sorted(tickets) == sorted(str(i) for i in (changed, replied, deleted))
    assert tickets[str(changed)].status is Status.CLOSED
    assert tickets[str(changed)].priority is Priority.LOW
    last = tickets[str(replied)].messages[-1]
    assert (last.body_text, last.kind) == ("我刚才又试了一次，还是不行。", MessageKind.REPLY)
    assert len(tickets[str(replied)].messages) == len(standin.articles_of(replied))
    gone = tickets[str(deleted)]
    assert gone.deleted and gone.native_status == "removed"
    assert tickets_of(quiet) == [] and not quiet[-1].has_more


def test_a_sync_never_skips_a_ticket_changed_while_it_runs(
    standin: ZammadStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()
    early, late = order[5], order[100]

    async def scenario(adapter: ZammadAdapter) -> list[PullResult]:
        first = await adapter.pull(None)
        standin.update_ticket(early, title="changed after its page was handed out")
        standin.update_ticket(late, title="changed before its page was pulled")
        rest, _ = await pull_all(adapter, first.cursor)
        return [first, *rest]

    pages = run_with(standin, url, scenario, page_size=40)
    seen = [t.key.external_id for t in tickets_of(pages)]
    final = {t.key.external_id: t for t in tickets_of(pages)}

    assert set(seen) == {str(i) for i in order}
    assert seen.count(str(early)) == 2 and seen.count(str(late)) == 1
    assert final[str(early)].subject == "changed after its page was handed out"
    assert final[str(late)].subject == "changed before its page was pulled"


def test_reply_note_and_state_reach_zammad(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first_in(standin, "open")

    async def scenario(adapter: ZammadAdapter) -> list[Any]:
        return [
            await adapter.perform(
                ActionRequest(ActionKind.REPLY, ticket_id, "key-reply", body="您好，退款已到账。")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.NOTE, ticket_id, "key-note", body="Refund <checked>.")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-wait", status=Status.PENDING)
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "key-close", status=Status.CLOSED)
            ),
        ]

    reply, note, waiting, closed = run_with(standin, url, scenario)

    assert reply.ok and note.ok and waiting.ok and closed.ok
    assert reply.created_messages[0].kind is MessageKind.REPLY
    assert note.created_messages[0].kind is MessageKind.NOTE
    assert note.created_messages[0].body_text == "Refund <checked>."
    assert waiting.ticket is not None and waiting.ticket.native_status == "pending reminder"
    assert closed.ticket is not None and closed.ticket.status is Status.CLOSED
    with api(url, standin) as remote:
        shown = remote.get(f"/api/v1/tickets/{ticket_id}", params={"expand": "true"}).json()
        articles = remote.get(f"/api/v1/ticket_articles/by_ticket/{ticket_id}").json()
    assert shown["state"] == "closed"
    assert [(a["body"], a["internal"], a["sender"]) for a in articles[-2:]] == [
        ("您好，退款已到账。", False, "Agent"),
        ("Refund <checked>.", True, "Agent"),
    ]
    assert [str(a["id"]) for a in articles[-2:]] == [reply.remote_id, note.remote_id]


def test_a_lost_answer_or_an_outbox_retry_posts_one_article(
    standin: ZammadStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    ticket_id = _first_in(standin, "open")
    before = len(standin.articles_of(int(ticket_id)))
    reply = ActionRequest(
        ActionKind.REPLY, ticket_id, "outbox-17", body="Your refund is on its way."
    )

    async def scenario(adapter: ZammadAdapter) -> list[Any]:
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
    stored = standin.articles_of(int(ticket_id))
    assert len(stored) == before + 2
    assert [a["body"] for a in stored[-2:]] == ["Your refund is on its way.", "Anything else?"]


def test_refused_actions_raise_readable_errors(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first_in(standin, "open")

    async def scenario(adapter: ZammadAdapter) -> list[AdapterError]:
        errors: list[AdapterError] = []
        for action in (
            ActionRequest(ActionKind.NOTE, "99999", "k1", body="hello"),
            ActionRequest(ActionKind.REPLY, ticket_id, "k2", body="  "),
            ActionRequest(ActionKind.SET_STATUS, ticket_id, "k3"),
        ):
            try:
                await adapter.perform(action)
            except AdapterError as exc:
                errors.append(exc)
        return errors

    missing, empty, no_status = run_with(standin, url, scenario)

    assert isinstance(missing, RemoteError) and missing.status_code == 404
    assert missing.message == "ticket 99999 no longer exists in Zammad"
    assert empty.message == "a reply needs a text"
    assert no_status.message == "a status change needs a status"


def test_check_reports_a_working_connection(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check())

    assert result.ok and result.message == f"connected to {url} as Tabless Integration"
    assert result.latency_ms is not None and result.latency_ms > 0


def test_check_says_the_token_was_rejected(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)

    result = run_with(standin, url, lambda adapter: adapter.check(), token="wrong")

    assert not result.ok and result.message == "401 — the access token was rejected"


def test_check_names_an_unreachable_host(standin: ZammadStandIn) -> None:
    sock = free_socket()
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()

    result = run_with(standin, dead, lambda adapter: adapter.check())

    assert not result.ok and result.message == f"cannot connect to {dead}: connection refused"


def test_rate_limit_waits_for_retry_after(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update(
        {"path_prefix": "/api/v1/tickets/search", "retry_after_s": 0.4, "fail_next": [429]}
    )

    async def scenario(adapter: ZammadAdapter) -> tuple[PullResult, float]:
        started = time.perf_counter()
        page = await adapter.pull(None)
        return page, time.perf_counter() - started

    page, elapsed = run_with(standin, url, scenario, page_size=20)

    assert len(page.tickets) == 20 and standin.plan.fail_next == []
    assert elapsed >= 0.4


def test_server_errors_are_retried_then_reported(standin: ZammadStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update({"path_prefix": "/api/v1/ticket_articles/", "fail_next": [500, 502, 503]})

    async def scenario(adapter: ZammadAdapter) -> tuple[PullResult, BaseException | None]:
        page = await adapter.pull(None)
        standin.plan.update({"path_prefix": "/api/v1/tickets/search", "fail_next": [500] * 4})
        try:
            await adapter.pull(page.cursor)
        except RemoteError as exc:
            return page, exc
        return page, None

    page, error = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10 and standin.plan.fail_next == []
    assert all(
        len(t.messages) == len(standin.articles_of(int(t.key.external_id))) for t in page.tickets
    )
    assert isinstance(error, RemoteError) and error.status_code == 500


def test_malformed_ticket_is_quarantined_and_the_rest_kept(
    standin: ZammadStandIn, serve: Any
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
        "zammad",
        "tickets",
        str(broken),
        "created_at",
    )
    assert "'last Tuesday'" in errors[0].message


def test_an_unreadable_cursor_is_an_error_not_a_resync(standin: ZammadStandIn) -> None:
    async def scenario(adapter: ZammadAdapter) -> None:
        await adapter.pull('{"since": "yesterday", "page": 1}')

    with pytest.raises(DecodeError) as caught:
        run_with(standin, "http://127.0.0.1:9", scenario)
    assert caught.value.context.field == "cursor"


def test_manifest_declares_the_secret_and_defaults() -> None:
    assert MANIFEST.name == "zammad"
    assert MANIFEST.field("api_token").secret and not MANIFEST.field("base_url").secret
    assert MANIFEST.field("page_size").default == 100 and not MANIFEST.field("page_size").required


# ------------------------------------------------------------------- mapping on fixtures


def _users() -> dict[int, Any]:
    return {u["id"]: u for u in fixture("users.json")}


def _map_fixture() -> tuple[list[Ticket], list[RecordError]]:
    return mapping.map_page(
        fixture("search_expanded.json"),
        {"512": fixture("articles_by_ticket.json")},
        {"512": fixture("tags.json")["tags"]},
        _users(),
        system_id="zammad-cn",
    )


def test_mapping_of_documented_expanded_tickets() -> None:
    tickets, errors = _map_fixture()
    by_id = {t.key.external_id: t for t in tickets}

    assert errors == [] and list(by_id) == ["512", "513", "514", "515"]
    refund = by_id["512"]
    assert (refund.subject, refund.tags, refund.queue) == (
        "订单 482913 申请退款",
        ("退款", "订单"),
        "Billing",
    )
    assert (refund.status, refund.native_status, refund.priority) == (
        Status.OPEN,
        "open",
        Priority.HIGH,
    )
    assert refund.created_at == datetime(2024, 3, 5, 8, 15, 30, 120000, tzinfo=UTC)
    assert refund.requester is not None
    assert (refund.requester.name, refund.requester.email, refund.requester.phone) == (
        "王芳",
        "wang.fang@example.cn",
        "+86 13812345678",
    )
    assert refund.assignee is not None and refund.assignee.name == "陈晓华"
    assert refund.extra == {"number": "31512"}
    waiting = by_id["513"]
    assert (waiting.status, waiting.assignee) == (Status.PENDING, None)
    assert waiting.updated_at == datetime(2024, 3, 6, 3, 12, 45, tzinfo=UTC)  # +08:00 → UTC
    assert waiting.requester is not None and waiting.requester.phone == "+1 415 555 0100"
    parts = by_id["514"]
    assert (parts.status, parts.priority, parts.extra["unmapped_status"]) == (
        Status.OPEN,
        None,  # "4 sehr hoch" is no priority we know
        "waiting for parts",
    )
    assert parts.requester is not None and parts.requester.external_id == "1102"
    assert parts.requester.name is None
    removed = by_id["515"]
    assert removed.deleted and removed.status is Status.CLOSED


def test_mapping_of_documented_articles() -> None:
    tickets, _ = _map_fixture()
    messages = tickets[0].messages

    assert [m.kind for m in messages] == [MessageKind.REPLY, MessageKind.NOTE, MessageKind.EVENT]
    assert messages[0].body_text == (
        "你好，我的订单 482913 收到的商品有破损，\n想申请退款，请尽快处理。 谢谢！"
    )
    assert messages[1].body_text == "已核实，等待仓库回复。"
    assert messages[0].author is not None and messages[0].author.email == "wang.fang@example.cn"
    assert messages[1].author is not None and messages[1].author.name == "陈晓华"
    assert all(m.created_at.tzinfo is UTC for m in messages)
    (photo,) = messages[0].attachments
    assert (photo.filename, photo.content_type, photo.size) == (
        "破损照片.jpg",
        "image/jpeg",
        1204551,
    )


def test_html_bodies_become_text_without_running_anything() -> None:
    markup = (
        "<html><head><title>t</title><script>fetch('http://evil')</script></head><body>"
        "<p>第一行 &amp; more</p><p>second&nbsp;line<br/>third</p>"
        "<img src='http://127.0.0.1:1/track.png'><ul><li>a</li><li>b</li></ul></body></html>"
    )

    assert mapping.html_to_text(markup) == "第一行 & more\n\nsecond line\nthird\n\na\n\nb"
    assert mapping.html_to_text("plain <b>bold") == "plain bold"


def test_unreadable_tickets_are_quarantined_with_their_field() -> None:
    page = fixture("search_expanded.json")
    del page[1]["id"]
    page[2]["updated_at"] = "32/13/2024"
    page[3]["state"] = None
    articles = fixture("articles_by_ticket.json")
    articles[1]["internal"] = "yes"

    tickets, errors = mapping.map_page(page, {"512": articles}, {}, {}, system_id="zm")

    assert tickets == []
    assert [(e.context.record_id, e.context.field, e.context.offset) for e in errors] == [
        ("512", "articles[9102].internal", 0),
        (None, "id", 1),
        ("514", "updated_at", 2),
        ("515", "state", 3),
    ]


def test_actions_become_articles_and_state_changes() -> None:
    now = datetime(2024, 3, 6, 8, 0, tzinfo=UTC)
    note = mapping.article_body(ActionRequest(ActionKind.NOTE, "512", "k 1", body="内部"), 512)

    assert note == {
        "ticket_id": 512,
        "body": "内部",
        "content_type": "text/plain",
        "type": "note",
        "internal": True,
        "sender": "Agent",
        "message_id": "<tabless.k_1@tabless.invalid>",
    }
    assert mapping.state_change(Status.CLOSED, now) == {"state": "closed"}
    assert mapping.state_change(Status.ON_HOLD, now) == {
        "state": "pending reminder",
        "pending_time": "2024-03-09T08:00:00Z",
    }
    delivered = [{"id": 1, "message_id": note["message_id"], "body": "x", "internal": True}]
    assert mapping.find_delivery(delivered, "k 1") == delivered[0]
    assert mapping.find_delivery(delivered, "k 2") is None


def test_error_bodies_are_put_in_words() -> None:
    response = httpx.Response(422, json=fixture("error.json"))

    assert error_human(response) == "Missing required value for field 'pending_time'!"
