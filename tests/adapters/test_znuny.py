"""The Znuny adapter against the Znuny SOAP stand-in over real HTTP, and its mapping on saved
GenericTicketConnectorSOAP answers (tests/fixtures/znuny/)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from adapters._formats import xml
from adapters._http import HttpSettings
from adapters.base import ActionKind, ActionRequest, AdapterContext, PullResult
from adapters.testing import ContractCase, contract_test_class
from adapters.znuny import MANIFEST, ZnunyAdapter, mapping
from adapters.znuny.client import build_envelope, every, parse_answer
from app.domain import (
    AdapterError,
    AuthError,
    ErrorContext,
    MessageKind,
    Priority,
    RecordError,
    RemoteError,
    Status,
    Ticket,
)
from sandbox.dataset import SeedTicket, by_system
from sandbox.server import free_socket
from sandbox.znuny import ID_OFFSET, NS, PATH, SEED_STATE, ZnunyStandIn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "znuny"
FAST = HttpSettings(backoff_base=0.02, backoff_max=0.1)
CTX = ErrorContext(system="znuny-de", stream="tickets")
T = TypeVar("T")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run_with(
    standin: ZnunyStandIn,
    url: str,
    scenario: Callable[[ZnunyAdapter], Awaitable[T]],
    *,
    password: str | None = None,
    naive_zone: str | None = None,
    **settings: Any,
) -> T:
    connection = standin.connection(url)
    secrets = {**connection["secrets"], **({"password": password} if password else {})}

    async def main() -> T:
        adapter = ZnunyAdapter(
            AdapterContext(
                system_id="znuny",
                settings={**connection["settings"], **settings},
                secret=secrets.__getitem__,
                naive_zone=naive_zone or connection["naive_zone"],
            ),
            http=FAST,
        )
        try:
            return await scenario(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


async def pull_all(
    adapter: ZnunyAdapter, cursor: str | None = None
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


class SoapApi:
    """The stand-in's own SOAP API, as a second GenericInterface client would call it."""

    def __init__(self, url: str, standin: ZnunyStandIn) -> None:
        self.url = url + PATH
        self.login = [("UserLogin", standin.login), ("Password", standin.password)]

    def call(self, operation: str, fields: list[tuple[str, Any]]) -> Any:
        response = httpx.post(self.url, content=build_envelope(operation, [*self.login, *fields]))
        assert response.status_code == 200
        return xml.parse_xml(response.content, declared_charset=None, context=CTX)[0][0]

    def ticket(self, ticket_id: int) -> Any:
        answer = self.call("TicketGet", [("TicketID", ticket_id), ("AllArticles", 1)])
        return answer.find(f"{{{NS}}}Ticket")


@pytest.fixture
def standin(seed_tickets: list[SeedTicket]) -> ZnunyStandIn:
    return ZnunyStandIn(seed_tickets)


def _first(standin: ZnunyStandIn, state: str) -> int:
    return next(i for i in standin.ticket_ids() if standin.ticket(i).state == state)


# ------------------------------------------------------------------------------ over HTTP


def test_full_sync_returns_every_ticket_with_its_articles(
    standin: ZnunyStandIn, serve: Any, seed_tickets: list[SeedTicket]
) -> None:
    url = serve(standin.app)
    pages, _ = run_with(standin, url, pull_all, page_size=30)
    seeds = {str(s.id + ID_OFFSET): s for s in by_system(seed_tickets, "osticket")}
    tickets = {t.key.external_id: t for t in tickets_of(pages)}

    assert len(pages) >= 3 and all(p.quarantined == [] for p in pages)
    assert sorted(tickets) == sorted(seeds) and len(tickets_of(pages)) == len(seeds)
    for ticket_id, seed in seeds.items():
        ticket = tickets[ticket_id]
        assert (ticket.subject, ticket.native_status) == (seed.subject, SEED_STATE[seed.status])
        assert ticket.status is Status(seed.status)
        assert ticket.created_at == seed.created_at and ticket.created_at.tzinfo is UTC
        assert ticket.updated_at == seed.updated_at
        assert ticket.requester is not None
        assert (ticket.requester.name, ticket.requester.email) == (
            seed.customer.name,
            seed.customer.email,
        )
        assert ticket.priority is Priority(seed.priority)
        assert ticket.queue == seed.queue
        assert [(m.body_text, m.public, m.created_at) for m in ticket.messages] == [
            (e.body, e.public, e.created_at) for e in seed.entries
        ]


