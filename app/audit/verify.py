"""Checking an audit chain: the local journal, the backend's copy, and the two against each other.

Finds the first record where an edit, deletion, insertion or reordering breaks the chain (by
hash links and seq), a record not signed by the device's key, and differences between the
journal and the backend (a record changed on one side, or missing from one side: deleting the
journal's newest records leaves the chain intact locally, but not next to the backend's copy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, select

from app.audit.signature import BadKey, load_public_key, signature_valid
from app.audit.wire import AuditRecord, WireError, find_chain_break, from_wire
from app.cache.schema import audit_log

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Finding:
    """The first thing wrong with a chain: where (seq, record id) and what."""

    seq: int
    record_id: str
    problem: str
    message: str

    def describe(self) -> str:
        """``seq 17 (record 5c1e…): the hash does not match the record's content``."""
        return f"seq {self.seq} (record {self.record_id}): {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    """What a verification found: how many records and the first problem, if any."""

    records: int
    finding: Finding | None

    @property
    def intact(self) -> bool:
        """Whether nothing was wrong."""
        return self.finding is None


def read_journal(conn: Connection) -> tuple[list[AuditRecord], Finding | None]:
    """The journal's records in stored seq order; a row that is not a readable record (or whose
    columns disagree with its record) is a finding and stops the reading there."""
    records: list[AuditRecord] = []
    rows = conn.execute(
        select(
            audit_log.c.seq, audit_log.c.record_id, audit_log.c.record, audit_log.c.hash
        ).order_by(audit_log.c.seq)
    )
    for row in rows:
        try:
            record = from_wire(row.record)
        except (WireError, TypeError, ValueError) as exc:
            return records, Finding(row.seq, row.record_id, "malformed", f"unreadable ({exc})")
        if (record.seq, record.id, record.hash) != (row.seq, row.record_id, row.hash):
            return records, Finding(
                row.seq,
                row.record_id,
                "row_mismatch",
                f"the stored row (seq {row.seq}, hash {row.hash[:12]}…) does not match its "
                f"record (seq {record.seq}, record {record.id}, hash {record.hash[:12]}…)",
            )
        records.append(record)
    return records, None


def verify_records(records: Sequence[AuditRecord], public_key: str | None) -> Finding | None:
    """The first broken link or bad signature in a device's chain starting at seq 1.

    ``public_key`` None skips the signature check (no key known to check against).
    """
    broken = find_chain_break(records)
    limit = broken.index if broken else len(records)
    if public_key is not None:
        try:
            key = load_public_key(public_key)
        except BadKey as exc:
            first = records[0] if records else None
            return Finding(first.seq if first else 0, first.id if first else "-", "key", str(exc))
        for record in records[:limit]:
            if not signature_valid(record, key):
                what = "is not signed" if record.signature is None else "has a bad signature"
                return Finding(
                    record.seq,
                    record.id,
                    "bad_signature",
                    f"{what} (not by the device's key)",
                )
    if broken:
        return Finding(broken.seq, broken.record_id, broken.problem, broken.message)
    return None


def earliest(*findings: Finding | None) -> Finding | None:
    """The finding with the lowest seq (None when there is none)."""
    found = [finding for finding in findings if finding is not None]
    return min(found, key=lambda finding: finding.seq) if found else None


def compare(local: Sequence[AuditRecord], remote: Sequence[AuditRecord]) -> Finding | None:
    """The first seq where the journal and the backend's copy differ.

    Only records the backend has can be compared: the journal may hold newer ones not yet
    uploaded, but the backend must not hold any the journal lacks.
    """
    by_seq = {record.seq: record for record in local}
    for theirs in remote:
        ours = by_seq.get(theirs.seq)
        if ours is None:
            return Finding(
                theirs.seq,
                theirs.id,
                "missing_locally",
                "is on the backend but not in the local journal (deleted locally)",
            )
        if ours.hash != theirs.hash or ours.id != theirs.id:
            return Finding(
                theirs.seq,
                theirs.id,
                "differs",
                f"differs between the journal (record {ours.id}, hash {ours.hash[:12]}…) and "
                f"the backend (hash {theirs.hash[:12]}…)",
            )
    return None


def fetch_backend_chain(
    client: httpx.Client, device_id: str
) -> tuple[list[AuditRecord], str | None, Finding | None]:
    """The backend's copy of ``device_id``'s chain, its registered public key, and a finding
    for a record the backend returned that is not readable. ``httpx.HTTPStatusError`` for a
    refusal (401, 403, 404)."""
    records: list[AuditRecord] = []
    public_key: str | None = None
    for page in _pages(lambda after: _get_page(client, device_id, after)):
        public_key = page.get("public_key")
        for raw in page["records"]:
            try:
                records.append(from_wire(raw))
            except WireError as exc:
                seq = raw.get("seq", 0) if isinstance(raw, dict) else 0
                rid = raw.get("id", "-") if isinstance(raw, dict) else "-"
                return records, public_key, Finding(seq, rid, "malformed", str(exc))
    return records, public_key, None


def _get_page(client: httpx.Client, device_id: str, after_seq: int) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/devices/{device_id}/records", params={"after_seq": after_seq, "limit": PAGE}
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _pages(get: Callable[[int], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        page = get(after)
        yield page
        records = page["records"]
        assert isinstance(records, list)
        if not records:
            return
        last = records[-1]
        after = int(last["seq"]) if isinstance(last, dict) else after
