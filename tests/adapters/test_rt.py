"""The RT adapter against the RT stand-in over real HTTP, and its mapping on saved payloads in
RT::REST2's documented shapes (tests/fixtures/rt/)."""

from __future__ import annotations

import asyncio
import base64
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
from adapters.rt import MANIFEST, RtAdapter, mapping
from adapters.testing import ContractCase, contract_test_class
from app.domain import AdapterError, MessageKind, Priority, RecordError, RemoteError, Status
from app.domain import Ticket as DomainTicket
from sandbox.dataset import SeedTicket, by_system
from sandbox.rt import ID_OFFSET, SEED_STATUS, RtStandIn
from sandbox.server import free_socket

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rt"
FAST = HttpSettings(backoff_base=0.02, backoff_max=0.1)
T = TypeVar("T")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def run_with(
    standin: RtStandIn,
    url: str,
    scenario: Callable[[RtAdapter], Awaitable[T]],
    *,
    token: str | None = None,
    naive_zone: str | None = None,
    **settings: Any,
) -> T:
    connection = standin.connection(url)
    secrets = {**connection["secrets"], **({"token": token} if token else {})}

    async def main() -> T:
        adapter = RtAdapter(
            AdapterContext(
                system_id="rt",
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
    adapter: RtAdapter, cursor: str | None = None
) -> tuple[list[PullResult], str | None]:
    pages: list[PullResult] = []
    while True:
        page = await adapter.pull(cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.has_more:
            return pages, cursor


def tickets_of(pages: list[PullResult]) -> list[DomainTicket]:
    return [ticket for page in pages for ticket in page.tickets]


def conversation(ticket: DomainTicket) -> list[tuple[str, bool]]:
    return [(m.body_text, m.public) for m in ticket.messages if m.kind is not MessageKind.EVENT]


class RtApi:
    """The stand-in's own REST2 API, as a second RT client would see it."""

    def __init__(self, url: str, standin: RtStandIn) -> None:
        self.http = httpx.Client(
            base_url=f"{url}/REST/2.0", headers={"Authorization": f"token {standin.token}"}
        )

    def texts(self, ticket_id: int) -> list[tuple[str, str, str]]:
        """``(Type, Creator, text)`` of every message transaction, via history + attachments."""
        history = self.http.get(
            f"/ticket/{ticket_id}/history", params={"per_page": 100, "fields": "Type,Creator"}
        ).json()
        out = []
        for item in history["items"]:
            if item["Type"] not in ("Create", "Correspond", "Comment"):
                continue
            parts = self.http.get(
                f"/transaction/{item['id']}/attachments", params={"fields": "ContentType,Filename"}
            ).json()["items"]
            body = next(p for p in parts if p["ContentType"] == "text/plain" and not p["Filename"])
            content = self.http.get(f"/attachment/{body['id']}").json()["Content"]
            text = base64.b64decode(content).decode("utf-8")
            out.append((item["Type"], item["Creator"]["id"], text))
        return out

    def status(self, ticket_id: int) -> str:
        return str(self.http.get(f"/ticket/{ticket_id}").json()["Status"])


@pytest.fixture
def standin(seed_tickets: list[SeedTicket]) -> RtStandIn:
    return RtStandIn(seed_tickets)


def _first(standin: RtStandIn, status: str) -> int:
    return next(i for i in standin.ticket_ids() if standin.ticket(i).status == status)


# ------------------------------------------------------------------------------ over HTTP


def test_full_sync_returns_every_ticket_with_its_conversation(
    standin: RtStandIn, serve: Any, seed_tickets: list[SeedTicket]
) -> None:
    url = serve(standin.app)
    pages, cursor = run_with(standin, url, pull_all, page_size=20)
    seeds = {str(s.id + ID_OFFSET): s for s in by_system(seed_tickets, "quality")}
    tickets = {t.key.external_id: t for t in tickets_of(pages)}

    assert len(pages) >= 3 and all(p.quarantined == [] for p in pages)
    assert [p.has_more for p in pages] == [True] * (len(pages) - 1) + [False]
    assert sorted(tickets) == sorted(seeds) and len(tickets_of(pages)) == len(seeds)
    for ticket_id, seed in seeds.items():
        ticket = tickets[ticket_id]
        native = SEED_STATUS.get(seed.status, seed.status)
        assert (ticket.subject, ticket.native_status) == (seed.subject, native)
        assert ticket.status is mapping.NATIVE_STATUS[native]
        assert ticket.created_at == seed.created_at and ticket.created_at.tzinfo is UTC
        assert ticket.updated_at == seed.updated_at
        assert ticket.requester is not None
        assert (ticket.requester.name, ticket.requester.email, ticket.requester.phone) == (
            seed.customer.name,
            seed.customer.email,
            seed.customer.phone,
        )
        assert (ticket.assignee.name if ticket.assignee else None) == (
            seed.assignee.name if seed.assignee else None
        )
        assert ticket.queue == "QA Review"
        assert conversation(ticket) == [(e.body, e.public) for e in seed.entries]
    assert json.loads(cursor or "{}")["mark"]


def test_incremental_pull_returns_exactly_the_changed_tickets(
    standin: RtStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    order = standin.ticket_ids()
    changed, replied, deleted = order[3], order[30], order[50]

    async def scenario(adapter: RtAdapter) -> tuple[list[PullResult], list[PullResult]]:
        _, cursor = await pull_all(adapter)
        standin.update_ticket(changed, status="resolved")
        standin.add_transaction(replied, "我刚才又试了一次，还是不行。")
        standin.delete_ticket(deleted)
        after, cursor = await pull_all(adapter, cursor)
        quiet, _ = await pull_all(adapter, cursor)
        return after, quiet

    after, quiet = run_with(standin, url, scenario)
    tickets = {t.key.external_id: t for t in tickets_of(after)}

    assert sorted(tickets) == sorted(str(i) for i in (changed, replied, deleted))
    assert tickets[str(changed)].status is Status.SOLVED
    last = [m for m in tickets[str(replied)].messages if m.kind is not MessageKind.EVENT][-1]
    assert (last.body_text, last.kind) == ("我刚才又试了一次，还是不行。", MessageKind.REPLY)
    gone = tickets[str(deleted)]
    assert gone.deleted and gone.status is Status.CLOSED and gone.native_status == "deleted"
    assert tickets_of(quiet) == [] and not quiet[-1].has_more


def test_etags_and_immutable_transactions_save_downloads(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def scenario(adapter: RtAdapter) -> tuple[int, int]:
        await pull_all(adapter)
        first_bytes = standin.served["bytes"]
        standin.served.clear()
        again, _ = await pull_all(adapter)  # a second full sync with the same instance
        assert len(tickets_of(again)) == 60
        return first_bytes, adapter.client.not_modified

    first_bytes, not_modified = run_with(standin, url, scenario, page_size=50)

    assert not_modified == 60 and standin.served["304:ticket"] == 60
    assert standin.served["bytes:ticket"] == 0  # every record revalidated, none re-sent
    assert standin.served["requests:attachment"] == 0
    assert standin.served["requests:transaction/attachments"] == 0
    assert standin.served["bytes"] < first_bytes / 3


def test_check_reports_good_and_bad_credentials_and_unreachable(
    standin: RtStandIn, serve: Any
) -> None:
    url = serve(standin.app)
    sock = free_socket()
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()

    good = run_with(standin, url, lambda a: a.check())
    bad = run_with(standin, url, lambda a: a.check(), token="1-14-wrong")
    unknown_user = run_with(standin, url, lambda a: a.check(), username="ghost")
    down = run_with(standin, dead, lambda a: a.check())

    assert good.ok and good.message == f"connected to RT 5.0.5 at {url} as Tabless Integration"
    assert (bad.ok, bad.message) == (False, "401 — RT rejected the auth token")
    assert not unknown_user.ok and "no user 'ghost'" in unknown_user.message
    assert (down.ok, down.message) == (False, f"cannot connect to {dead}: connection refused")


def test_rate_limit_waits_for_retry_after(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update(
        {"path_prefix": "/REST/2.0/tickets", "retry_after_s": 0.4, "fail_next": [429]}
    )

    async def scenario(adapter: RtAdapter) -> tuple[PullResult, float]:
        started = time.perf_counter()
        page = await adapter.pull(None)
        return page, time.perf_counter() - started

    page, elapsed = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10 and standin.plan.fail_next == [] and elapsed >= 0.4


def test_server_errors_are_retried_then_reported(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    standin.plan.update({"path_prefix": "/REST/2.0/ticket/", "fail_next": [500, 502, 503]})

    async def scenario(adapter: RtAdapter) -> tuple[PullResult, BaseException | None]:
        page = await adapter.pull(None)
        standin.plan.update({"path_prefix": "/REST/2.0/tickets", "fail_next": [500] * 4})
        try:
            await adapter.pull(page.cursor)
        except RemoteError as exc:
            return page, exc
        return page, None

    page, error = run_with(standin, url, scenario, page_size=10)

    assert len(page.tickets) == 10 and page.quarantined == []
    assert isinstance(error, RemoteError) and error.status_code == 500


def test_malformed_ticket_is_quarantined_and_the_rest_kept(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    broken = standin.ticket_ids()[12]
    standin.corrupt(broken, Created="next Tuesday")

    pages, _ = run_with(standin, url, pull_all, page_size=25)
    errors = [e for p in pages for e in p.quarantined]

    assert {t.key.external_id for t in tickets_of(pages)} == {
        str(i) for i in standin.ticket_ids()
    } - {str(broken)}
    assert len(errors) == 1
    ctx = errors[0].context
    assert (ctx.system, ctx.stream, ctx.record_id, ctx.field) == (
        "rt",
        "tickets",
        str(broken),
        "Created",
    )
    assert "'next Tuesday'" in errors[0].message


def test_reply_note_and_status_reach_rt(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = str(_first(standin, "open"))

    async def scenario(adapter: RtAdapter) -> list[Any]:
        return [
            await adapter.perform(
                ActionRequest(ActionKind.REPLY, ticket_id, "k1", body="您好，退款已到账。")
            ),
            await adapter.perform(ActionRequest(ActionKind.NOTE, ticket_id, "k2", body="Checked.")),
            await adapter.perform(
                ActionRequest(ActionKind.SET_STATUS, ticket_id, "k3", status=Status.SOLVED)
            ),
        ]

    reply, note, solved = run_with(standin, url, scenario)

    assert reply.ok and note.ok and solved.ok
    assert reply.created_messages[0].kind is MessageKind.REPLY
    assert note.created_messages[0].body_text == "Checked."
    assert solved.ticket is not None and solved.ticket.status is Status.SOLVED
    api = RtApi(url, standin)
    assert api.status(int(ticket_id)) == "resolved"
    assert api.texts(int(ticket_id))[-2:] == [
        ("Correspond", "tabless", "您好，退款已到账。"),
        ("Comment", "tabless", "Checked."),
    ]


def test_lost_answer_and_outbox_retry_post_one_reply(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = _first(standin, "open")
    before = len(standin.conversation(ticket_id))
    standin.lose_next_response("/correspond")  # RT stores it, the proxy answers 504
    reply = ActionRequest(ActionKind.REPLY, str(ticket_id), "outbox-7", body="Refund sent.")

    async def scenario(adapter: RtAdapter) -> list[Any]:
        first = await adapter.perform(reply)
        again = await adapter.perform(reply)  # the outbox crashed before marking it done
        return [first, again]

    first, again = run_with(standin, url, scenario)

    assert first.ok and again.ok and first.remote_id == again.remote_id
    assert standin.conversation(ticket_id)[before:] == [("Correspond", "tabless", "Refund sent.")]


def test_status_change_on_a_ticket_changed_meanwhile_is_a_conflict(
    standin: RtStandIn, serve: Any
) -> None:
    ticket_id = _first(standin, "open")

    async def colleague_first(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            standin.add_transaction(ticket_id, "A colleague answered.", creator="daniel.weber")
        await standin.app(scope, receive, send)

    url = serve(colleague_first)

    async def scenario(adapter: RtAdapter) -> None:
        await adapter.perform(
            ActionRequest(ActionKind.SET_STATUS, str(ticket_id), "k", status=Status.ON_HOLD)
        )

    with pytest.raises(RemoteError) as caught:
        run_with(standin, url, scenario)
    assert caught.value.status_code == 412 and caught.value.code == "conflict"
    assert "changed in RT by someone else" in caught.value.message
    assert standin.ticket(ticket_id).status == "open"


def test_actions_rt_refuses_raise_readable_errors(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)

    async def scenario(adapter: RtAdapter) -> list[AdapterError]:
        errors = []
        for action in (
            ActionRequest(ActionKind.REPLY, "999999", "a", body="hello"),
            ActionRequest(ActionKind.NOTE, "4001", "b", body="  "),
            ActionRequest(ActionKind.REPLY, "RT-1", "c", body="hello"),
        ):
            try:
                await adapter.perform(action)
            except AdapterError as exc:
                errors.append(exc)
        return errors

    missing, empty, bad_id = run_with(standin, url, scenario)

    assert isinstance(missing, RemoteError) and missing.status_code == 404
    assert empty.message == "a note needs a text"
    assert bad_id.code == "invalid_action"


def test_manifest_declares_the_secret() -> None:
    assert MANIFEST.name == "rt"
    assert MANIFEST.field("token").secret and not MANIFEST.field("base_url").secret
    assert MANIFEST.field("page_size").default == 50


# ------------------------------------------------------------------- mapping on fixtures


def _fixture_ticket(naive_zone: str = "UTC") -> DomainTicket:
    history = fixture("ticket_4012_history.json")["items"]
    text = mapping.attachment_text(fixture("attachment_100203.json"), mapping_ctx())
    txns = [
        mapping.RawTxn(
            id=str(raw["id"]),
            type=raw["Type"],
            created=raw["Created"],
            creator=mapping.uid_id(raw["Creator"]),
            field=raw["Field"],
            old_value=raw["OldValue"],
            new_value=raw["NewValue"],
            body=text if raw["Type"] == "Create" else "已核实，等待仓库回复。",
        )
        for raw in history
    ]
    return mapping.map_ticket(
        fixture("ticket_4012.json"),
        txns,
        fixture("users.json"),
        queue="QA Review",
        system_id="rt-eu",
        naive_zone=naive_zone,
    )


def mapping_ctx() -> Any:
    from app.domain import ErrorContext

    return ErrorContext(system="rt-eu", stream="attachments", record_id="100203")


def test_mapping_of_a_documented_ticket() -> None:
    ticket = _fixture_ticket()

    assert ticket.subject == "质检 #482913: 订单 482913 申请退款"
    assert (ticket.status, ticket.native_status, ticket.priority) == (
        Status.ON_HOLD,
        "stalled",
        Priority.HIGH,
    )
    assert ticket.created_at == datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)
    assert ticket.updated_at == datetime(2024, 3, 6, 2, 40, 11, tzinfo=UTC)
    assert ticket.requester is not None and ticket.requester.name == "王芳"
    assert ticket.requester.phone == "+86 13812345678"
    assert (
        ticket.assignee is not None and ticket.assignee.email == "xiaohua.chen@support.example.com"
    )
    kinds = [m.kind for m in ticket.messages]
    assert kinds == [MessageKind.REPLY, MessageKind.REPLY, MessageKind.NOTE, MessageKind.EVENT]
    assert ticket.messages[0].body_text.startswith("你好，我的订单 482913 收到的商品有破损")
    assert ticket.messages[3].body_text == "Status: open → stalled"
    assert ticket.messages[1].created_at == datetime(2024, 3, 5, 9, 2, 11, tzinfo=UTC)


def test_naive_collection_dates_follow_the_configured_zone() -> None:
    ticket = _fixture_ticket(naive_zone="Asia/Shanghai")

    assert ticket.messages[1].created_at == datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)
    assert ticket.created_at == datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)  # W3CDTF has its Z


def test_unreadable_ticket_fields_name_the_field() -> None:
    raw = fixture("ticket_4012.json")
    raw["Status"] = "archived"
    with pytest.raises(RecordError) as caught:
        mapping.map_ticket(raw, [], {}, queue=None, system_id="rt-eu")
    assert (caught.value.context.record_id, caught.value.context.field) == ("4012", "Status")
    raw = fixture("ticket_4012.json")
    raw["LastUpdated"] = "1970-01-01T00:00:00Z"
    with pytest.raises(RecordError) as caught:
        mapping.map_ticket(raw, [], {}, queue=None, system_id="rt-eu")
    assert caught.value.context.field == "LastUpdated"


def test_priorities_and_statuses() -> None:
    assert [mapping.map_priority(v) for v in ("0", "50", "100", "73", None, "High")] == [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        None,
        None,
        Priority.HIGH,
    ]
    assert mapping.STATUS_NATIVE[Status.CLOSED] == "rejected"
    search = fixture("tickets_search_page.json")
    assert [mapping.record_id(item) for item in search["items"]] == ["4012", "4013"]


def test_simulated_activity_shows_up_in_the_next_pull(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    rng = random.Random(5)

    async def scenario(adapter: RtAdapter) -> tuple[list[PullResult], set[str]]:
        _, cursor = await pull_all(adapter)
        before = {i: len(standin.ticket(i).transactions) for i in standin.ticket_ids()}
        for _ in range(6):
            standin.simulate_activity(rng)
        changed = {
            str(i)
            for i in standin.ticket_ids()
            if len(standin.ticket(i).transactions) != before.get(i)
        }
        pages, _ = await pull_all(adapter, cursor)
        return pages, changed

    pages, changed = run_with(standin, url, scenario)

    assert changed and {t.key.external_id for t in tickets_of(pages)} == changed
    assert all(p.quarantined == [] for p in pages) and all(t.messages for t in tickets_of(pages))


def test_find_delivered_reads_back_what_arrived(standin: RtStandIn, serve: Any) -> None:
    url = serve(standin.app)
    ticket_id = str(_first(standin, "open"))
    sent = ActionRequest(ActionKind.NOTE, ticket_id, "k1", body="已转交仓库。")
    never = ActionRequest(ActionKind.NOTE, ticket_id, "k2", body="never sent")

    async def scenario(adapter: RtAdapter) -> list[Any]:
        delivered = await adapter.perform(sent)
        return [delivered, await adapter.find_delivered(sent), await adapter.find_delivered(never)]

    delivered, found, missing = run_with(standin, url, scenario)

    assert found is not None and found.remote_id == delivered.remote_id and missing is None


# ------------------------------------------------------------------- the adapter contract


def _rt_change(s: RtStandIn) -> set[str]:
    order = s.ticket_ids()
    s.update_ticket(order[3], status="resolved")
    s.add_transaction(order[40], "我刚才又试了一次，还是不行。")
    return {str(order[3]), str(order[40])}


def _rt_delete(s: RtStandIn) -> str:
    victim = s.ticket_ids()[50]
    s.delete_ticket(victim)
    return str(victim)


def _rt_corrupt(s: RtStandIn) -> str:
    victim = s.ticket_ids()[5]
    s.corrupt(victim, LastUpdated="last Tuesday")
    return str(victim)


RT = ContractCase(
    name="rt",
    adapter=RtAdapter,
    stand_in=lambda seeds, tmp: RtStandIn(seeds),
    build=lambda context, http: RtAdapter(context, http=http),
    ticket_ids=lambda s: {str(i) for i in s.ticket_ids()},
    change=_rt_change,
    delete=_rt_delete,
    corrupt=_rt_corrupt,
    writable=lambda s: str(_first(s, "open")),
    remote_texts=lambda s, i: [text for _kind, _who, text in s.conversation(int(i))],
    remote_status=lambda s, i: s.ticket(int(i)).status,
    small_pages={"page_size": 20},
    fault_prefix="/REST/2.0/",
    lookback_repeats=True,
)
TestRtContract = contract_test_class(RT)
