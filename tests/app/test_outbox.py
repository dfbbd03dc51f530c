"""The outbox against the real Zendesk stand-in: conflicts and the agent's decisions, retry and
discard of failed actions, read-back before re-sending an action of unknown outcome; drafts and
retention in a real SQLite file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from adapters._http import HttpSettings
from adapters.base import ActionOutcome, ActionRequest, AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import (
    ActionService,
    ChangeStatus,
    DecisionRefused,
    Identity,
    OutboxDelivery,
    Reply,
)
from app.cache import Cache, CacheWriter, drafts, open_cache, queries, retention
from app.cache.schema import audit_log, outbox, tickets
from app.domain import Status
from app.events import ActionStateChanged, EventBus
from app.sync import SystemCoordinator
from app.timeutil import utcnow
from sandbox.zendesk import ZendeskStandIn

IDENTITY = Identity(agent="li.siyuan", device_id="device-1", client_version="test")


@dataclasses.dataclass
class Desk:
    """One agent's workstation parts over one Zendesk stand-in."""

    stand_in: ZendeskStandIn
    cache: Cache
    writer: CacheWriter
    bus: EventBus
    adapter: ZendeskAdapter
    coordinator: SystemCoordinator
    service: ActionService
    delivery: OutboxDelivery
    states: list[ActionStateChanged]

    def ticket(self, ticket_id: int) -> Any:
        with self.cache.engine.connect() as conn:
            return queries.ticket(conn, ticket_id)

    def action(self, action_id: str) -> Any:
        with self.cache.engine.connect() as conn:
            return conn.execute(select(outbox).where(outbox.c.action_id == action_id)).one()

    def audit(self) -> list[dict[str, Any]]:
        with self.cache.engine.connect() as conn:
            return [r.record for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]

    def first_ticket(self) -> tuple[int, int]:
        """(cache id, stand-in id) of an open ticket."""
        with self.cache.engine.connect() as conn:
            row = conn.execute(
                select(tickets.c.id, tickets.c.external_id)
                .where(tickets.c.status == "open")
                .order_by(tickets.c.id)
            ).first()
        assert row is not None
        return row.id, int(row.external_id)


def _desk(stand_in: ZendeskStandIn, url: str, tmp_path: Path, adapter_class: type = ZendeskAdapter,
          http: HttpSettings | None = None) -> Desk:  # fmt: skip
    connection = stand_in.connection(url)
    settings = {**connection["settings"], "page_size": 50}
    adapter = adapter_class(
        AdapterContext("zendesk", settings, lambda key: connection["secrets"][key]), http=http
    )
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    states: list[ActionStateChanged] = []
    bus.subscribe(ActionStateChanged, states.append)
    identity = (IDENTITY.agent, IDENTITY.device_id, IDENTITY.client_version)
    return Desk(
        stand_in,
        cache,
        writer,
        bus,
        adapter,
        SystemCoordinator(adapter, writer, bus),
        ActionService(writer, bus, IDENTITY, lambda _s: adapter.manifest.capabilities),
        OutboxDelivery(writer, {"zendesk": adapter}, bus, identity),
        states,
    )


@pytest.fixture
def desk(seed_tickets, serve, tmp_path: Path) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    stand_in = ZendeskStandIn(seed_tickets)
    made = _desk(stand_in, serve(stand_in.app), tmp_path)
    yield made
    made.writer.close()
    made.cache.close()


def _bodies(stand_in: ZendeskStandIn, ticket: int) -> list[str]:
    return [str(c["body"]) for c in stand_in.comments_of(ticket)]


def test_a_colleagues_change_stops_the_reply_until_the_agent_decides(desk: Desk) -> None:
    async def scenario() -> tuple[str, Any, Any]:
        await desk.coordinator.sync_once()
        ticket_id, remote = desk.first_ticket()
        action_id = await desk.service.submit(Reply(ticket_id, "我们已经为您退款。"))
        desk.stand_in.add_comment(remote, "我已经收到退款了，谢谢", author=None)  # meanwhile
        await desk.coordinator.sync_once()
        assert await desk.delivery.deliver_pending() == 0
        stopped = desk.action(action_id)
        assert "我们已经为您退款。" not in _bodies(desk.stand_in, remote)  # nothing overwritten
        await desk.service.resolve_conflict(action_id, "send_anyway")
        await desk.delivery.deliver_pending()
        await desk.adapter.aclose()
        return action_id, stopped, desk.action(action_id)

    action_id, stopped, after = asyncio.run(scenario())
    assert stopped.state == "conflict"
    conflict = stopped.conflict
    assert conflict["mine"]["payload"]["body"] == "我们已经为您退款。"
    theirs = [m["body"] for m in conflict["theirs"]["messages"]]
    assert "我已经收到退款了，谢谢" in theirs
    assert conflict["theirs"]["updated_at"] > conflict["mine"]["seen_updated_at"]
    assert [s.state for s in desk.states if s.action_id == action_id] == [
        "pending",
        "conflict",
        "pending",
        "sent",
    ]
    assert after.state == "sent" and after.conflict is None
    _ticket_id, remote = desk.first_ticket()
    assert _bodies(desk.stand_in, remote).count("我们已经为您退款。") == 1
    decisions = [r["after"].get("decision") for r in desk.audit() if r["after"]]
    assert "send_anyway" in decisions


