"""Sync engine and actions end to end: the real Zendesk stand-in over HTTP, a real SQLite cache.

Covers: full then incremental sync, a sync killed halfway resuming with nothing lost or
duplicated, a reply and a status change recorded with their audit record in one transaction and
delivered through the adapter (visible in the stand-in's own API), and the outbox waiting while
the system is down.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import ActionService, ChangeStatus, Identity, OutboxDelivery, Reply
from app.cache import CacheWriter, open_cache, queries
from app.cache.schema import audit_log, messages, outbox, tickets
from app.domain import Status
from app.events import EventBus, TicketsChanged
from app.sync import SystemCoordinator
from sandbox.zendesk import ZendeskStandIn

IDENTITY = Identity(agent="li.siyuan", device_id="device-1", client_version="test")


@pytest.fixture
def zendesk(seed_tickets, serve):  # type: ignore[no-untyped-def]
    stand_in = ZendeskStandIn(seed_tickets, per_page=25)
    url = serve(stand_in.app)
    return stand_in, url, stand_in.connection(url)


def _adapter(connection: dict) -> ZendeskAdapter:  # type: ignore[type-arg]
    settings = {**connection["settings"], "page_size": 25}
    return ZendeskAdapter(
        AdapterContext("zendesk", settings, lambda key: connection["secrets"][key])
    )


def _count(cache, table) -> int:  # type: ignore[no-untyped-def]
    with cache.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_full_then_incremental_sync(zendesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stand_in, _url, connection = zendesk
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    changed: list[TicketsChanged] = []
    bus.subscribe(TicketsChanged, changed.append)
    adapter = _adapter(connection)
    coordinator = SystemCoordinator(adapter, writer, bus)

    async def scenario() -> tuple[int, int]:
        first = await coordinator.sync_once()
        target = stand_in.ticket_ids()[0]
        stand_in.add_comment(target, "请问退款什么时候到账？")
        second = await coordinator.sync_once()
        await adapter.aclose()
        return first, second

    first, second = asyncio.run(scenario())
    live = len(stand_in.ticket_ids())
    assert first == live and len(changed) >= 3  # one event per committed page
    assert second == 1
    with cache.engine.connect() as conn:
        assert queries.ticket_count(conn, "zendesk") == live
        bodies = [m.body_text for m in conn.execute(select(messages.c.body_text))]
    assert "请问退款什么时候到账？" in bodies
    assert coordinator.health.first_sync_done and coordinator.health.consecutive_failures == 0
    writer.close()


def test_sync_killed_halfway_resumes_without_loss_or_duplicates(zendesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stand_in, _url, connection = zendesk
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    pages: list[int] = []

    def break_after_first_page(event: TicketsChanged) -> None:
        pages.append(len(event.ticket_ids))
        if len(pages) == 1:  # the system dies right after our first page committed
            stand_in.plan.update({"down": True})

    bus.subscribe(TicketsChanged, break_after_first_page)
    adapter = _adapter(connection)
    coordinator = SystemCoordinator(adapter, writer, bus)

    async def scenario() -> None:
        with pytest.raises(Exception, match="503"):
            await coordinator.sync_once()
        with cache.engine.connect() as conn:
            partial = queries.ticket_count(conn, "zendesk")
            assert partial == pages[0] == 25
        stand_in.plan.update({"down": False})
        await coordinator.sync_once()
        await adapter.aclose()

    asyncio.run(scenario())
    with cache.engine.connect() as conn:
        keys = list(conn.execute(select(tickets.c.external_id)))
    assert len(keys) == len(set(keys)) == len(stand_in.ticket_ids())
    writer.close()


def test_reply_and_status_round_trip_with_audit(zendesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stand_in, url, connection = zendesk
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    adapter = _adapter(connection)
    coordinator = SystemCoordinator(adapter, writer, bus)
    service = ActionService(writer, bus, IDENTITY, lambda _s: adapter.manifest.capabilities)
    delivery = OutboxDelivery(
        writer,
        {"zendesk": adapter},
        bus,
        (IDENTITY.agent, IDENTITY.device_id, IDENTITY.client_version),
    )

    async def scenario() -> tuple[int, str, str]:
        await coordinator.sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
            row = queries.ticket(conn, ticket_id)
            external, original = row.external_id, row.status
        stand_in.plan.update({"down": True})  # offline: the actions wait in the outbox
        await service.submit(Reply(ticket_id, "您好，退款已经处理。", public=True))
        await service.submit(Reply(ticket_id, "checked with finance", public=False))
        await service.submit(ChangeStatus(ticket_id, Status.PENDING))
        assert await delivery.deliver_pending() == 3
        stand_in.plan.update({"down": False})
        assert await delivery.deliver_pending() == 0
        await coordinator.sync_once()  # the stand-in echoes our comments back
        await adapter.aclose()
        return ticket_id, external, original

    ticket_id, external, original = asyncio.run(scenario())
    remote = httpx.get(
        f"{url}/api/v2/tickets/{external}/comments.json",
        headers={"Authorization": "Bearer " + _token(url, connection)},
    ).json()
    bodies = [(c["body"], c["public"]) for c in remote["comments"]]
    assert ("您好，退款已经处理。", True) in bodies
    assert ("checked with finance", False) in bodies
    status = httpx.get(
        f"{url}/api/v2/tickets/{external}.json",
        headers={"Authorization": "Bearer " + _token(url, connection)},
    ).json()
    assert status["ticket"]["status"] == "pending"
    with cache.engine.connect() as conn:
        ours = [
            m
            for m in queries.conversation(conn, ticket_id)
            if m.body_text in ("您好，退款已经处理。", "checked with finance")
        ]
        assert len(ours) == 2 and all(m.pending_action_id is None for m in ours)  # no duplicates
        assert queries.ticket(conn, ticket_id).status == "pending"
        states = [r.state for r in conn.execute(select(outbox.c.state))]
        records = [r.record for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]
    assert states == ["sent", "sent", "sent"]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("reply", "pending"),
        ("note", "pending"),
        ("set_status", "pending"),
        ("reply", "delivered"),
        ("note", "delivered"),
        ("set_status", "delivered"),
    ]
    assert records[2]["before"] == {"status": original}
    assert records[2]["after"]["status"] == "pending"
    writer.close()


def test_a_rejected_command_writes_nothing(zendesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.actions.service import ActionRejected

    _stand_in, _url, connection = zendesk
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    adapter = _adapter(connection)
    service = ActionService(writer, bus, IDENTITY, lambda _s: frozenset())

    async def scenario() -> None:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn)[0]
        with pytest.raises(ActionRejected, match="empty"):
            await ActionService(
                writer, bus, IDENTITY, lambda _s: adapter.manifest.capabilities
            ).submit(Reply(ticket_id, "   "))
        with pytest.raises(ActionRejected, match="does not support"):
            await service.submit(ChangeStatus(ticket_id, Status.SOLVED))
        await adapter.aclose()

    asyncio.run(scenario())
    assert _count(cache, outbox) == 0 and _count(cache, audit_log) == 0
    writer.close()


def _token(url: str, connection: dict) -> str:  # type: ignore[type-arg]
    response = httpx.post(
        f"{url}/oauth/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": connection["settings"]["client_id"],
            "client_secret": connection["secrets"]["client_secret"],
        },
    )
    return str(response.json()["access_token"])
