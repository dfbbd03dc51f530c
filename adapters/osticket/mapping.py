"""Pure mapping from the portal's raw records to the unified model, and back for statuses.

No I/O. Naive portal times are read in the system's configured zone and returned as aware UTC.
A record that cannot be mapped raises ``RecordError`` naming the system, stream, record and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain, repeat
from operator import attrgetter, sub

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
from app.timeutil import zone

# C-level readers of the raw records' times (``PageCache.read_times``): tickets and entries.
_CREATED, _UPDATED, _ENTRIES = attrgetter("created"), attrgetter("updated"), attrgetter("entries")

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
_EVENT = MessageKind.EVENT  # a global is cheaper than an enum lookup
_PORTAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
# ASCII digits only (what fromisoformat reads): twice as fast as Unicode digits over a page.
_PORTAL_TIMES = re.compile(rf"(?:{_PORTAL_TIME.pattern}\x00)*{_PORTAL_TIME.pattern}", re.ASCII)
_UTC_SUFFIX = repeat("+00:00")
PORTAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _bad(message: str, system_id: str, record_id: str | None, field: str) -> RecordError:
    return RecordError(
        message,
        ErrorContext(system=system_id, stream=STREAM, record_id=record_id or None, field=field),
    )


def portal_time(value: str, *, naive_zone: str) -> datetime:
    """A portal timestamp (naive ``YYYY-MM-DD HH:MM:SS`` in ``naive_zone``) as aware UTC.

    Raises ``ValueError`` naming the value for anything else, including PHP's zero date.
    The same reading as ``parse_timestamp``, without its format checks (the pattern already
    made them): the wall time read as UTC, the zone's offset at that wall time taken off.
    """
    if not _PORTAL_TIME.fullmatch(value):
        raise ValueError(f"unreadable timestamp {value!r}")
    try:
        wall = datetime.fromisoformat(value + "+00:00")
    except ValueError:  # a date that does not exist (month 13, year 0)
        raise ValueError(f"unreadable timestamp {value!r}") from None
    offset = zone(naive_zone).utcoffset(wall)  # reads the wall time, not the tzinfo
    return wall - offset if offset else wall


def to_portal_time(moment: datetime, *, naive_zone: str) -> str:
    """Aware ``moment`` as the portal's naive local text (for the ``since`` parameter)."""
    return moment.astimezone(zone(naive_zone)).strftime(PORTAL_TIME_FORMAT)


class PageCache:
    """What the tickets of one page share, each built once: people and read timestamps.

    Both are immutable values. A portal ticket's ``created`` is its first entry's time and its
    ``updated`` usually the last one's, so a page holds many times twice.
    """

    __slots__ = ("_people", "_times")

    def __init__(self) -> None:
        self._people: dict[tuple[str | None, str | None, str | None], Person] = {}
        self._times: dict[str, dict[str, datetime]] = {}

    def person(
        self, name: str | None, email: str | None = None, phone: str | None = None
    ) -> Person:
        """``Person(name, email, phone)``, the same object for the same values."""
        key = (name, email, phone)
        found = self._people.get(key)
        if found is None:
            found = self._people[key] = Person(name=name, email=email, phone=phone)
        return found

    def times(self, naive_zone: str) -> dict[str, datetime]:
        """The times read so far in ``naive_zone``, by their text (see :func:`_time`)."""
        found = self._times.get(naive_zone)
        if found is None:
            found = self._times[naive_zone] = {}
        return found

    def time(self, value: str, naive_zone: str) -> datetime:
        """:func:`portal_time` of ``value``; raises ``ValueError`` the same way."""
        times = self.times(naive_zone)
        found = times.get(value)
        if found is None:
            found = times[value] = portal_time(value, naive_zone=naive_zone)
        return found

    def read_times(self, raws: Sequence[RawTicket], naive_zone: str) -> None:
        """Read every timestamp of ``raws`` at once, by C-level ``map`` calls over them all.

        Only texts :func:`portal_time` reads are kept: the others are met again, one by one,
        when their ticket is mapped, and reported then.
        """
        times = self.times(naive_zone)
        texts = set(map(_CREATED, raws))
        texts.update(map(_UPDATED, raws))
        texts.update(map(_CREATED, chain.from_iterable(map(_ENTRIES, raws))))
        values = list(texts.difference(times))
        if not values:
            return
        # NUL parts the texts: no XML text contains one.
        if _PORTAL_TIMES.fullmatch("\x00".join(values)):
            try:
                walls = list(map(datetime.fromisoformat, map(str.__add__, values, _UTC_SUFFIX)))
            except ValueError:  # a date that does not exist: one by one below
                pass
            else:
                offsets = list(map(zone(naive_zone).utcoffset, walls))
                if None not in offsets:
                    times.update(zip(values, map(sub, walls, offsets), strict=True))
                    return
        for value in values:
            try:
                times[value] = portal_time(value, naive_zone=naive_zone)
            except ValueError:
                continue


