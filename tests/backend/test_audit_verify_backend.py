"""Journal -> uploader -> backend -> ``tabless audit verify --backend``, then tampering with the
backend's rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit import journal, signing
from app.audit.cli import audit_command
from app.audit.signature import SigningKey, load_public_key, signature_valid
from app.audit.uploader import AuditUploader
from app.audit.wire import AuditRecord, new_record, to_wire
from app.cache import CacheWriter, open_cache
from app.cache.schema import audit_log
from app.events import AuditUploaded, EventBus
from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY
from app.secrets import SecretStore
from backend.core.db import Database
from tests.backend.conftest import TOKEN, RunningBackend

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def key() -> Iterator[SigningKey]:
    test_key = SigningKey.generate()
    signing.use_key(test_key)
    yield test_key
    signing.use_key(None)


@pytest.fixture
def store(real_keyring: str) -> Iterator[SecretStore]:
    secrets = SecretStore(service="tabless-test")
    secrets.set(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY, TOKEN)
    yield secrets
    secrets.delete(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY)


def write_journal(path: Path, count: int) -> list[AuditRecord]:
    cache = open_cache(path)
    records = []
    with cache.engine.begin() as conn:
        for n in range(count):
            records.append(
                journal.append(
                    conn,
                    "li.siyuan",
                    cache.device_id,
                    action="reply",
                    system_id="zendesk",
                    ticket_id=str(n),
                    before=None,
                    after={"body": f"reply {n}"},
                    outcome="pending",
                    now=NOW + timedelta(seconds=n),
                )
            )
    cache.close()
    return records


def upload(path: Path, backend: RunningBackend) -> tuple[int, list[AuditUploaded]]:
    cache = open_cache(path)
    writer = CacheWriter(cache)
    bus = EventBus()
    events: list[AuditUploaded] = []
    bus.subscribe(AuditUploaded, events.append)
    uploader = AuditUploader(writer, bus, backend.url, lambda: TOKEN)

    async def go() -> int:
        try:
            return await uploader.upload_pending()
        finally:
            await uploader.aclose()

    accepted = asyncio.run(go())
    writer.close()
    cache.close()
    return accepted, events


def verify(
    capsys: pytest.CaptureFixture[str], path: Path, backend: RunningBackend, store: SecretStore
) -> tuple[int, str]:
    code = audit_command(["verify", "--cache", str(path), "--backend", backend.url], store=store)
    return code, capsys.readouterr().out


def backend_sql(backend: RunningBackend, statement: str, **params: object) -> None:
    database = Database(backend.database_url)
    try:
        with database.engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        database.dispose()


def test_uploaded_journal_verifies_on_both_sides(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: RunningBackend,
    key: SigningKey,
    store: SecretStore,
) -> None:
    path = tmp_path / "cache.sqlite3"
    records = write_journal(path, 5)

    accepted, events = upload(path, backend)

    assert accepted == 5 and events[-1].pending == 0
    device = backend.client().get(f"/api/v1/devices/{records[0].device_id}/records").json()
    assert device["public_key"] == key.public_key and len(device["records"]) == 5
    code, out = verify(capsys, path, backend, store)
    assert code == 0, out
    assert "backend copy: 5 records, intact" in out
    assert "journal vs backend: 5 records, intact" in out


def test_tampering_with_backend_rows_is_named(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: RunningBackend,
    key: SigningKey,
    store: SecretStore,
) -> None:
    path = tmp_path / "cache.sqlite3"
    records = write_journal(path, 6)
    upload(path, backend)

    backend_sql(
        backend, "UPDATE audit_records SET ticket_id = 'T-999' WHERE id = :id", id=records[2].id
    )
    code, out = verify(capsys, path, backend, store)
    assert code == 1
    assert f"backend copy: BROKEN at seq 3 (record {records[2].id})" in out
    assert "hash_mismatch" in out
    assert "local journal of device" in out and "6 records, intact" in out

    backend_sql(backend, "DELETE FROM audit_records WHERE id = :id", id=records[2].id)
    code, out = verify(capsys, path, backend, store)
    assert code == 1
    assert f"backend copy: BROKEN at seq 4 (record {records[3].id})" in out and "seq_gap" in out

    # Swap two records' places (seq is part of each hash: both stop matching).
    backend_sql(backend, "UPDATE audit_records SET seq = 100 WHERE id = :id", id=records[3].id)
    backend_sql(backend, "UPDATE audit_records SET seq = 4 WHERE id = :id", id=records[4].id)
    backend_sql(backend, "UPDATE audit_records SET seq = 5 WHERE id = :id", id=records[3].id)
    code, out = verify(capsys, path, backend, store)
    assert code == 1 and "backend copy: BROKEN at seq 4" in out


def test_a_journal_truncated_after_upload_is_caught_next_to_the_backend(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: RunningBackend,
    key: SigningKey,
    store: SecretStore,
) -> None:
    path = tmp_path / "cache.sqlite3"
    records = write_journal(path, 4)
    upload(path, backend)
    cache = open_cache(path)
    with cache.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 4"))
    cache.close()

    code, out = verify(capsys, path, backend, store)

    assert code == 1
    assert "local journal of device" in out and "3 records, intact" in out
    assert f"journal vs backend: BROKEN at seq 4 (record {records[3].id})" in out
    assert "missing_locally" in out


def test_verify_against_an_unreachable_backend_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key: SigningKey, store: SecretStore
) -> None:
    path = tmp_path / "cache.sqlite3"
    write_journal(path, 1)
    code = audit_command(
        ["verify", "--cache", str(path), "--backend", "http://127.0.0.1:1"], store=store
    )
    assert code == 2
    assert "cannot reach http://127.0.0.1:1" in capsys.readouterr().err


def test_the_uploader_refuses_to_upload_under_a_conflicting_key(
    tmp_path: Path, start_backend: Callable[..., RunningBackend], key: SigningKey
) -> None:
    backend = start_backend()
    path = tmp_path / "cache.sqlite3"
    records = write_journal(path, 2)
    impostor = SigningKey.generate()
    response = backend.client().post(
        "/api/v1/devices",
        json={"device_id": records[0].device_id, "public_key": impostor.public_key},
    )
    assert response.status_code == 201

    accepted, events = upload(path, backend)

    assert accepted == 0
    assert events and "409" in (events[-1].error or "")
    assert backend.listed(device_id=records[0].device_id) == []


def test_records_written_before_signing_are_signed_at_upload(
    tmp_path: Path, backend: RunningBackend, key: SigningKey
) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = open_cache(path)
    legacy = new_record(
        None, device_id=cache.device_id, agent="li.siyuan", action="note", client_version="0.0.9"
    )
    assert legacy.signature is None
    with cache.engine.begin() as conn:
        conn.execute(
            sa.insert(audit_log).values(
                seq=1, record_id=legacy.id, record=to_wire(legacy), hash=legacy.hash, uploaded=False
            )
        )
    cache.close()
    write_journal(path, 2)  # signed records continue the legacy one

    accepted, _events = upload(path, backend)

    assert accepted == 3
    stored = backend.listed(device_id=legacy.device_id)
    assert stored[0].hash == legacy.hash  # the chain is unchanged
    public = load_public_key(key.public_key)
    assert all(signature_valid(r, public) for r in stored)
