"""Pure mapping from the portal's raw records to the unified model, and back for statuses.

No I/O. Naive portal times are read in the system's configured zone and returned as aware UTC.
A record that cannot be mapped raises ``RecordError`` naming the system, stream, record and field.
"""

from __future__ import annotations

import re
from datetime import datetime

from adapters.osticket.client import STREAM, RawEntry, RawTicket
from app.domain import (
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

DELETED = "deleted"
STATUS_FROM_NATIVE: dict[str, Status] = {
    "open": Status.OPEN,
    "awaiting_customer": Status.PENDING,
    "resolved": Status.SOLVED,
    "closed": Status.CLOSED,
    "archived": Status.CLOSED,
    DELETED: Status.CLOSED,  # and ``deleted=True``
}
# The portal has no "on hold"; such a request is refused rather than approximated.
STATUS_TO_NATIVE: dict[Status, str] = {
    Status.NEW: "open",
    Status.OPEN: "open",
    Status.PENDING: "awaiting_customer",
    Status.SOLVED: "resolved",
    Status.CLOSED: "closed",
}
PRIORITY_FROM_NATIVE: dict[str, Priority] = {
    "low": Priority.LOW,
    "normal": Priority.NORMAL,
    "high": Priority.HIGH,
    "emergency": Priority.URGENT,
}
ENTRY_KINDS: dict[str, MessageKind] = {
    "M": MessageKind.REPLY,  # customer message
    "R": MessageKind.REPLY,  # staff response
    "N": MessageKind.NOTE,  # internal note
}
_PORTAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
PORTAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _bad(message: str, system_id: str, record_id: str | None, field: str) -> RecordError:
    return RecordError(
        message,
        ErrorContext(system=system_id, stream=STREAM, record_id=record_id or None, field=field),
    )


def portal_time(value: str, *, naive_zone: str) -> datetime:
    """A portal timestamp (naive ``YYYY-MM-DD HH:MM:SS`` in ``naive_zone``) as aware UTC.

    Raises ``ValueError`` naming the value for anything else, including PHP's zero date.
    """
    if not _PORTAL_TIME.fullmatch(value):
        raise ValueError(f"unreadable timestamp {value!r}")
    return parse_timestamp(value, naive_zone=naive_zone)


def to_portal_time(moment: datetime, *, naive_zone: str) -> str:
    """Aware ``moment`` as the portal's naive local text (for the ``since`` parameter)."""
    return moment.astimezone(zone(naive_zone)).strftime(PORTAL_TIME_FORMAT)


def _time(value: str, *, naive_zone: str, system_id: str, record_id: str, field: str) -> datetime:
    try:
        return portal_time(value, naive_zone=naive_zone)
    except ValueError as exc:
        raise _bad(
            f"{field} is not a portal timestamp: {exc}", system_id, record_id, field
        ) from None


def _author(entry: RawEntry, raw: RawTicket) -> Person | None:
    if not entry.poster:
        return None
    email = None
    if entry.type == "M" and entry.poster == raw.user_name:
        email = raw.user_email or None
    elif entry.poster == raw.staff_name:
        email = raw.staff_email or None
    return Person(name=entry.poster, email=email)


def to_message(entry: RawEntry, raw: RawTicket, *, system_id: str, naive_zone: str) -> Message:
    """One thread entry as a :class:`Message`; unknown entry types become events."""
    where = f"thread/entry[{entry.id or '?'}]"
    if not entry.id:
        raise _bad("a thread entry has no id", system_id, raw.id, f"{where}/@id")
    return Message(
        external_id=entry.id,
        kind=ENTRY_KINDS.get(entry.type, MessageKind.EVENT),
        body_text=entry.body,
        created_at=_time(
            entry.created,
            naive_zone=naive_zone,
            system_id=system_id,
            record_id=raw.id,
            field=f"{where}/created",
        ),
        author=_author(entry, raw),
    )


def to_ticket(raw: RawTicket, *, system_id: str, naive_zone: str) -> Ticket:
    """A raw portal ticket as a :class:`Ticket` with its whole thread.

    Raises ``RecordError`` for a missing id, an unknown status or an unreadable timestamp.
    """
    if not raw.id:
        raise _bad("a ticket has no id", system_id, raw.number, "id")
    status = STATUS_FROM_NATIVE.get(raw.status)
    if status is None:
        raise _bad(f"unknown status {raw.status!r}", system_id, raw.id, "status")
    times = {
        name: _time(value, naive_zone=naive_zone, system_id=system_id, record_id=raw.id, field=name)
        for name, value in (("created", raw.created), ("updated", raw.updated))
    }
    assignee = (
        Person(name=raw.staff_name, email=raw.staff_email or None)
        if raw.staff_name or raw.staff_email
        else None
    )
    return Ticket(
        key=TicketKey(system_id, raw.id),
        subject=raw.subject,
        status=status,
        native_status=raw.status,
        created_at=times["created"],
        updated_at=times["updated"],
        priority=PRIORITY_FROM_NATIVE.get(raw.priority.lower()),
        requester=Person(
            name=raw.user_name or None,
            email=raw.user_email or None,
            phone=raw.user_phone or None,
        ),
        assignee=assignee,
        queue=raw.dept or None,
        deleted=raw.status == DELETED,
        messages=tuple(
            to_message(entry, raw, system_id=system_id, naive_zone=naive_zone)
            for entry in raw.entries
        ),
        extra={"number": raw.number} if raw.number else {},
    )


def native_status(status: Status) -> str | None:
    """The portal's status for a unified one, or None when the portal has no equivalent."""
    return STATUS_TO_NATIVE.get(status)
