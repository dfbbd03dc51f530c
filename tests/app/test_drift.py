"""Schema drift is tolerated and reported to IT: a field Zendesk starts sending is stored as a
drift note (with an example record), the ticket still syncs, and `tabless adapter drift` prints
it."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters._drift import DriftNotes
from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.adapter_cli import adapter_command
from app.cache import CacheWriter, drift, open_cache, queries
from app.events import EventBus
from app.sync import SystemCoordinator
from sandbox.zendesk import ZendeskStandIn


def test_a_new_field_is_noted_once_and_the_ticket_still_syncs(
    seed_tickets: Any, serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stand_in = ZendeskStandIn(seed_tickets, per_page=100)
    connection = stand_in.connection(serve(stand_in.app))
    adapter = ZendeskAdapter(
        AdapterContext(
            "zendesk",
            {**connection["settings"], "page_size": 100},
            lambda key: connection["secrets"][key],
        )
    )
    cache = open_cache(tmp_path / "cache.sqlite3")
    writer = CacheWriter(cache)
    coordinator = SystemCoordinator(adapter, writer, EventBus())
    target = stand_in.ticket_ids()[0]

    async def scenario() -> None:
        await coordinator.sync_once()
        stand_in.update_ticket(target, sla_policy={"id": 7, "name": "VIP"}, subject="改过的主题")
        await coordinator.sync_once()
        stand_in.update_ticket(target, subject="又改了一次")
        await coordinator.sync_once()
        await adapter.aclose()

    with caplog.at_level(logging.WARNING, logger="app.sync.coordinator"):
        asyncio.run(scenario())
    writer.close()
    with cache.engine.connect() as conn:
        rows = drift.report(conn, "zendesk")
        ticket_id = next(
            i for i in queries.inbox_ids(conn) if queries.ticket(conn, i).external_id == str(target)
        )
        subject = queries.ticket(conn, ticket_id).subject
    cache.close()
    assert [(r.stream, r.field, r.kind, r.example_record) for r in rows] == [
        ("tickets", "sla_policy", "unknown_field", str(target))
    ]
    assert rows[0].seen == 2  # seen again on the next page, logged only the first time
    assert subject == "又改了一次"  # tolerated: the ticket kept syncing
    logged = [r.getMessage() for r in caplog.records if "schema drift" in r.getMessage()]
    assert len(logged) == 1 and "sla_policy" in logged[0] and str(target) in logged[0]

    printed: list[str] = []
    code = adapter_command(
        ["drift", "zendesk", "--cache", str(tmp_path / "cache.sqlite3")],
        out=printed.append,
        err=printed.append,
    )
    assert code == 0
    note = json.loads(printed[0])
    assert note["field"] == "sla_policy" and note["kind"] == "unknown_field"
    assert note["seen"] == 2 and note["last_seen"].endswith("Z")


def test_notes_are_one_per_distinct_drift_per_page() -> None:
    notes = DriftNotes()
    for number in range(100):
        notes.unknown_fields("tickets", {"id": number, "new": 1}, frozenset({"id"}), number)
        notes.new_value("tickets", "status", "archived", number)
    notes.missing_fields("tickets", {"id": 1}, ["subject"], 1)
    taken = notes.take()
    assert [(d.field, d.kind, d.record_id, d.value) for d in taken] == [
        ("new", "unknown_field", "0", None),
        ("status", "new_value", "0", "archived"),
        ("subject", "missing_field", "1", None),
    ]
    assert notes.take() == []


def test_drift_cli_without_a_cache_says_so(tmp_path: Path) -> None:
    printed: list[str] = []
    code = adapter_command(
        ["drift", "--cache", str(tmp_path / "none.sqlite3")], out=printed.append, err=printed.append
    )
    assert code == 1 and "no cache" in printed[0]


def test_a_new_status_value_falls_back_to_the_default_and_is_reported(
    seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    from adapters.declarative import DeclarativeAdapter
    from sandbox.inhouse import InhouseStandIn

    fixtures = Path(__file__).parent.parent / "fixtures" / "declarative"
    text = (fixtures / "page.toml").read_text(encoding="utf-8")
    text = text.replace(
        "# no default: a ticket with another status is quarantined with the reason",
        'default = "open"',
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(text, encoding="utf-8")
    stand = InhouseStandIn(seed_tickets, per_page=500)
    target = stand.ordered()[0].id
    stand.corrupt(target, "state", "ARCHIVED")
    conn = stand.connection(serve(stand.app), str(mapping))
    adapter = DeclarativeAdapter(
        AdapterContext("inhouse", conn["settings"], lambda key: conn["secrets"][key])
    )

    async def scenario() -> Any:
        result = await adapter.pull(None)
        await adapter.aclose()
        return result

    result = asyncio.run(scenario())
    assert not result.quarantined
    mapped = next(t for t in result.tickets if t.key.external_id == str(target))
    assert mapped.status.value == "open" and mapped.native_status == "ARCHIVED"
    assert [(d.field, d.kind, d.value, d.record_id) for d in result.drift] == [
        ("status", "new_value", "ARCHIVED", str(target))
    ]
