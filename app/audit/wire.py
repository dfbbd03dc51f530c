"""The audit wire schema shared by the client and the backend. Pure Python, stdlib only.

Every agent action becomes one :class:`AuditRecord`. A device numbers its records ``seq`` 1, 2,
3, ... with no gaps, and each record carries the hash of the one before it (``prev_hash``;
:data:`GENESIS_HASH` for seq 1), so an edit, deletion, insertion or reordering anywhere breaks
the chain at a point :func:`verify_chain` can name.

The hash is the sha256 of :func:`canonical_bytes`: compact JSON with sorted keys of every field
except ``hash`` and ``signature``, UTF-8, timestamps as ``2026-12-03T14:51:40.123456Z``.
A record is immutable once hashed: a later outcome of the same action (``delivered`` after
``pending``) is a new record, never an update.

Upload shapes (JSON)::

    POST body   {"device_id": "...", "records": [<to_wire(record)>, ...]}
    response    {"accepted": n, "duplicates": n, "last_seq": n}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, get_args

__all__ = [
    "FIELD_NAMES",
    "GENESIS_HASH",
    "MAX_ACTION_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_SEQ",
    "MAX_SIGNATURE_LENGTH",
    "MAX_VERSION_LENGTH",
    "OUTCOMES",
    "AuditRecord",
    "ChainBreak",
    "ChainTip",
    "Outcome",
    "UploadBatch",
    "UploadResult",
    "WireError",
    "canonical_bytes",
    "compute_hash",
    "find_chain_break",
    "from_wire",
    "new_record",
    "seal",
    "to_wire",
    "verify_chain",
]

Outcome = Literal["pending", "delivered", "failed", "compensated"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

GENESIS_HASH = "0" * 64
"""``prev_hash`` of every device's first record (seq 1)."""

MAX_NAME_LENGTH = 200
"""Longest ``device_id``, ``agent``, ``system_id`` and ``ticket_id``."""
MAX_ACTION_LENGTH = 64
MAX_VERSION_LENGTH = 64
MAX_SIGNATURE_LENGTH = 256
MAX_SEQ = 2**63 - 1

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UNHASHED = frozenset({"hash", "signature"})
_OPTIONAL_ON_WIRE = frozenset({"signature"})


class WireError(ValueError):
    """A payload that does not follow the wire schema; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def within(self, prefix: str) -> WireError:
        """The same error, located inside ``prefix`` (``records[3]`` + ``seq``)."""
        return WireError(f"{prefix}.{self.field}", self.problem)


class ChainTip(NamedTuple):
    """The last link of a chain: what the next record continues from."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited agent action. Construction validates every field (:class:`WireError`)."""

    id: str
    device_id: str
    seq: int
    agent: str
    occurred_at: datetime
    system_id: str | None
    ticket_id: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: Outcome
    client_version: str
    prev_hash: str
    hash: str
    signature: str | None = None
    """Per-device Ed25519 signature (a later issue); not part of the hash."""

    def __post_init__(self) -> None:
        _check_uuid("id", self.id)
        _check_text("device_id", self.device_id, MAX_NAME_LENGTH)
        _check_seq("seq", self.seq)
        _check_text("agent", self.agent, MAX_NAME_LENGTH)
        object.__setattr__(self, "occurred_at", _check_time("occurred_at", self.occurred_at))
        _check_text("system_id", self.system_id, MAX_NAME_LENGTH, optional=True)
        _check_text("ticket_id", self.ticket_id, MAX_NAME_LENGTH, optional=True)
        _check_text("action", self.action, MAX_ACTION_LENGTH)
        object.__setattr__(self, "before", _check_json_object("before", self.before))
        object.__setattr__(self, "after", _check_json_object("after", self.after))
        if self.outcome not in OUTCOMES:
            raise WireError("outcome", f"{self.outcome!r} is not one of {', '.join(OUTCOMES)}")
        _check_text("client_version", self.client_version, MAX_VERSION_LENGTH)
        _check_hex("prev_hash", self.prev_hash)
        _check_hex("hash", self.hash)
        _check_text("signature", self.signature, MAX_SIGNATURE_LENGTH, optional=True)
        if self.seq == 1 and self.prev_hash != GENESIS_HASH:
            raise WireError("prev_hash", "the first record (seq 1) must have the genesis prev_hash")

    @property
    def tip(self) -> ChainTip:
        """This record as the tip the next record continues from."""
        return ChainTip(self.seq, self.hash)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AuditRecord))
