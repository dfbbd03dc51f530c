"""The upload hot path's shortcuts give exactly what the reference code gives.

``crud.hashed_bytes`` (orjson) against ``app.audit.wire.canonical_bytes``, ``json_text``
against the standard library, the driver-level statements' errors against SQLAlchemy's; the
device lock and chain head read in one statement under concurrent uploads; pooled connections
pinged only after they sat idle.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit.wire import AuditRecord, canonical_bytes, new_record, seal, to_wire
from backend import crud
from backend.core import db as db_module
from backend.core.db import Database, DriverStatement, float_free, json_text
from backend.models import Device
from tests.backend.conftest import RunningBackend, make_chain, sign

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

JSON_VALUES: list[dict[str, Any] | None] = [
    None,
    {},
    {"status": "open"},
    {"body": "您好，第1条回复 / reply 1 — Réponse n°1 🎉", "标签": ["客户", "紧急"]},
    {"controls": "".join(chr(c) for c in range(0x20)) + '\x7f"\\/\u2028\u2029\ufeff'},
    {"z": 1, "a": {"y": [True, False, None], "b": {"é": 2, "e": 3, "😀": 4, "\uffff": 5}}},
    {"edges": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1]},
    {"big": 2**70, "small": -(2**64)},  # beyond orjson: the reference encoder
    {"floats": [1.5, 1e-05, 1e16, -0.0, 0.1, 123456789.125]},  # spelled differently by orjson
    {"deep": json.loads("[" * 300 + "]" * 300)},  # deeper than orjson writes
]


def _records() -> list[AuditRecord]:
    records = []
    for n, value in enumerate(JSON_VALUES):
        records.append(
            new_record(
                None,
                device_id=f"device-{n}",
                agent="alice ",
                action="reply",
                client_version="0.1.0",
                system_id=None if n % 2 else "zendesk",
                ticket_id="T-1\t",
                before=value,
                after=JSON_VALUES[-1 - n],
                occurred_at=T0 + timedelta(microseconds=n % 3),  # .000000 included
            )
        )
    return records


@pytest.mark.parametrize("record", _records(), ids=lambda r: r.device_id)
def test_hashed_bytes_are_the_canonical_bytes(record: AuditRecord) -> None:
    assert crud.hashed_bytes(record) == canonical_bytes(record)


def test_orjson_spells_some_floats_otherwise_so_they_take_the_reference_path() -> None:
    value = {"x": 1e-05}
    assert orjson.dumps(value) != json.dumps(value, separators=(",", ":")).encode()
    assert not float_free(value) and float_free({"x": [1, "1.5", None, {"y": True}]})


def test_a_lone_surrogate_is_left_to_the_reference_encoder() -> None:
    record = _records()[0]
    object.__setattr__(record, "after", {"status": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        crud.hashed_bytes(record)


@pytest.mark.parametrize("value", JSON_VALUES[1:], ids=range(len(JSON_VALUES) - 1))
def test_json_text_reads_back_as_the_same_value(value: dict[str, Any]) -> None:
    assert json.loads(json_text(value)) == value


def test_a_record_hashed_as_orjson_spells_its_floats_is_refused(
    backend: RunningBackend,
) -> None:
    """The hash is over the reference spelling: another spelling of a float is another
    content, however equal the numbers are."""
    good = sign(
        new_record(
            None,
            device_id="device-floats",
            agent="alice",
            action="note",
            client_version="0.1.0",
            after={"x": 1e-05, "y": 1e16},
        )
    )
    payload = json.loads(canonical_bytes(good))
    other = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    assert other != canonical_bytes(good)
    forged = sign(AuditRecord(**{**_fields(good), "hash": hashlib.sha256(other).hexdigest()}))

    refused = backend.upload([forged])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]["error"] == "hash_mismatch"
    assert backend.upload([good]).json() == {"accepted": 1, "duplicates": 0, "last_seq": 1}
    assert backend.listed(device_id="device-floats") == [good]


def test_a_number_beyond_a_float_is_refused_as_invalid_json(backend: RunningBackend) -> None:
    record = sign(seal(_records()[2]))
    backend.register(record.device_id)
    body = json.dumps({"device_id": record.device_id, "records": [to_wire(record)]})
    body = body.replace('"status": "open"', '"status": 1e400')
    assert "1e400" in body
    response = backend.client().post(
        "/api/v1/audit/batches", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["error"] == "invalid_json"
    assert "1e400" in response.json()["detail"]["message"]


def test_driver_statements_raise_sqlalchemy_errors(database_url: str) -> None:
    database = Database(database_url)
    try:
        statement = DriverStatement(
            sa.select(Device.public_key).where(Device.device_id == sa.bindparam("device_id"))
        )
        with database.read_connection() as connection, pytest.raises(DBAPIError):
            statement.first(connection, device_id="x")  # not migrated: no table
        database.migrate()
        with database.read_connection() as connection:
            assert statement.first(connection, device_id="x") is None
    finally:
        database.dispose()


def _fields(record: AuditRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in AuditRecord.__dataclass_fields__}


def test_concurrent_continuations_of_one_chain_store_one_and_refuse_the_fork(
    backend: RunningBackend,
) -> None:
    """The device's lock and head are read in one statement: the upload that waited for the
    lock read an older head, and must still be refused as a fork, not stored."""
    chain = make_chain(20)
    assert backend.upload(chain[:10]).json()["last_seq"] == 10
    fork = [sign(seal(replace(chain[10], id=str(uuid.uuid4()), after={"status": "solved"})))]
    for record in chain[11:]:
        fork.append(sign(seal(replace(record, id=str(uuid.uuid4()), prev_hash=fork[-1].hash))))
    barrier = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def upload(name: str, records: list[AuditRecord]) -> None:
        barrier.wait()
        answers[name] = backend.upload(records)

    threads = [
        threading.Thread(target=upload, args=("chain", chain[10:])),
        threading.Thread(target=upload, args=("fork", fork)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted((answer.status_code, name) for name, answer in answers.items())
    assert [status for status, _ in statuses] == [200, 409], {n: a.text for n, a in answers.items()}
    winner = statuses[0][1]
    assert answers[statuses[1][1]].json()["detail"]["error"] == "chain_fork"
    stored = backend.listed(device_id=chain[0].device_id)
    assert stored == chain[:10] + (chain[10:] if winner == "chain" else fork)


@pytest.mark.postgres
def test_a_pooled_connection_lost_while_idle_is_replaced(
    postgres_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections in steady use are not pinged (no round trip per request); one idle for
    longer than PING_AFTER_IDLE_S is, and a dead one is replaced before it is handed out."""
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.2)
    database = Database(postgres_database())
    try:
        database.migrate()
        with database.read_connection() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with database.read_connection() as connection:  # in steady use: the same connection
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid
        with psycopg.connect(
            database.url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        time.sleep(0.3)  # idle past the threshold: pinged at checkout, found dead, replaced
        with database.read_connection() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        database.dispose()