def test_incremental_pull_returns_exactly_the_changed_tickets(
    standin: ZnunyStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()
    changed, replied, deleted = order[3], order[50], order[90]

    async def scenario(adapter: ZnunyAdapter) -> tuple[list[PullResult], list[PullResult]]:
        _, cursor = await pull_all(adapter)
        standin.update_ticket(changed, state="closed successful")
        standin.add_article(replied, "我刚才又试了一次，还是不行。")
        standin.delete_ticket(deleted)
        after, cursor = await pull_all(adapter, cursor)
        quiet, _ = await pull_all(adapter, cursor)
        return after, quiet

    after, quiet = run_with(standin, url, scenario)
    tickets = {t.key.external_id: t for t in tickets_of(after)}

    assert sorted(tickets) == sorted(str(i) for i in (changed, replied, deleted))
    assert tickets[str(changed)].status is Status.SOLVED
    last = tickets[str(replied)].messages[-1]
    assert (last.body_text, last.kind) == ("我刚才又试了一次，还是不行。", MessageKind.REPLY)
    gone = tickets[str(deleted)]
    assert gone.deleted and gone.status is Status.CLOSED and gone.native_status == "removed"
    assert tickets_of(quiet) == [] and not quiet[-1].has_more


def test_same_second_changes_across_a_page_boundary_are_all_delivered(
    standin: ZnunyStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()

    async def scenario(adapter: ZnunyAdapter) -> list[Ticket]:
        _, cursor = await pull_all(adapter)
        for ticket_id in order[:25]:  # a colleague's bulk action: one second, 25 tickets
            standin.update_ticket(ticket_id, priority="5 very high")
        after, _ = await pull_all(adapter, cursor)
        return tickets_of(after)

    changed = run_with(standin, url, scenario, page_size=10)

    assert sorted(t.key.external_id for t in changed) == sorted(str(i) for i in order[:25])
    assert all(t.priority is Priority.URGENT for t in changed)


def test_check_reports_good_and_bad_credentials_and_unreachable(
    standin: ZnunyStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    sock = free_socket()
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()

    good = run_with(standin, url, lambda a: a.check())
    bad = run_with(standin, url, lambda a: a.check(), password="guess")
    down = run_with(standin, dead, lambda a: a.check())

    assert good.ok and good.message == f"connected to Znuny at {url} as tabless"
    assert (bad.ok, bad.message) == (
        False,
        "Znuny rejected user 'tabless' or its password (AuthFail)",
    )
    assert (down.ok, down.message) == (False, f"cannot connect to {dead}: connection refused")


def test_soap_errors_with_http_200_become_typed_errors(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def bad_login(adapter: ZnunyAdapter) -> None:
        await adapter.pull(None)

    async def unknown_ticket(adapter: ZnunyAdapter) -> None:
        await adapter.fetch_ticket("424242")

    with pytest.raises(AuthError) as denied:
        run_with(standin, url, bad_login, password="guess")
    with pytest.raises(RemoteError) as missing:
        run_with(standin, url, unknown_ticket)

    assert "SessionCreate: Authorization failing!" in denied.value.message
    assert denied.value.details["znuny_code"] == "SessionCreate.AuthFail"
    assert missing.value.details["znuny_code"] == "TicketGet.AccessDenied"
    assert "does not have access" in missing.value.message


def test_expired_session_is_renewed_once(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def scenario(adapter: ZnunyAdapter) -> tuple[int, int]:
        first = await adapter.pull(None)
        standin.expire_sessions()
        rest, _ = await pull_all(adapter, first.cursor)
        return len(first.tickets) + len(tickets_of(rest)), adapter.client.sessions_created

    count, sessions = run_with(standin, url, scenario, page_size=40)

    assert count == 100 and sessions == 2


def test_rate_limit_waits_for_retry_after(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update({"retry_after_s": 0.4, "fail_next": [429]})

    async def scenario(adapter: ZnunyAdapter) -> tuple[PullResult, float]:
        started = time.perf_counter()
        page = await adapter.pull(None)
        return page, time.perf_counter() - started

    page, elapsed = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10 and standin.plan.fail_next == [] and elapsed >= 0.4


def test_server_errors_are_retried_then_reported(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def scenario(adapter: ZnunyAdapter) -> tuple[PullResult, BaseException | None]:
        standin.plan.update({"fail_next": [500, 502]})
        page = await adapter.pull(None)
        standin.plan.update({"fail_next": [500] * 4})
        try:
            await adapter.pull(page.cursor)
        except RemoteError as exc:
            return page, exc
        return page, None

    page, error = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10
    assert isinstance(error, RemoteError) and error.status_code == 500


def test_malformed_ticket_is_quarantined_and_the_rest_kept(
    standin: ZnunyStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    broken = standin.ticket_ids()[20]
    standin.corrupt(broken, Created="gestern")

    pages, _ = run_with(standin, url, pull_all, page_size=30)
    errors = [e for p in pages for e in p.quarantined]

    assert {t.key.external_id for t in tickets_of(pages)} == {
        str(i) for i in standin.ticket_ids()
    } - {str(broken)}
    assert len(errors) == 1
    ctx = errors[0].context
    assert (ctx.system, ctx.stream, ctx.record_id, ctx.field) == (
        "znuny",
        "tickets",
        str(broken),
        "Created",
    )
    assert "'gestern'" in errors[0].message


def test_reply_note_and_state_reach_znuny(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first(standin, "open")
    hostile = '您好 <b>&amp;</b> ]]> "quoted"'

    async def scenario(adapter: ZnunyAdapter) -> list[Any]:
        return [
            await adapter.perform(
                ActionRequest(ActionKind.REPLY, str(ticket_id), "k1", body=hostile)
            ),
            await adapter.perform(
                ActionRequest(ActionKind.NOTE, str(ticket_id), "k2", body="已核实。")
            ),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, str(ticket_id), "k3", status=Status.PENDING)
            ),
        ]

    reply, note, pending = run_with(standin, url, scenario)

    assert reply.created_messages[0].body_text == hostile
    assert note.created_messages[0].kind is MessageKind.NOTE
    assert pending.ticket is not None and pending.ticket.status is Status.PENDING
    remote = SoapApi(url, standin).ticket(ticket_id)
    assert remote.findtext(f"{{{NS}}}State") == "pending auto close+"
    articles = remote.findall(f"{{{NS}}}Article")[-2:]
    assert [
        (a.findtext(f"{{{NS}}}Body"), a.findtext(f"{{{NS}}}IsVisibleForCustomer")) for a in articles
    ] == [(hostile, "1"), ("已核实。", "0")]


def test_lost_answer_is_read_back_not_posted_twice(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first(standin, "open")
    before = len(standin.ticket(ticket_id).articles)
    standin.lose_next_update()  # Znuny stores the article; the proxy answers 502

    outcome = run_with(
        standin,
        url,
        lambda a: a.perform(
            ActionRequest(ActionKind.REPLY, str(ticket_id), "outbox-3", body="Refund sent.")
        ),
    )

    articles = standin.ticket(ticket_id).articles
    assert outcome.ok and len(articles) == before + 1
    assert outcome.remote_id == str(articles[-1].id) and articles[-1].body == "Refund sent."


def test_refused_update_is_a_readable_error(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def scenario(adapter: ZnunyAdapter) -> list[AdapterError]:
        errors = []
        for action in (
            ActionRequest(ActionKind.REPLY, "424242", "a", body="hello"),
            ActionRequest(ActionKind.NOTE, "7001", "b", body=" "),
        ):
            try:
                await adapter.perform(action)
            except AdapterError as exc:
                errors.append(exc)
        return errors

    missing, empty = run_with(standin, url, scenario)

    assert isinstance(missing, RemoteError)
    assert missing.details["znuny_code"] == "TicketUpdate.AccessDenied"
    assert empty.message == "a note needs a text"


def test_manifest_declares_the_secret() -> None:
    assert MANIFEST.name == "znuny"
    assert MANIFEST.field("password").secret and not MANIFEST.field("username").secret


# ------------------------------------------------------------------- mapping on fixtures


def _fixture_tickets(naive_zone: str = "Europe/Berlin") -> list[Any]:
    answer = parse_answer(fixture("TicketGetResponse.xml"), None, "TicketGet", CTX)
    return [
        mapping.map_ticket(node, system_id="znuny-de", naive_zone=naive_zone)
        for node in every(answer, "Ticket")
    ]


def test_mapping_of_a_documented_ticket_get_answer() -> None:
    refund, removed = _fixture_tickets()

    assert refund.subject == "订单 482913 申请退款" and refund.queue == "客户服务"
    assert (refund.status, refund.native_status, refund.priority) == (
        Status.ON_HOLD,
        "pending reminder",
        Priority.HIGH,
    )
    assert refund.created_at == datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)  # CET = UTC+1
    assert refund.requester is not None
    assert (refund.requester.name, refund.requester.email) == ("王芳", "wang.fang@example.cn")
    assert refund.assignee is not None and refund.assignee.external_id == "xiaohua.chen"
    assert [(m.kind, m.body_text) for m in refund.messages] == [
        (
            MessageKind.REPLY,
            "你好，我的订单 482913 收到的商品有破损，想申请退款，请尽快处理。谢谢！",
        ),
        (MessageKind.NOTE, "已核实，等待仓库回复。"),
    ]
    assert refund.messages[1].created_at == datetime(2024, 3, 6, 9, 40, 11, tzinfo=UTC)
    assert refund.extra == {"ticket_number": "2024030510000012"}
    assert removed.deleted and removed.status is Status.CLOSED
    assert removed.priority is None and removed.assignee is None  # never a guess


def test_the_configured_zone_is_authoritative() -> None:
    refund, _ = _fixture_tickets(naive_zone="Asia/Shanghai")

    assert refund.created_at == datetime(2024, 3, 5, 1, 15, 30, tzinfo=UTC)


def test_error_answers_with_http_200_are_typed() -> None:
    with pytest.raises(AuthError) as denied:
        parse_answer(fixture("TicketSearchResponse_AuthFail.xml"), None, "TicketSearch", CTX)
    with pytest.raises(RemoteError) as invalid:
        parse_answer(
            fixture("TicketUpdateResponse_InvalidParameter.xml"), None, "TicketUpdate", CTX
        )

    assert denied.value.message == (
        "Znuny refused the login: TicketSearch: Authorization failing! (TicketSearch.AuthFail)"
    )
    assert invalid.value.details == {"znuny_code": "TicketUpdate.InvalidParameter"}
    assert "Ticket->State is invalid!" in invalid.value.message


def test_unreadable_article_names_its_field() -> None:
    data = fixture("TicketGetResponse.xml").replace(
        b"<CreateTime>2024-03-06 10:40:11</CreateTime>", b"<CreateTime>morgen</CreateTime>"
    )
    answer = parse_answer(data, None, "TicketGet", CTX)
    with pytest.raises(RecordError) as caught:
        mapping.map_ticket(every(answer, "Ticket")[0], system_id="znuny-de", naive_zone="UTC")
    assert (caught.value.context.record_id, caught.value.context.field) == (
        "7012",
        "Article[900102].CreateTime",
    )


def test_envelopes_carry_user_text_escaped() -> None:
    body = build_envelope(
        "TicketUpdate",
        [("TicketID", 7012), ("Article", [("Body", "</Body><State>closed</State> & 你好")])],
    )
    root = xml.parse_xml(body, declared_charset=None, context=CTX)
    article = root[1][0].find(f"{{{NS}}}Article")

    assert article.findtext(f"{{{NS}}}Body") == "</Body><State>closed</State> & 你好"
    assert root[1][0].find(f"{{{NS}}}State") is None
    assert mapping.state_fields(Status.ON_HOLD) == [
        ("State", "pending reminder"),
        ("PendingTime", [("Diff", 1440)]),
    ]


def test_simulated_activity_shows_up_in_the_next_pull(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)
    rng = random.Random(5)

    async def scenario(adapter: ZnunyAdapter) -> tuple[list[PullResult], set[str]]:
        _, cursor = await pull_all(adapter)
        before = {
            i: (standin.ticket(i).state, len(standin.ticket(i).articles))
            for i in standin.ticket_ids()
        }
        for _ in range(6):
            standin.simulate_activity(rng)
        changed = {
            str(i)
            for i in standin.ticket_ids()
            if (standin.ticket(i).state, len(standin.ticket(i).articles)) != before[i]
        }
        pages, _ = await pull_all(adapter, cursor)
        return pages, changed

    pages, changed = run_with(standin, url, scenario)

    assert changed and {t.key.external_id for t in tickets_of(pages)} == changed
    assert all(p.quarantined == [] for p in pages)


def test_find_delivered_reads_back_what_arrived(standin: ZnunyStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = str(_first(standin, "open"))
    sent = ActionRequest(ActionKind.REPLY, ticket_id, "k1", body="退款已到账。")
    never = ActionRequest(ActionKind.REPLY, ticket_id, "k2", body="never sent")

    async def scenario(adapter: ZnunyAdapter) -> list[Any]:
        delivered = await adapter.perform(sent)
        return [delivered, await adapter.find_delivered(sent), await adapter.find_delivered(never)]

    delivered, found, missing = run_with(standin, url, scenario)

    assert found is not None and found.remote_id == delivered.remote_id and missing is None


# ------------------------------------------------------------------- the adapter contract


def _znuny_change(s: ZnunyStandIn) -> set[str]:
    order = s.ticket_ids()
    s.update_ticket(order[3], state="closed successful")
    s.add_article(order[60], "我刚才又试了一次，还是不行。")
    return {str(order[3]), str(order[60])}


def _znuny_delete(s: ZnunyStandIn) -> str:
    victim = s.ticket_ids()[80]
    s.delete_ticket(victim)
    return str(victim)


def _znuny_corrupt(s: ZnunyStandIn) -> str:
    victim = s.ticket_ids()[5]
    s.corrupt(victim, Created="gestern")
    return str(victim)


ZNUNY = ContractCase(
    name="znuny",
    adapter=ZnunyAdapter,
    stand_in=lambda seeds, tmp: ZnunyStandIn(seeds),
    build=lambda context, http: ZnunyAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in s.ticket_ids()},
    change=_znuny_change,
    delete=_znuny_delete,
    corrupt=_znuny_corrupt,
    writable=lambda s: str(_first(s, "open")),
    remote_texts=lambda s, i: [a.body for a in s.ticket(int(i)).articles],
    remote_status=lambda s, i: s.ticket(int(i)).state,
    small_pages={"page_size": 30},
    fault_prefix="/otrs/",
    lookback_repeats=True,
)
TestZnunyContract = contract_test_class(ZNUNY)
