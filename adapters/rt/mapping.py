"""Pure mapping between RT REST2 payloads and the unified domain. No I/O.

Remote → domain: a ticket record, its transactions (:class:`RawTxn`, assembled by the adapter
from the history and the attachments) and the user records it names become a
:class:`~app.domain.Ticket`. ``Create`` and ``Correspond`` are public replies, ``Comment`` is an
internal note, ``Status`` is an event. RT dates are W3CDTF in UTC (``2024-03-05T08:15:30Z``) in
records and ``YYYY-MM-DD HH:MM:SS`` in collection fields; naive ones are read in the system's
configured zone. ``1970-01-01`` means "not set". A record that cannot be read becomes a
:class:`RecordError` naming system, stream, record and field.

Statuses (RT's default lifecycle): new → new, open → open, stalled → on_hold, resolved →
solved, rejected → closed, deleted → closed and deleted. Priorities are numbers; RT 5's default
``PriorityAsString`` names 0 Low, 50 Medium, 100 High — other numbers stay unknown.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters._formats.text import decode_bytes
from adapters._mapping import where
from app.domain import (
    Attachment,
    DecodeError,
    ErrorContext,
    Message,
    MessageKind,
    Person,
    Priority,
    RecordError,
    Status,
    Ticket,
    TicketKey,
)
from app.timeutil import parse_timestamp, zone

STREAM = "tickets"
DELETED = "deleted"
NOBODY = "Nobody"
NATIVE_STATUS: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "stalled": Status.ON_HOLD,
    "resolved": Status.SOLVED,
    "rejected": Status.CLOSED,
    DELETED: Status.CLOSED,
}
STATUS_NATIVE: dict[Status, str] = {
    Status.NEW: "new",
    Status.OPEN: "open",
    Status.PENDING: "stalled",  # RT has no "waiting for the customer" of its own
    Status.ON_HOLD: "stalled",
    Status.SOLVED: "resolved",
    Status.CLOSED: "rejected",
}
PRIORITIES: dict[str, Priority] = {
    "0": Priority.LOW,
    "50": Priority.NORMAL,
    "100": Priority.HIGH,
    "low": Priority.LOW,
    "medium": Priority.NORMAL,
    "high": Priority.HIGH,
}
MESSAGE_TYPES: dict[str, MessageKind] = {
    "Create": MessageKind.REPLY,
    "Correspond": MessageKind.REPLY,
    "Comment": MessageKind.NOTE,
}
EVENT_TYPES = frozenset({"Status"})
UNSET = datetime(1970, 1, 1, tzinfo=UTC)

Raw = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class RawTxn:
    """One history entry with its text and files, as the adapter assembled it."""

    id: str
    type: str
    created: object
    creator: str | None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    body: str = ""
    attachments: tuple[Attachment, ...] = ()


def text_value(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def uid_id(value: object) -> str | None:
    """The ``id`` of an RT object placeholder ``{"type", "id", "_url"}`` (or a bare id)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def record_id(raw: object) -> str | None:
    """A record's id as text; None unless it is a positive integer (or its digits)."""
    value = uid_id(raw.get("id")) if isinstance(raw, Mapping) else None
    return value if value is not None and value.isdigit() and int(value) > 0 else None


def rt_time(value: object, *, naive_zone: str = "UTC") -> datetime | None:
    """An RT date as aware UTC; None for RT's "not set" (1970-01-01). ``ValueError`` if bad."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"unreadable timestamp {value!r}")
    moment = parse_timestamp(value, naive_zone=naive_zone)
    return None if moment <= UNSET else moment


def to_rt_time(moment: datetime, *, naive_zone: str = "UTC") -> str:
    """``moment`` as ``YYYY-MM-DD HH:MM:SS`` in ``naive_zone`` (how TicketSQL reads dates)."""
    return moment.astimezone(zone(naive_zone)).strftime("%Y-%m-%d %H:%M:%S")


def _required_time(raw: Raw, key: str, ctx: ErrorContext, naive_zone: str, field: str) -> datetime:
    value = raw.get(key)
    try:
        moment = rt_time(value, naive_zone=naive_zone)
    except (ValueError, OverflowError) as exc:
        raise RecordError(f"{field} is unreadable: {value!r}", where(ctx, field)) from exc
    if moment is None:
        raise RecordError(f"{field} is not set", where(ctx, field))
    return moment


def map_status(native: object, ctx: ErrorContext) -> Status:
    """Unified status of an RT status; RecordError for a status RT's lifecycle lacks."""
    if isinstance(native, str) and native in NATIVE_STATUS:
        return NATIVE_STATUS[native]
    raise RecordError(f"unknown ticket status {native!r}", where(ctx, "Status"))


def map_priority(native: object) -> Priority | None:
    """Unified priority; None for numbers without a standard name (never a guess)."""
    if isinstance(native, int) and not isinstance(native, bool):
        native = str(native)
    return PRIORITIES.get(native.strip().lower()) if isinstance(native, str) else None


def person(name: str | None, users: Mapping[str, Raw]) -> Person | None:
    """The user ``name`` (RT login or e-mail); id-only when its record was not read."""
    if name is None or name == NOBODY:
        return None
    user = users.get(name, {})
    phone = next(
        (
            p
            for key in ("MobilePhone", "WorkPhone", "HomePhone")
            if (p := text_value(user.get(key)))
        ),
        None,
    )
    return Person(
        name=text_value(user.get("RealName")),
        email=text_value(user.get("EmailAddress")) or (name if "@" in name else None),
        phone=phone,
        external_id=name,
    )