_FIELD_SET = frozenset(FIELD_NAMES)


def hashed_fields(record: AuditRecord) -> dict[str, Any]:
    """What a record's hash and signature are over: every field but ``hash`` and ``signature``,
    the time as ISO-8601 ``Z`` text (:func:`canonical_bytes` writes it; the backend's faster
    encoder writes the same object)."""
    # The record's dicts are private plain-JSON copies (checked at construction): used as is.
    # Spelled out rather than looped over FIELD_NAMES: this runs for every record uploaded.
    return {
        "action": record.action,
        "after": record.after,
        "agent": record.agent,
        "before": record.before,
        "client_version": record.client_version,
        "device_id": record.device_id,
        "id": record.id,
        "occurred_at": _format_time(record.occurred_at),
        "outcome": record.outcome,
        "prev_hash": record.prev_hash,
        "seq": record.seq,
        "system_id": record.system_id,
        "ticket_id": record.ticket_id,
    }


def canonical_bytes(record: AuditRecord) -> bytes:
    """Sorted-key compact UTF-8 JSON of :func:`hashed_fields`."""
    return _dump(hashed_fields(record)).encode("utf-8")


def compute_hash(record: AuditRecord) -> str:
    """sha256 hex of :func:`canonical_bytes` (what ``record.hash`` must be)."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def seal(record: AuditRecord) -> AuditRecord:
    """``record`` with its ``hash`` recomputed from its content."""
    return dataclasses.replace(record, hash=compute_hash(record))


def to_wire(record: AuditRecord) -> dict[str, Any]:
    """The JSON object for ``record`` (all fields, timestamps as ISO-8601 ``Z``)."""
    return {name: _wire_value(record, name) for name in FIELD_NAMES}


def from_wire(data: object, *, fresh_json: bool = False) -> AuditRecord:
    """Read one record from its JSON object; :class:`WireError` names the bad field.

    Structure only: whether ``hash`` matches the content is :func:`compute_hash`'s business.
    ``fresh_json=True`` says that ``data`` was just made by a JSON parser that refuses NaN and
    Infinity and that nobody else holds it: its ``before`` and ``after`` objects are then plain
    JSON already and become the record's own without the checking copy (the backend's upload
    path, where that copy was a third of the cost of reading a record).
    """
    if not isinstance(data, Mapping):
        raise WireError("record", "expected a JSON object")
    if len(data) != len(FIELD_NAMES) or not _FIELD_SET.issuperset(data):
        unknown = sorted(str(key) for key in data if key not in _FIELD_SET)
        if unknown:
            raise WireError(unknown[0], "unknown field")
        missing = [
            name for name in FIELD_NAMES if name not in data and name not in _OPTIONAL_ON_WIRE
        ]
        if missing:
            raise WireError(missing[0], "missing")
    values = {name: data[name] for name in FIELD_NAMES if name in data}
    values["occurred_at"] = _parse_time("occurred_at", values["occurred_at"])
    before, after = values["before"], values["after"]
    if not fresh_json or not _plain_or_none(before) or not _plain_or_none(after):
        return AuditRecord(**values)
    values["before"] = values["after"] = None
    record = AuditRecord(**values)
    object.__setattr__(record, "before", before)  # the checks above stand for the copy
    object.__setattr__(record, "after", after)
    return record


def _plain_or_none(value: object) -> bool:
    return value is None or type(value) is dict


def new_record(
    previous: AuditRecord | ChainTip | None,
    *,
    device_id: str,
    agent: str,
    action: str,
    client_version: str,
    system_id: str | None = None,
    ticket_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    outcome: Outcome = "pending",
    occurred_at: datetime | None = None,
    record_id: str | None = None,
) -> AuditRecord:
    """The sealed record that follows ``previous`` (None: the device's first record).

    ``occurred_at`` defaults to now (UTC), ``record_id`` to a fresh UUID4. ``before`` and
    ``after`` are copied, so later changes to the caller's dicts do not touch the record.
    """
    if isinstance(previous, AuditRecord) and previous.device_id != device_id:
        raise ValueError(
            f"device_id {device_id!r} cannot continue the chain of device {previous.device_id!r}"
        )
    draft = AuditRecord(
        id=record_id or str(uuid.uuid4()),
        device_id=device_id,
        seq=previous.seq + 1 if previous else 1,
        agent=agent,
        occurred_at=occurred_at or datetime.now(UTC),
        system_id=system_id,
        ticket_id=ticket_id,
        action=action,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        outcome=outcome,
        client_version=client_version,
        prev_hash=previous.hash if previous else GENESIS_HASH,
        hash=GENESIS_HASH,
    )
    return seal(draft)


ChainProblem = Literal["hash_mismatch", "device_mismatch", "seq_gap", "seq_repeated", "prev_hash"]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where and why a chain breaks: ``records[index]`` is the first bad link."""

    index: int
    seq: int
    record_id: str
    problem: ChainProblem
    message: str


def find_chain_break(
    records: Sequence[AuditRecord], *, after: AuditRecord | ChainTip | None = None
) -> ChainBreak | None:
    """The first record that breaks the chain, or None when it is intact.

    Without ``after`` the records must start at seq 1; with it they must continue ``after``.
    All records must belong to one device.
    """
    expected = after.tip if isinstance(after, AuditRecord) else after or ChainTip(0, GENESIS_HASH)
    device = after.device_id if isinstance(after, AuditRecord) else None
    for index, record in enumerate(records):
        device = device or record.device_id
        problem: tuple[ChainProblem, str] | None = None
        if compute_hash(record) != record.hash:
            problem = ("hash_mismatch", "the hash does not match the record's content")
        elif record.device_id != device:
            problem = ("device_mismatch", f"belongs to device {record.device_id!r}, not {device!r}")
        elif record.seq > expected.seq + 1:
            problem = ("seq_gap", f"seq {record.seq} follows seq {expected.seq}")
        elif record.seq <= expected.seq:
            problem = ("seq_repeated", f"seq {record.seq} again after seq {expected.seq}")
        elif record.prev_hash != expected.hash:
            problem = ("prev_hash", f"prev_hash is not the hash of seq {expected.seq}")
        if problem:
            return ChainBreak(index, record.seq, record.id, problem[0], problem[1])
        expected = record.tip
    return None


def verify_chain(
    records: Sequence[AuditRecord], *, after: AuditRecord | ChainTip | None = None
) -> int | None:
    """Index of the first record that breaks the chain, None when intact (see
    :func:`find_chain_break`)."""
    broken = find_chain_break(records, after=after)
    return broken.index if broken else None


@dataclass(frozen=True, slots=True)
class UploadBatch:
    """``POST /api/v1/audit/batches`` body: consecutive records of one device."""

    device_id: str
    records: tuple[AuditRecord, ...]

    def __post_init__(self) -> None:
        _check_text("device_id", self.device_id, MAX_NAME_LENGTH)
        for index, record in enumerate(self.records):
            if record.device_id != self.device_id:
                raise WireError(
                    f"records[{index}].device_id",
                    f"{record.device_id!r} differs from the batch's device {self.device_id!r}",
                )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"device_id": self.device_id, "records": [to_wire(r) for r in self.records]}

    @classmethod
    def from_wire(cls, data: object, *, fresh_json: bool = False) -> UploadBatch:
        """Read a body; :class:`WireError` names the bad field (``records[2].seq``).

        ``fresh_json``: as for :func:`from_wire`, for every record."""
        if not isinstance(data, Mapping):
            raise WireError("batch", "expected a JSON object")
        unknown = sorted(str(key) for key in data if key not in ("device_id", "records"))
        if unknown:
            raise WireError(unknown[0], "unknown field")
        raw_records = data.get("records")
        if not isinstance(raw_records, list):
            raise WireError("records", "expected a list")
        records = []
        for index, raw in enumerate(raw_records):
            try:
                records.append(from_wire(raw, fresh_json=fresh_json))
            except WireError as exc:
                raise exc.within(f"records[{index}]") from None
        return cls(device_id=data.get("device_id"), records=tuple(records))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The response to an upload. ``last_seq`` is the device's highest stored seq (0: none)."""

    accepted: int
    duplicates: int
    last_seq: int

    def to_wire(self) -> dict[str, int]:
        """The JSON body."""
        return {"accepted": self.accepted, "duplicates": self.duplicates, "last_seq": self.last_seq}

    @classmethod
    def from_wire(cls, data: object) -> UploadResult:
        """Read a response body; :class:`WireError` names the bad field."""
        if not isinstance(data, Mapping):
            raise WireError("result", "expected a JSON object")
        values = {}
        for name in ("accepted", "duplicates", "last_seq"):
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise WireError(name, "expected a non-negative integer")
            values[name] = value
        return cls(**values)


