"""Files attached to a reply: staged in the data folder with the outbox row, uploaded to the
Zendesk stand-in (``POST /api/v2/uploads`` + ``comment.uploads``) when the system is back,
visible on the remote comment, fetched back byte for byte, and cleaned up once delivered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import AdapterContext
from adapters.zendesk.adapter import ZendeskAdapter
from app.actions import ActionService, Identity, OutboxDelivery, Reply, outgoing
from app.actions.service import ActionRejected
from app.cache import CacheWriter, open_cache, queries
from app.cache.schema import messages, outbox
from app.domain import Attachment
from app.events import EventBus
from app.sync import SystemCoordinator
from sandbox.zendesk import ZendeskStandIn

IDENTITY = Identity(agent="li.siyuan", device_id="device-1", client_version="test")


@pytest.fixture
def setup(seed_tickets: Any, serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TABLESS_HOME", str(tmp_path / "home"))
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


def test_attached_files_wait_offline_then_reach_the_comment(setup: Any, tmp_path: Path) -> None:
    stand_in, adapter, cache, writer, bus, service, delivery = setup
    invoice = tmp_path / "发票 2026-11.pdf"
    invoice.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300)

    async def scenario() -> tuple[str, str, list[Any], bytes]:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
            external = queries.ticket(conn, ticket_id).external_id
        stand_in.plan.update({"down": True})
        action_id = await service.submit(
            Reply(ticket_id, "发票和照片见附件。", attachments=(invoice, photo))
        )
        invoice.unlink()  # the agent's copy may go away: the outbox has its own
        assert await delivery.deliver_pending() == 1
        stand_in.plan.update({"down": False})
        assert await delivery.deliver_pending() == 0
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            shown = [
                m.attachments
                for m in queries.conversation(conn, ticket_id)
                if m.body_text == "发票和照片见附件。"
            ]
        first = shown[0][0]
        data = await adapter.fetch_attachment(
            Attachment(
                first["filename"], first.get("content_type"), first.get("size"), first["url"]
            )
        )
        await adapter.aclose()
        return action_id, external, shown, data

    action_id, external, shown, data = asyncio.run(scenario())
    remote = [c for c in stand_in.comments_of(int(external)) if c["body"] == "发票和照片见附件。"]
    assert len(remote) == 1  # one comment, even though the first attempt failed
    names = [a["file_name"] for a in remote[0]["attachments"]]
    assert names == ["发票 2026-11.pdf", "photo.png"]
    assert len(shown) == 1 and [a["filename"] for a in shown[0]] == names
    assert data == b"%PDF-1.7\n" + bytes(range(256)) * 40
    assert not (outgoing.outbox_dir() / action_id).exists()  # delivered: the staged copy is gone


def test_refused_files_write_nothing(setup: Any, tmp_path: Path) -> None:
    _stand_in, adapter, cache, writer, bus, service, _delivery = setup
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(outgoing.MAX_FILE_BYTES + 1)

    async def scenario() -> None:
        await SystemCoordinator(adapter, writer, bus).sync_once()
        with cache.engine.connect() as conn:
            ticket_id = queries.inbox_ids(conn, system_id="zendesk")[0]
        with pytest.raises(ActionRejected, match=r"huge\.bin is 25\.0 MB"):
            await service.submit(Reply(ticket_id, "see attached", attachments=(huge,)))
        with pytest.raises(ActionRejected, match="does not exist"):
            await service.submit(Reply(ticket_id, "see", attachments=(tmp_path / "gone.txt",)))
        await adapter.aclose()

    asyncio.run(scenario())
    with cache.engine.connect() as conn:
        assert conn.execute(select(outbox)).first() is None
        assert not [m for m in conn.execute(select(messages)) if m.body_text.startswith("see")]
    assert not any(outgoing.outbox_dir().iterdir()) if outgoing.outbox_dir().exists() else True


def test_safe_names_keep_chinese_and_drop_paths() -> None:
    assert outgoing.safe_name("../../etc/passwd") == "passwd"
    assert outgoing.safe_name("C:\\Users\\x\\发票.pdf") == "发票.pdf"
    assert outgoing.safe_name(".hidden") == "hidden"
    assert outgoing.safe_name("a<b>|c?.txt") == "a_b_c_.txt"


def test_sweep_removes_only_folders_of_actions_no_longer_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLESS_HOME", str(tmp_path / "home"))
    source = tmp_path / "a.txt"
    source.write_text("x", encoding="utf-8")
    outgoing.stage("waiting", [source])
    outgoing.stage("crashed-before-commit", [source])
    assert outgoing.sweep(["waiting"]) == 1
    assert (outgoing.outbox_dir() / "waiting" / "a.txt").read_text(encoding="utf-8") == "x"
    assert not (outgoing.outbox_dir() / "crashed-before-commit").exists()
