"""app.audit.wire: canonical hashing, the wire form, and chain verification."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.audit.wire import (
    GENESIS_HASH,
    AuditRecord,
    ChainTip,
    UploadBatch,
    UploadResult,
    WireError,
    canonical_bytes,
    compute_hash,
    find_chain_break,
    from_wire,
    new_record,
    seal,
    to_wire,
    verify_chain,
)
from tests.backend.conftest import make_chain

RECORD_ID = "6f1c1a52-3c52-4b7e-9a43-0f4f2a3f9d10"
EXPECTED_CANONICAL = (
    '{"action":"reply","after":{"body":"Merci, réglé ✓","status":"solved"},"agent":"alice",'
    '"before":null,"client_version":"0.1.0","device_id":"device-1",'
    '"id":"6f1c1a52-3c52-4b7e-9a43-0f4f2a3f9d10","occurred_at":"2026-03-14T09:26:53.589793Z",'
    '"outcome":"pending","prev_hash":"' + "0" * 64 + '","seq":1,"system_id":"zendesk",'
    '"ticket_id":"42"}'
)


def first_record(**changes: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "device_id": "device-1",
        "agent": "alice",
        "action": "reply",
        "client_version": "0.1.0",
        "system_id": "zendesk",
        "ticket_id": "42",
        "after": {"status": "solved", "body": "Merci, réglé ✓"},
        "occurred_at": datetime(
            2026, 3, 14, 17, 26, 53, 589793, tzinfo=timezone(timedelta(hours=8))
        ),
        "record_id": RECORD_ID,
    }
    values.update(changes)
    return new_record(None, **values)


# -- canonical form and hash --------------------------------------------------------------


def test_canonical_bytes_are_sorted_compact_utf8_json_in_utc() -> None:
    record = first_record()
    assert canonical_bytes(record) == EXPECTED_CANONICAL.encode("utf-8")
    assert record.hash == hashlib.sha256(EXPECTED_CANONICAL.encode("utf-8")).hexdigest()
    # A golden value: changing the canonical form silently would orphan every stored chain.
    assert record.hash == "daa01379b1fed1b2d4efd99a97d4a2e502e31720f8b5ac4bb3f3774947117eeb"


def test_hash_is_independent_of_dict_order_and_offset_but_not_of_content() -> None:
    record = first_record()
    reordered = first_record(
        after={"body": "Merci, réglé ✓", "status": "solved"},
        occurred_at=datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC),
    )
    assert reordered.hash == record.hash
    assert first_record(after={"status": "solved", "body": "Merci, réglé !"}).hash != record.hash
    assert first_record(outcome="delivered").hash != record.hash


def test_signature_is_not_hashed_and_hash_excludes_itself() -> None:
    record = first_record()
    signed = dataclasses.replace(record, signature="c2lnbmF0dXJl")
    assert compute_hash(signed) == record.hash
    assert b"signature" not in canonical_bytes(signed)
    assert record.hash.encode() not in canonical_bytes(record)


def test_wire_round_trip_is_lossless_and_json_ready() -> None:
    for record in [*make_chain(3), dataclasses.replace(first_record(), signature="sig")]:
        data = json.loads(json.dumps(to_wire(record)))
        again = from_wire(data)
        assert again == record
        assert compute_hash(again) == record.hash
    assert to_wire(first_record())["occurred_at"] == "2026-03-14T09:26:53.589793Z"


def test_wire_copies_do_not_alias_the_record() -> None:
    caller_dict = {"status": "solved"}
    record = first_record(after=caller_dict)
    caller_dict["status"] = "hacked"
    to_wire(record)["after"]["status"] = "hacked too"
    assert record.after == {"status": "solved"}
    assert compute_hash(record) == record.hash


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"id": RECORD_ID.upper()}, "id"),
        ({"seq": "1"}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": 0}, "seq"),
        ({"device_id": ""}, "device_id"),
        ({"agent": None}, "agent"),
        ({"occurred_at": "2026-03-14T09:26:53"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1773480413}, "occurred_at"),
        ({"system_id": 7}, "system_id"),
        ({"before": ["open"]}, "before"),
        ({"after": {"n": float("nan")}}, "after"),
        ({"outcome": "done"}, "outcome"),
        ({"prev_hash": "ab" * 31}, "prev_hash"),
        ({"prev_hash": "1" * 64}, "prev_hash"),  # seq 1 must start from the genesis hash
        ({"hash": "Z" * 64}, "hash"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_from_wire_names_the_bad_field(change: dict[str, Any], field: str) -> None:
    data = to_wire(first_record()) | change
    with pytest.raises(WireError) as caught:
        from_wire(data)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{field}: ")


def test_from_wire_requires_every_field_but_the_signature() -> None:
    data = to_wire(first_record())
    del data["signature"]
    assert from_wire(data).signature is None
    del data["ticket_id"]
    with pytest.raises(WireError, match="ticket_id: missing"):
        from_wire(data)
    with pytest.raises(WireError, match="record: expected a JSON object"):
        from_wire(["not", "a", "record"])


def test_records_refuse_naive_times_and_non_json_payloads() -> None:
    with pytest.raises(WireError, match="occurred_at"):
        first_record(occurred_at=datetime(2026, 3, 14, 9, 0))
    with pytest.raises(WireError, match="after: not plain JSON"):
        first_record(after={"when": datetime(2026, 3, 14, tzinfo=UTC)})
    with pytest.raises(WireError, match="before: not plain JSON"):
        first_record(before={1: "int keys would come back as strings"})


# -- building chains ----------------------------------------------------------------------


def test_new_record_continues_the_previous_hash() -> None:
    first = first_record()
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    second = new_record(
        first, device_id="device-1", agent="alice", action="note", client_version="0.1.0"
    )
    assert (second.seq, second.prev_hash, second.outcome) == (2, first.hash, "pending")
    assert second.occurred_at.tzinfo is UTC
    from_tip = new_record(
        ChainTip(2, second.hash), device_id="device-1", agent="a", action="x", client_version="1"
    )
    assert (from_tip.seq, from_tip.prev_hash) == (3, second.hash)
    assert verify_chain([first, second, from_tip]) is None
    with pytest.raises(ValueError, match="device-2"):
        new_record(first, device_id="device-2", agent="a", action="x", client_version="1")


# -- verify_chain -------------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    chain = make_chain(6)
    assert verify_chain(chain) is None
    assert verify_chain([]) is None
    assert verify_chain(chain[3:], after=chain[2]) is None
    assert verify_chain(chain[3:], after=chain[2].tip) is None


def test_an_edit_is_found_at_the_edited_record() -> None:
    chain = make_chain(6)
    edited = dataclasses.replace(chain[3], after={"status": "solved"})
    broken = find_chain_break([*chain[:3], edited, *chain[4:]])
    assert broken is not None
    assert (broken.index, broken.seq, broken.problem) == (3, 4, "hash_mismatch")
    assert broken.record_id == chain[3].id


def test_an_edit_with_a_recomputed_hash_is_found_at_the_next_record() -> None:
    chain = make_chain(6)
    resealed = seal(dataclasses.replace(chain[3], after={"status": "solved"}))
    tampered = [*chain[:3], resealed, *chain[4:]]
    assert verify_chain(tampered) == 4
    assert find_chain_break(tampered).problem == "prev_hash"  # type: ignore[union-attr]
    assert verify_chain(tampered[:4]) is None  # the tip itself can only be vouched for remotely


def test_a_deletion_is_found_where_the_seq_jumps() -> None:
    chain = make_chain(6)
    assert verify_chain(chain[:2] + chain[3:]) == 2
    assert find_chain_break(chain[:2] + chain[3:]).problem == "seq_gap"  # type: ignore[union-attr]
    assert verify_chain(chain[1:]) == 0  # the first record is gone


def test_an_insertion_is_found_even_when_perfectly_forged() -> None:
    chain = make_chain(6)
    forged = new_record(
        chain[2], device_id=chain[2].device_id, agent="mallory", action="note", client_version="x"
    )
    assert verify_chain([*chain[:3], forged, *chain[3:]]) == 4
    broken = find_chain_break([*chain[:3], forged, *chain[3:]])
    assert broken is not None and broken.problem == "seq_repeated"


def test_a_reordering_is_found_at_the_first_moved_record() -> None:
    chain = make_chain(6)
    swapped = [chain[0], chain[1], chain[3], chain[2], chain[4], chain[5]]
    assert verify_chain(swapped) == 2
    assert verify_chain(list(reversed(chain))) == 0


def test_records_of_another_device_break_the_chain() -> None:
    chain = make_chain(3)
    other = make_chain(4)
    assert verify_chain([*chain, other[3]]) == 3
    broken = find_chain_break(chain[1:], after=other[0])
    assert broken is not None and (broken.index, broken.problem) == (0, "device_mismatch")


# -- upload shapes ------------------------------------------------------------------------


def test_upload_batch_round_trip_and_device_check() -> None:
    chain = make_chain(3)
    batch = UploadBatch(device_id=chain[0].device_id, records=tuple(chain))
    assert UploadBatch.from_wire(json.loads(json.dumps(batch.to_wire()))) == batch
    stray = make_chain(1)[0]
    with pytest.raises(WireError) as caught:
        UploadBatch.from_wire({"device_id": chain[0].device_id, "records": [to_wire(stray)]})
    assert caught.value.field == "records[0].device_id"
    bad = batch.to_wire()
    bad["records"][2]["seq"] = "three"
    with pytest.raises(WireError) as caught:
        UploadBatch.from_wire(bad)
    assert caught.value.field == "records[2].seq"
    with pytest.raises(WireError, match="records: expected a list"):
        UploadBatch.from_wire({"device_id": "d"})


def test_upload_result_round_trip() -> None:
    result = UploadResult(accepted=3, duplicates=2, last_seq=9)
    assert result.to_wire() == {"accepted": 3, "duplicates": 2, "last_seq": 9}
    assert UploadResult.from_wire(result.to_wire()) == result
    with pytest.raises(WireError, match="last_seq"):
        UploadResult.from_wire({"accepted": 1, "duplicates": 0, "last_seq": -1})


def test_canonical_bytes_are_the_sorted_compact_json_of_every_hashed_field() -> None:
    # canonical_bytes spells its fields out for speed: it must stay the generic definition.
    bare = dataclasses.replace(make_chain(1)[0], system_id=None, ticket_id=None, before=None)
    for record in [*make_chain(5), bare]:
        generic = {
            name: value
            for name, value in to_wire(record).items()
            if name not in ("hash", "signature")
        }
        expected = json.dumps(
            generic, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
        assert canonical_bytes(record) == expected


def test_reading_fresh_json_gives_the_same_records_and_the_same_errors() -> None:
    chain = make_chain(4)
    body = json.dumps({"device_id": chain[0].device_id, "records": [to_wire(r) for r in chain]})
    assert UploadBatch.from_wire(json.loads(body), fresh_json=True).records == tuple(chain)
    for field, value in (("before", [1]), ("after", "text"), ("seq", "1"), ("id", "x")):
        data = json.loads(body)
        data["records"][2][field] = value
        with pytest.raises(WireError) as fresh:
            UploadBatch.from_wire(data, fresh_json=True)
        with pytest.raises(WireError) as checked:
            UploadBatch.from_wire(json.loads(json.dumps(data)))
        assert fresh.value.field == checked.value.field == f"records[2].{field}"