def test_discarding_a_conflicting_status_change_restores_what_the_agent_saw(desk: Desk) -> None:
    async def scenario() -> tuple[int, int, str, str]:
        await desk.coordinator.sync_once()
        ticket_id, remote = desk.first_ticket()
        reply_id = await desk.service.submit(Reply(ticket_id, "稍等，我查一下"))
        status_id = await desk.service.submit(ChangeStatus(ticket_id, Status.SOLVED))
        assert desk.ticket(ticket_id).status == "solved"  # optimistic
        desk.stand_in.update_ticket(remote, status="pending")  # a colleague acted
        await desk.coordinator.sync_once()
        await desk.delivery.deliver_pending()
        assert desk.action(reply_id).state == "conflict"
        assert desk.action(status_id).state == "pending"  # held behind the conflict, in order
        await desk.service.resolve_conflict(reply_id, "discard")
        await desk.delivery.deliver_pending()  # the status change now sees the conflict too
        assert desk.action(status_id).state == "conflict"
        await desk.service.discard(status_id)
        await desk.adapter.aclose()
        return ticket_id, remote, reply_id, status_id

    ticket_id, remote, reply_id, status_id = asyncio.run(scenario())
    assert desk.action(reply_id).state == desk.action(status_id).state == "discarded"
    # the optimistic "solved" is gone: back to what the agent saw until the next remote change
    assert desk.ticket(ticket_id).status == "open"
    with desk.cache.engine.connect() as conn:
        bodies = [m.body_text for m in queries.conversation(conn, ticket_id)]
    assert "稍等，我查一下" not in bodies  # the optimistic local reply is gone
    assert "稍等，我查一下" not in _bodies(desk.stand_in, remote)
    assert desk.stand_in.raw_ticket(remote)["status"] == "pending"  # the colleague's stays
    outcomes = [(r["after"].get("action_id"), r["outcome"]) for r in desk.audit()]
    assert (reply_id, "compensated") in outcomes and (status_id, "compensated") in outcomes
    with pytest.raises(DecisionRefused, match="discarded"):
        asyncio.run(desk.service.retry(status_id))


def test_a_rejected_action_fails_and_can_be_retried_or_discarded(desk: Desk) -> None:
    async def scenario() -> tuple[str, str, int]:
        await desk.coordinator.sync_once()
        ticket_id, remote = desk.first_ticket()
        desk.stand_in.plan.update({"fail_next": [422, 422], "path_prefix": "/api/v2/tickets/"})
        first = await desk.service.submit(Reply(ticket_id, "第一次回复"))
        second = await desk.service.submit(Reply(ticket_id, "第二次回复"))
        await desk.delivery.deliver_pending()
        assert desk.action(first).state == "failed" and "422" in desk.action(first).last_error
        assert desk.action(second).state == "pending"  # never overtakes the failed one
        await desk.service.retry(first)
        await desk.delivery.deliver_pending()  # the second injected 422 hits the retry
        assert desk.action(first).state == "failed"
        await desk.service.discard(first)
        await desk.delivery.deliver_pending()
        await desk.adapter.aclose()
        return first, second, remote

    first, second, remote = asyncio.run(scenario())
    assert desk.action(first).state == "discarded" and desk.action(second).state == "sent"
    assert "第一次回复" not in _bodies(desk.stand_in, remote)
    assert _bodies(desk.stand_in, remote).count("第二次回复") == 1
    records = [(r["after"].get("decision"), r["outcome"]) for r in desk.audit() if r["after"]]
    assert ("retry", "pending") in records and ("discard", "compensated") in records


