"""The running workstation audits its session: sign-in at start, sign-out at stop, other events
through ``Workstation.record_event`` — chained and signed like the agent's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.audit import signing
from app.audit.signature import SigningKey, load_public_key, signature_valid
from app.audit.verify import read_journal, verify_records
from app.cache import open_cache
from app.config import SETTINGS, Config
from app.runtime import Workstation
from app.secrets import SecretStore


@pytest.fixture
def key() -> Iterator[SigningKey]:
    test_key = SigningKey.generate()
    signing.use_key(test_key)
    yield test_key
    signing.use_key(None)


def test_a_session_is_audited_from_sign_in_to_sign_out(tmp_path: Path, key: SigningKey) -> None:
    values = {s.key: s.default for s in SETTINGS}
    values["agent_name"] = "li.siyuan"
    ws = Workstation(
        config=Config(values, {}, []),
        cache=open_cache(tmp_path / "cache.sqlite3"),
        secrets=SecretStore(service="tabless-test"),
    )

    async def session() -> None:
        ws.start()
        await asyncio.sleep(0.2)
        await ws.record_event(
            "settings_changed",
            details={"notifications.dnd": True},
            before={"notifications.dnd": False},
        )
        await ws.record_event("export", details={"format": "csv", "rows": 3})
        await ws.stop()

    asyncio.run(session())
    with ws.cache.engine.connect() as conn:
        records, problem = read_journal(conn)
    ws.close()
    assert problem is None
    assert [r.action for r in records] == ["sign_in", "settings_changed", "export", "sign_out"]
    assert all(r.agent == "li.siyuan" and r.device_id == ws.cache.device_id for r in records)
    assert records[1].before == {"notifications.dnd": False}
    assert records[1].after == {"notifications.dnd": True}
    assert verify_records(records, key.public_key) is None
    assert all(signature_valid(r, load_public_key(key.public_key)) for r in records)
