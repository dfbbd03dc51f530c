"""``tabless audit verify`` on a real SQLite cache that is then tampered with, row by row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.audit import journal, signing
from app.audit.cli import audit_command
from app.audit.signature import SigningKey
from app.audit.wire import AuditRecord, new_record, to_wire
from app.cache import open_cache
from app.cli import main

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def key() -> Iterator[SigningKey]:
    test_key = SigningKey.generate()
    signing.use_key(test_key)
    yield test_key
    signing.use_key(None)


@pytest.fixture
def journal_file(tmp_path: Path, key: SigningKey) -> tuple[Path, list[AuditRecord]]:
    path = tmp_path / "cache.sqlite3"
    cache = open_cache(path)
    records = []
    with cache.engine.begin() as conn:
        for n in range(6):
            records.append(
                journal.append(
                    conn,
                    "li.siyuan",
                    cache.device_id,
                    action=("reply", "note", "set_status")[n % 3],
                    system_id="zendesk",
                    ticket_id=str(100 + n),
                    before={"status": "open"},
                    after={"status": "pending", "body": f"第{n}条"},
                    outcome="pending",
                    now=NOW + timedelta(seconds=n),
                )
            )
    cache.close()
    return path, records


def run_verify(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = audit_command(["verify", "--cache", str(path)])
    return code, capsys.readouterr().out


def sql(path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(path) as db:
        db.execute(statement, params)


def row(path: Path, seq: int) -> tuple[str, str, str]:
    with sqlite3.connect(path) as db:
        found = db.execute(
            "SELECT record_id, record, hash FROM audit_log WHERE seq = ?", (seq,)
        ).fetchone()
    return found  # type: ignore[no-any-return]


def test_an_intact_journal_verifies(capsys, journal_file) -> None:  # type: ignore[no-untyped-def]
    path, _records = journal_file
    code, out = run_verify(capsys, path)
    assert code == 0
    assert "6 records, intact" in out
    assert main(["audit", "verify", "--cache", str(path)]) == 0  # through `tabless audit`


def test_an_edited_record_is_named(capsys, journal_file) -> None:  # type: ignore[no-untyped-def]
    path, records = journal_file
    _id, raw, _hash = row(path, 3)
    edited = json.loads(raw)
    edited["after"]["body"] = "退款已拒绝"
    sql(path, "UPDATE audit_log SET record = ? WHERE seq = 3", json.dumps(edited))

    code, out = run_verify(capsys, path)

    assert code == 1
    assert f"BROKEN at seq 3 (record {records[2].id})" in out
    assert "hash_mismatch" in out


def test_an_edit_resealed_without_the_key_is_caught_by_its_signature(capsys, journal_file) -> None:  # type: ignore[no-untyped-def]
    path, records = journal_file
    forger = SigningKey.generate()
    # Rewrite seq 4 onwards as a consistent chain, signed with another key.
    previous: AuditRecord = records[2]
    for original in records[3:]:
        forged = forger.sign(
            new_record(
                previous,
                device_id=original.device_id,
                agent=original.agent,
                action="set_status",
                client_version=original.client_version,
                after={"status": "solved"},
                occurred_at=original.occurred_at,
                record_id=original.id,
            )
        )
        sql(
            path,
            "UPDATE audit_log SET record = ?, hash = ? WHERE seq = ?",
            json.dumps(to_wire(forged)),
            forged.hash,
            forged.seq,
        )
        previous = forged

    code, out = run_verify(capsys, path)

    assert code == 1
    assert f"BROKEN at seq 4 (record {records[3].id})" in out and "bad_signature" in out


def test_a_deleted_record_is_named(capsys, journal_file) -> None:  # type: ignore[no-untyped-def]
    path, records = journal_file
    sql(path, "DELETE FROM audit_log WHERE seq = 3")

    code, out = run_verify(capsys, path)

    assert code == 1
    assert f"BROKEN at seq 4 (record {records[3].id})" in out and "seq_gap" in out


def test_an_inserted_record_is_named(capsys, journal_file, key: SigningKey) -> None:  # type: ignore[no-untyped-def]
    path, records = journal_file
    # Even with the device key, a record slipped in after seq 2 breaks seq 3's link.
    intruder = key.sign(
        new_record(
            records[1],
            device_id=records[0].device_id,
            agent="mallory",
            action="note",
            client_version="0.1.0",
        )
    )
    with sqlite3.connect(path) as db:
        for seq in range(6, 2, -1):
            db.execute("UPDATE audit_log SET seq = seq + 1 WHERE seq = ?", (seq,))
        db.execute(
            "INSERT INTO audit_log (seq, record_id, record, hash, uploaded) VALUES (3, ?, ?, ?, 0)",
            (intruder.id, json.dumps(to_wire(intruder)), intruder.hash),
        )

    code, out = run_verify(capsys, path)

    assert code == 1
    assert f"BROKEN at seq 4 (record {records[2].id})" in out and "row_mismatch" in out


def test_reordered_records_are_named(capsys, journal_file) -> None:  # type: ignore[no-untyped-def]
    path, records = journal_file
    second, third = row(path, 2), row(path, 3)
    with sqlite3.connect(path) as db:
        for seq, (record_id, raw, hash_) in ((2, third), (3, second)):
            db.execute(
                "UPDATE audit_log SET record_id = ?, record = ?, hash = ? WHERE seq = ?",
                (record_id + "-", raw, hash_, seq),
            )
        for seq in (2, 3):
            db.execute(
                "UPDATE audit_log SET record_id = rtrim(record_id, '-') WHERE seq = ?", (seq,)
            )

    code, out = run_verify(capsys, path)

    assert code == 1
    assert f"BROKEN at seq 2 (record {records[2].id})" in out and "row_mismatch" in out