class _LoseFirstWriteAnswer:
    """ASGI wrapper: the first ticket update is applied, then its answer is lost (502)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lost = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT" or self.lost:
            await self.app(scope, receive, send)
            return
        self.lost += 1

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"bad gateway"})


class _NoIdempotencyZendesk(ZendeskAdapter):
    """A system without idempotency keys: each send is new; delivery is found by reading back."""

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        return await super().perform(dataclasses.replace(action, idempotency_key=str(uuid.uuid4())))

    async def find_delivered(self, action: ActionRequest) -> ActionOutcome | None:
        ticket = await self.fetch_ticket(action.external_id)
        for message in ticket.messages:
            if message.body_text.strip() == (action.body or "").strip():
                return ActionOutcome(ok=True, remote_id=message.external_id, ticket=ticket)
        return None


def test_an_unknown_outcome_is_read_back_before_any_resend(seed_tickets, serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stand_in = ZendeskStandIn(seed_tickets)
    lossy = _LoseFirstWriteAnswer(stand_in.app)
    desk = _desk(stand_in, serve(lossy), tmp_path, _NoIdempotencyZendesk, HttpSettings(retries=0))

    async def scenario() -> tuple[int, str]:
        await desk.coordinator.sync_once()
        ticket_id, remote = desk.first_ticket()
        action_id = await desk.service.submit(Reply(ticket_id, "只应该出现一次"))
        assert await desk.delivery.deliver_pending() == 1  # 502: the outcome is unknown
        assert desk.action(action_id).attempts == 1
        assert await desk.delivery.deliver_pending() == 0
        await desk.adapter.aclose()
        return remote, action_id

    remote, action_id = asyncio.run(scenario())
    assert lossy.lost == 1 and desk.delivery.read_backs == 1
    assert _bodies(stand_in, remote).count("只应该出现一次") == 1  # read back, not re-sent
    assert desk.action(action_id).state == "sent"
    desk.writer.close()


def test_drafts_survive_a_restart(desk: Desk, tmp_path: Path) -> None:
    async def scenario() -> None:
        await desk.coordinator.sync_once()
        await desk.adapter.aclose()

    asyncio.run(scenario())
    ticket_id, _remote = desk.first_ticket()
    desk.writer.run_sync(drafts.save, ticket_id, "您好，关于您的退款", True, utcnow())
    desk.writer.run_sync(drafts.save, ticket_id, "您好，关于您的退款申请", False, utcnow())
    restarted = open_cache(tmp_path / "cache.sqlite3")  # a new process opening the same file
    with restarted.engine.connect() as conn:
        draft = drafts.load(conn, ticket_id)
    restarted.close()
    assert draft is not None and draft.body == "您好，关于您的退款申请" and not draft.public
    desk.writer.run_sync(drafts.clear, ticket_id)
    desk.writer.run_sync(drafts.save, ticket_id + 1, "   ", True, utcnow())  # blank: not kept
    with desk.cache.engine.connect() as conn:
        assert drafts.load(conn, ticket_id) is None and drafts.load(conn, ticket_id + 1) is None


def test_retention_prunes_old_closed_tickets_but_never_held_ones(desk: Desk) -> None:
    async def scenario() -> int:
        await desk.coordinator.sync_once()
        with desk.cache.engine.connect() as conn:
            closed = list(conn.scalars(select(tickets.c.id).where(tickets.c.status == "closed")))
        await desk.service.submit(Reply(closed[0], "补充说明", public=False))
        await desk.adapter.aclose()
        return len(closed)

    closed_count = asyncio.run(scenario())
    assert closed_count >= 3
    with desk.cache.engine.connect() as conn:
        held = conn.scalar(select(outbox.c.ticket_id))
        second = conn.scalar(
            select(tickets.c.id).where(tickets.c.status == "closed", tickets.c.id != held)
        )
    desk.writer.run_sync(drafts.save, second, "还没写完", True, utcnow())
    with desk.cache.engine.connect() as conn:
        live_before = queries.ticket_count(conn)
    pruned = desk.writer.run_sync(retention.prune, timedelta(days=0), utcnow() + timedelta(1))
    method = retention.compact(desk.cache.engine)
    with desk.cache.engine.connect() as conn:
        left_closed = set(conn.scalars(select(tickets.c.id).where(tickets.c.status == "closed")))
        live = queries.ticket_count(conn)
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
        free_pages = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
    assert pruned.tickets == closed_count - 2 and pruned.messages > 0
    assert left_closed == {held, second}  # pending outbox row and draft keep their tickets
    assert live == live_before - pruned.tickets  # nothing but old closed tickets went
    assert method in ("vacuum", "incremental_vacuum") and integrity == "ok"
    assert free_pages == 0  # the freed pages were given back
    kept = desk.writer.run_sync(retention.prune, timedelta(days=3650), utcnow())
    assert kept.tickets == 0
