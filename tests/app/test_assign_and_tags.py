"""Assign and tag actions end to end: outbox + audit + optimistic change in one transaction,
delivered to the real Zendesk stand-in (``assignee_email``, ``additional_tags``/``remove_tags``),
refusals reported with the system's reason, and a discarded change put back locally."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import ActionService, Assign, ChangeTags, Identity, OutboxDelivery
from app.actions.service import ActionRejected
from app.cache import CacheWriter, open_cache, queries
from app.cache.schema import audit_log, outbox, tickets
from app.domain import Person
from app.events import EventBus
from app.sync import SystemCoordinator
from sandbox.dataset import AGENTS
from sandbox.zendesk import ZendeskStandIn

IDENTITY = Identity(agent="li.siyuan", device_id="device-1", client_version="test")


@pytest.fixture
def setup(seed_tickets: Any, serve: Any, tmp_path: Path) -> Any:
    stand_in = ZendeskStandIn(seed_tickets, per_page=50)
    connection = stand_in.connection(serve(stand_in.app))
    adapter = ZendeskAdapter(
        AdapterContext(
            "zendesk",
            {**connection["settings"], "page_size": 50},
            lambda key: connection["secrets"][key],
        )
    )
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    bus = EventBus()
    service = ActionService(writer, bus, IDENTITY, lambda _s: adapter.manifest.capabilities)
    delivery = OutboxDelivery(
        writer, {"zendesk": adapter}, bus, (IDENTITY.agent, IDENTITY.device_id, "test")
    )
    yield stand_in, adapter, cache, writer, bus, service, delivery
    writer.close()
    cache.close()


def _row(cache: Any, ticket_id: int) -> Any:
    with cache.engine.connect() as conn:
        return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()


def test_assign_and_tags_reach_zendesk_and_are_audited(setup: Any) -> None:
    stand_in, adapter, cache, writer, bus, service, delivery = setup
    colleague = AGENTS[1]

    async def scenario() -> tuple[int, str, Any, Any]:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
        before = _row(cache, ticket_id)
        removed = before.tags[0]
        await service.submit(Assign(ticket_id, Person(name=colleague.name, email=colleague.email)))
        await service.submit(ChangeTags(ticket_id, add=("vip", "退款"), remove=(removed,)))
        optimistic = _row(cache, ticket_id)
        assert await delivery.deliver_pending() == 0
        await SystemCoordinator(adapter, writer, bus).sync_once()
        await adapter.aclose()
        return ticket_id, removed, before, optimistic

    ticket_id, removed, before, optimistic = asyncio.run(scenario())
    assert optimistic.assignee_email == colleague.email
    assert "vip" in optimistic.tags and removed not in optimistic.tags
    remote = stand_in.raw_ticket(int(before.external_id))
    assert remote["assignee_id"] == colleague.id
    assert "vip" in remote["tags"] and "退款" in remote["tags"] and removed not in remote["tags"]
    synced = _row(cache, ticket_id)
    assert synced.assignee_email == colleague.email and synced.assignee_name == colleague.name
    assert set(synced.tags) == set(remote["tags"])
    with cache.engine.connect() as conn:
        records = [r.record for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]
        states = [r.state for r in conn.execute(select(outbox.c.state))]
    assert states == ["sent", "sent"]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("assign", "pending"),
        ("set_tags", "pending"),
        ("assign", "delivered"),
        ("set_tags", "delivered"),
    ]
    assert records[0]["after"]["assignee"]["email"] == colleague.email
    assert records[1]["before"] == {"tags": list(before.tags)}


def test_an_unknown_assignee_fails_with_zendesk_reason_and_discard_puts_it_back(
    setup: Any,
) -> None:
    _stand_in, adapter, cache, writer, bus, service, delivery = setup

    async def scenario() -> tuple[Any, Any, Any]:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
        before = _row(cache, ticket_id)
        action_id = await service.submit(Assign(ticket_id, Person(email="nobody@example.com")))
        await delivery.deliver_pending()
        with cache.engine.connect() as conn:
            failed = conn.execute(select(outbox).where(outbox.c.action_id == action_id)).first()
        await service.discard(action_id)
        await adapter.aclose()
        return before, failed, _row(cache, ticket_id)

    before, failed, after = asyncio.run(scenario())
    assert failed.state == "failed"
    assert "422" in failed.last_error and "Assignee" in failed.last_error
    assert (after.assignee_name, after.assignee_email) == (
        before.assignee_name,
        before.assignee_email,
    )


def test_bad_tag_and_assignee_commands_are_refused_before_anything_is_written(
    setup: Any,
) -> None:
    _stand_in, adapter, cache, writer, bus, service, _delivery = setup

    async def scenario() -> None:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
        with pytest.raises(ActionRejected, match="one word"):
            await service.submit(ChangeTags(ticket_id, add=("two words",)))
        with pytest.raises(ActionRejected, match="no tag"):
            await service.submit(ChangeTags(ticket_id))
        with pytest.raises(ActionRejected, match="e-mail"):
            await service.submit(Assign(ticket_id, Person(name="only a name")))
        await adapter.aclose()

    asyncio.run(scenario())
    with cache.engine.connect() as conn:
        assert conn.execute(select(outbox)).first() is None
        assert conn.execute(select(audit_log)).first() is None


def test_a_sync_before_delivery_keeps_the_optimistic_assignee_and_tags(setup: Any) -> None:
    stand_in, adapter, cache, writer, bus, service, delivery = setup
    colleague = AGENTS[2]

    async def scenario() -> tuple[Any, Any]:
        coordinator = SystemCoordinator(adapter, writer, bus)
        await coordinator.sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
        await service.submit(Assign(ticket_id, Person(email=colleague.email)))
        await service.submit(ChangeTags(ticket_id, add=("escalated",)))
        external = _row(cache, ticket_id).external_id
        stand_in.update_ticket(int(external), subject="a colleague edited the subject")
        await coordinator.sync_once()  # brings the remote ticket before our actions went out
        during = _row(cache, ticket_id)
        await delivery.deliver_pending()
        await coordinator.sync_once()
        await adapter.aclose()
        return during, _row(cache, ticket_id)

    during, after = asyncio.run(scenario())
    assert during.subject == "a colleague edited the subject"  # the remote change is in
    assert during.assignee_email == colleague.email and "escalated" in during.tags
    assert after.assignee_email == colleague.email and "escalated" in after.tags