def _time(
    value: str,
    times: dict[str, datetime],
    naive_zone: str,
    system_id: str,
    record_id: str,
    field: str,
) -> datetime:
    """:func:`portal_time` of ``value``, kept in ``times``; a RecordError naming ``field``."""
    found = times.get(value)
    if found is None:
        try:
            found = times[value] = portal_time(value, naive_zone=naive_zone)
        except ValueError as exc:
            raise _bad(
                f"{field} is not a portal timestamp: {exc}", system_id, record_id, field
            ) from None
    return found


def to_message(entry: RawEntry, raw: RawTicket, *, system_id: str, naive_zone: str) -> Message:
    """One thread entry as a :class:`Message`; unknown entry types become events."""
    return _messages((entry,), raw, system_id, naive_zone, PageCache())[0]


def _messages(
    entries: Iterable[RawEntry],
    raw: RawTicket,
    system_id: str,
    naive_zone: str,
    cache: PageCache,
) -> tuple[Message, ...]:
    """The thread of ``raw``: one loop over its entries (this runs for every entry of a sync).

    A poster's e-mail is known when they are the ticket's customer (on a customer message)
    or its assigned agent.
    """
    times = cache.times(naive_zone)
    people = cache._people
    user_name, staff_name = raw.user_name, raw.staff_name
    user_email, staff_email = raw.user_email or None, raw.staff_email or None
    messages = []
    for entry_id, kind, poster, created, body in entries:
        if not entry_id:
            raise _bad("a thread entry has no id", system_id, raw.id, "thread/entry[?]/@id")
        created_at = times.get(created)
        if created_at is None:
            field = f"thread/entry[{entry_id}]/created"
            created_at = _time(created, times, naive_zone, system_id, raw.id, field)
        author = None
        if poster:
            if kind == "M" and poster == user_name:
                key = (poster, user_email, None)
            elif poster == staff_name:
                key = (poster, staff_email, None)
            else:
                key = (poster, None, None)
            author = people.get(key) or cache.person(*key)
        messages.append(Message(entry_id, ENTRY_KINDS.get(kind, _EVENT), body, created_at, author))
    return tuple(messages)


def to_ticket(
    raw: RawTicket, *, system_id: str, naive_zone: str, cache: PageCache | None = None
) -> Ticket:
    """A raw portal ticket as a :class:`Ticket` with its whole thread.

    Raises ``RecordError`` for a missing id, an unknown status or an unreadable timestamp.
    ``cache`` shares people and times across the tickets of a page (one per page; see
    :meth:`PageCache.read_times`).
    """
    if not raw.id:
        raise _bad("a ticket has no id", system_id, raw.number, "id")
    status = STATUS_FROM_NATIVE.get(raw.status)
    if status is None:
        raise _bad(f"unknown status {raw.status!r}", system_id, raw.id, "status")
    cache = cache or PageCache()
    times = cache.times(naive_zone)
    created_at = times.get(raw.created) or _time(
        raw.created, times, naive_zone, system_id, raw.id, "created"
    )
    updated_at = times.get(raw.updated) or _time(
        raw.updated, times, naive_zone, system_id, raw.id, "updated"
    )
    assignee = (
        cache.person(raw.staff_name, raw.staff_email or None)
        if raw.staff_name or raw.staff_email
        else None
    )
    return Ticket(
        TicketKey(system_id, raw.id),
        raw.subject,
        status,
        raw.status,
        created_at,
        updated_at,
        PRIORITY_FROM_NATIVE.get(raw.priority.lower()),
        cache.person(raw.user_name or None, raw.user_email or None, raw.user_phone or None),
        assignee,
        raw.dept or None,
        (),
        raw.status == DELETED,
        _messages(raw.entries, raw, system_id, naive_zone, cache) if raw.entries else (),
        {"number": raw.number} if raw.number else {},
    )


def native_status(status: Status) -> str | None:
    """The portal's status for a unified one, or None when the portal has no equivalent."""
    return STATUS_TO_NATIVE.get(status)