def attachment_text(raw: Raw, ctx: ErrorContext) -> str:
    """The decoded ``Content`` of an attachment record (base64, in its declared charset)."""
    content = raw.get("Content")
    if not isinstance(content, str):
        return ""
    try:
        data = base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise RecordError("an attachment's Content is not base64", ctx) from exc
    headers = raw.get("Headers")
    charset = None
    if isinstance(headers, str) and "charset=" in headers.lower():
        start = headers.lower().index("charset=") + len("charset=")
        charset = headers[start:].split(";")[0].split()[0].strip("\"'")
    try:
        return decode_bytes(data, charset, context=ctx)
    except DecodeError as exc:
        raise RecordError(exc.message, exc.context) from exc


def message_parts(parts: Sequence[object]) -> tuple[Raw | None, tuple[Attachment, ...]]:
    """A message transaction's attachments: the part holding its text, and its files."""
    text_part: Raw | None = None
    files: list[Attachment] = []
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        content_type = text_value(part.get("ContentType")) or ""
        filename = text_value(part.get("Filename"))
        if filename:
            url = text_value(part.get("_url"))
            files.append(Attachment(filename, content_type or None, url=url))
        elif text_part is None and content_type in ("text/plain", "text/html"):
            text_part = part
    return text_part, tuple(files)


def raw_txn(raw: object, body: str = "", attachments: tuple[Attachment, ...] = ()) -> RawTxn | None:
    """A history entry (a transaction record or collection item) that becomes a message, with
    its text and files; None for the types that are not shown."""
    if not isinstance(raw, Mapping):
        return None
    txn_id = record_id(raw)
    kind = raw.get("Type")
    if txn_id is None or not isinstance(kind, str) or not is_shown(kind):
        return None
    if kind not in MESSAGE_TYPES:
        body, attachments = "", ()
    return RawTxn(
        id=txn_id,
        type=kind,
        created=raw.get("Created"),
        creator=uid_id(raw.get("Creator")),
        field=text_value(raw.get("Field")),
        old_value=text_value(raw.get("OldValue")),
        new_value=text_value(raw.get("NewValue")),
        body=body,
        attachments=attachments,
    )


def message(txn: RawTxn, users: Mapping[str, Raw], ctx: ErrorContext, naive_zone: str) -> Message:
    """One Create/Correspond/Comment/Status transaction as a message."""
    field = f"history[{txn.id}].Created"
    try:
        created = rt_time(txn.created, naive_zone=naive_zone)
    except (ValueError, OverflowError) as exc:
        raise RecordError(f"{field} is unreadable: {txn.created!r}", where(ctx, field)) from exc
    if created is None:
        raise RecordError(f"{field} is not set", where(ctx, field))
    if txn.type in EVENT_TYPES:
        kind = MessageKind.EVENT
        body = f"{txn.field or txn.type}: {txn.old_value or '—'} → {txn.new_value or '—'}"
    else:
        kind = MESSAGE_TYPES[txn.type]
        body = txn.body
    return Message(
        external_id=txn.id,
        kind=kind,
        body_text=body,
        created_at=created,
        author=person(txn.creator, users),
        attachments=txn.attachments,
    )


def is_shown(txn_type: object) -> bool:
    """True for the transaction types that become messages."""
    return txn_type in MESSAGE_TYPES or txn_type in EVENT_TYPES


def map_ticket(
    raw: object,
    history: Sequence[RawTxn],
    users: Mapping[str, Raw],
    *,
    queue: str | None,
    system_id: str,
    naive_zone: str = "UTC",
    offset: int | None = None,
) -> Ticket:
    """One ticket record with its history; raises RecordError when it cannot be read."""
    ticket_id = record_id(raw)
    ctx = ErrorContext(system=system_id, stream=STREAM, record_id=ticket_id, offset=offset)
    if ticket_id is None or not isinstance(raw, Mapping):
        raise RecordError("a ticket has no id", where(ctx, "id"))
    native = raw.get("Status")
    status = map_status(native, ctx)
    requestors = raw.get("Requestor")
    first = requestors[0] if isinstance(requestors, list) and requestors else None
    subject = raw.get("Subject")
    messages = tuple(message(txn, users, ctx, naive_zone) for txn in history if is_shown(txn.type))
    return Ticket(
        key=TicketKey(system_id, ticket_id),
        subject=subject if isinstance(subject, str) else "",
        status=status,
        native_status=str(native),
        created_at=_required_time(raw, "Created", ctx, naive_zone, "Created"),
        updated_at=_required_time(raw, "LastUpdated", ctx, naive_zone, "LastUpdated"),
        priority=map_priority(raw.get("Priority")),
        requester=person(uid_id(first), users),
        assignee=person(uid_id(raw.get("Owner")), users),
        queue=queue,
        deleted=native == DELETED,
        messages=messages,
    )


def user_names(raw: Raw, history: Sequence[RawTxn]) -> set[str]:
    """Every user a ticket and its shown history name (to read their records)."""
    names = {uid_id(raw.get("Owner"))}
    requestors = raw.get("Requestor")
    names.update(uid_id(r) for r in (requestors if isinstance(requestors, list) else ()))
    names.update(txn.creator for txn in history if is_shown(txn.type))
    return {n for n in names if n and n != NOBODY}