# -- field checks -------------------------------------------------------------------------


def _check_text(name: str, value: object, max_length: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise WireError(name, "expected a string" + (" or null" if optional else ""))
    if not value.strip():
        raise WireError(name, "must not be empty")
    if len(value) > max_length:
        raise WireError(name, f"longer than {max_length} characters")


def _check_uuid(name: str, value: object) -> None:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return  # exactly the text str(uuid.UUID(value)) gives: the check below, done quicker
    _check_text(name, value, 36)
    try:
        canonical = str(uuid.UUID(str(value)))
    except ValueError:
        raise WireError(name, f"{value!r} is not a UUID") from None
    if canonical != value:
        raise WireError(name, f"write the UUID as {canonical!r}")


def _check_seq(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError(name, "expected an integer")
    if not 1 <= value <= MAX_SEQ:
        raise WireError(name, f"{value} is out of range (1 to {MAX_SEQ})")


def _check_hex(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise WireError(name, "expected 64 lowercase hex digits (sha256)")


def _check_time(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise WireError(name, "expected a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise WireError(name, "naive datetime where aware UTC was expected")
    return value.astimezone(UTC)


def _check_json_object(name: str, value: object) -> dict[str, Any] | None:
    """A private copy of ``value`` after checking that it is plain JSON (or None)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireError(name, "expected a JSON object or null")
    try:
        copy = json.loads(_dump(value))
    except (TypeError, ValueError) as exc:
        raise WireError(name, f"not plain JSON ({exc})") from None
    if copy != value:
        raise WireError(name, "not plain JSON (only str keys, lists, numbers, strings, bools)")
    return copy  # type: ignore[no-any-return]


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""Built once: ``json.dumps`` with these options would build a new encoder on every call."""


def _dump(value: object) -> str:
    return _ENCODER.encode(value)


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is UTC:  # every record's time (checked at construction): "+00:00" -> "Z"
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_time(name: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise WireError(name, "expected an ISO-8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WireError(name, f"unreadable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        raise WireError(name, f"timestamp {value!r} has no zone (write it with Z)")
    return parsed.astimezone(UTC)


def _wire_value(record: AuditRecord, name: str, *, copy: bool = True) -> Any:
    value = getattr(record, name)
    if isinstance(value, datetime):
        return _format_time(value)
    if isinstance(value, dict) and copy:
        return json.loads(_dump(value))
    return value
