"""Pure mapping of Freshdesk export rows onto the unified model. No I/O.

Columns are found by alias, case-insensitively, so export versions that rename a column
("Last update time" → "Last updated time", "Email" → "Requester email") read the same.

Statuses (Freshdesk's defaults; ``native_status`` keeps the export's own name):

============================  ==========  ==============================================
Freshdesk                     unified     why
============================  ==========  ==============================================
Open                          open        an agent has to act
Pending                       pending     the agent answered and waits
Waiting on Customer           pending     the ball is with the customer, as in "pending"
Waiting on Third Party        on_hold     blocked on someone outside the conversation
Resolved                      solved
Closed                        closed
any other (custom) status     open        still active; never hidden from the queue
============================  ==========  ==============================================

Priorities: Low, Medium, High, Urgent → low, normal, high, urgent; anything else → None.
The ``Description`` becomes one public message from the requester, dated at "Created time",
with the stable id ``<ticket id>-description``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter, sub
from typing import TypeVar, cast

from adapters._formats.tabular import Header, Row
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
from app.timeutil import iso_z_of, parse_timestamp, zone

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "id": ("Ticket ID", "Ticket Id", "ID"),
    "subject": ("Subject",),
    "description": ("Description", "Description text"),
    "status": ("Status",),
    "priority": ("Priority",),
    "source": ("Source",),
    "type": ("Type", "Ticket type"),
    "agent": ("Agent", "Assigned agent"),
    "group": ("Group",),
    "created": ("Created time", "Created at"),
    "due_by": ("Due by Time",),
    "resolved": ("Resolved time",),
    "closed": ("Closed time",),
    "updated": ("Last update time", "Last updated time", "Updated time"),
    "first_response": ("Initial response time",),
    "time_tracked": ("Time tracked",),
    "resolution_status": ("Resolution status",),
    "first_response_status": ("First response status",),
    "tags": ("Tags",),
    "survey": ("Survey results",),
    "name": ("Full name", "Requester name", "Contact name"),
    "email": ("Email", "Requester email", "Contact email"),
    "work_phone": ("Work phone",),
    "mobile_phone": ("Mobile phone",),
    "contact_id": ("Contact ID", "Requester ID"),
    "company": ("Company Name", "Company"),
}
"""Canonical key → the column names it goes by in the export versions we know."""

REQUIRED = ("id", "subject", "status", "created", "updated")
"""Without these a row cannot become a ticket."""

STATUSES: Mapping[str, Status] = {
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "waiting on customer": Status.PENDING,
    "waiting on third party": Status.ON_HOLD,
    "resolved": Status.SOLVED,
    "closed": Status.CLOSED,
}
PRIORITIES: Mapping[str, Priority] = {
    "low": Priority.LOW,
    "medium": Priority.NORMAL,
    "high": Priority.HIGH,
    "urgent": Priority.URGENT,
}
_TICKET_ID = re.compile(r"[0-9]+")
# extra key -> canonical column, copied as text when not empty
_EXTRA_TEXT = {
    "source": "source",
    "type": "type",
    "time_tracked": "time_tracked",
    "resolution_status": "resolution_status",
    "first_response_status": "first_response_status",
    "survey": "survey",
    "company": "company",
}
# extra key -> canonical column of an optional time, stored as ISO-8601 UTC
_EXTRA_TIMES = {
    "due_by": "due_by",
    "resolved_at": "resolved",
    "closed_at": "closed",
    "first_response_at": "first_response",
}

Columns = Mapping[str, str]
"""Canonical key → the header's spelling, for the columns a file has."""


def resolve_columns(header: Header) -> dict[str, str]:
    """Which of the known columns ``header`` has, under which spelling."""
    found: dict[str, str] = {}
    for key, aliases in COLUMNS.items():
        name = header.find(*aliases)
        if name is not None:
            found[key] = name
    return found


def missing_columns(columns: Columns) -> list[str]:
    """The required columns a file lacks, by their usual name."""
    return [COLUMNS[key][0] for key in REQUIRED if key not in columns]


def map_status(native: str) -> Status:
    """Unified status of a Freshdesk status name (custom statuses count as open)."""
    return STATUSES.get(" ".join(native.split()).casefold(), Status.OPEN)


def map_priority(native: str) -> Priority | None:
    """Unified priority of a Freshdesk priority name; None when unknown or empty."""
    return PRIORITIES.get(native.strip().casefold())


def map_row(
    row: Row,
    columns: Columns,
    *,
    system_id: str,
    file: str,
    naive_zone: str,
) -> Ticket:
    """The ticket of one export row; ``RecordError`` naming file, line, column when it is bad.

    For many rows of one file, build one :class:`RowMapper` instead.
    """
    mapper = RowMapper(row.header, columns, system_id=system_id, file=file, naive_zone=naive_zone)
    return mapper.map(row)


_KEYS = tuple(COLUMNS)
_AT = {key: index for index, key in enumerate(_KEYS)}  # canonical key -> index in a row's values
_EXTRA_TEXT_AT = tuple((extra, _AT[column]) for extra, column in _EXTRA_TEXT.items())
_EXTRA_TIMES_AT = tuple((extra, column, _AT[column]) for extra, column in _EXTRA_TIMES.items())
_REPLY = MessageKind.REPLY  # a global is cheaper than an enum lookup
# ``RowMapper.map_cells`` unpacks a row's values by these positions of COLUMNS' keys.
if _KEYS[:5] != ("id", "subject", "description", "status", "priority") or _KEYS[20:25] != (
    "name",
    "email",
    "work_phone",
    "mobile_phone",
    "contact_id",
):
    raise RuntimeError("RowMapper expects COLUMNS in their documented order")
_STATUS, _PRIORITY, _AGENT, _GROUP, _TAGS, _NAME, _CONTACT_ID, _CREATED, _UPDATED = (
    _AT[key]
    for key in (
        "status",
        "priority",
        "agent",
        "group",
        "tags",
        "name",
        "contact_id",
        "created",
        "updated",
    )
)
_EXTRA_KEYS = (
    *_EXTRA_TEXT,
    *(extra for extra, _column, _at in _EXTRA_TIMES_AT),
    "mobile_phone",
    "export_file",
)
# How ``map_block`` trims each column. _ONCE: the values repeat from row to row (statuses,
# groups, channels), so each spelling is trimmed once per file and every row holds that one
# text: a file's tickets keep one copy of "Waiting on Customer" instead of one per row.
# _AS_IS: ids and times are checked for their exact form (digits; 19 characters), which a value
# with spaces around it fails, and the row path then reads the block trimmed; priorities,
# agents and tag lists are read once per spelling by readers that trim. _EACH: the rest.
_EACH, _ONCE, _AS_IS = "each", "once", "as is"
_TRIM_ONCE = {
    "status",
    "source",
    "type",
    "group",
    "time_tracked",
    "resolution_status",
    "first_response_status",
    "survey",
    "company",
}
_AS_IS_KEYS = {"id", "created", "updated", "priority", "agent", "tags", *_EXTRA_TIMES.values()}
_TRIM = tuple(
    _ONCE if key in _TRIM_ONCE else _AS_IS if key in _AS_IS_KEYS else _EACH for key in _KEYS
)
_K = TypeVar("_K")
_V = TypeVar("_V")


class RowMapper:
    """Maps the rows of one file: column positions are resolved once, from its header.

    Two paths build the same tickets. :meth:`map_cells` reads one row: its cells are picked in
    canonical column order by one ``itemgetter`` (a column the file lacks points at an empty
    cell added after the row's), trimmed in one ``map``, then read by index. :meth:`map_block`
    reads a block of rows column by column, with each check and each time conversion done by
    C-level ``map`` calls over a whole column; when anything in the block is not plainly
    well-formed it returns None, and the block is read row by row, which names the problem.
    Both end in :meth:`_build`, so a ticket does not depend on the path that read it.
    """

    __slots__ = (
        "_assignees",
        "_columns",
        "_file",
        "_naive_zone",
        "_pick",
        "_positions",
        "_priorities",
        "_requesters",
        "_statuses",
        "_system_id",
        "_tags",
        "_texts",
    )

    def __init__(
        self, header: Header, columns: Columns, *, system_id: str, file: str, naive_zone: str
    ) -> None:
        self._columns = columns
        self._system_id = system_id
        self._file = file
        self._naive_zone = naive_zone
        pad = len(header)  # index of the empty cell added after a row's cells
        positions = [
            None if (name := columns.get(key)) is None else header.position(name) for key in _KEYS
        ]
        self._pick = itemgetter(*(pad if at is None else at for at in positions))
        self._positions = positions
        # Small vocabularies, each spelling read once per file: statuses, priorities, tag
        # lists, agents and requesters (tuples and people are immutable values, so sharing
        # them is safe; the other adapters share people within a page the same way).
        self._statuses: dict[str, Status] = {}
        self._priorities: dict[str, Priority | None] = {}
        self._tags: dict[str, tuple[str, ...]] = {}
        self._assignees: dict[str, Person | None] = {}
        self._requesters: dict[tuple[str, str, str, str], Person | None] = {}
        self._texts: dict[str, str] = {}  # a cell of a repeating column -> its trimmed text

    def map(self, row: Row) -> Ticket:
        """The ticket of ``row``; ``RecordError`` naming file, line and column when it is bad."""
        return self.map_cells(row.line, row.cells)

    def map_cells(self, line: int, cells: Sequence[str]) -> Ticket:
        """The ticket of the row at ``line`` with ``cells`` in header order (see ``map``)."""
        v = list(map(str.strip, self._pick((*cells, ""))))
        ticket_no = v[0]
        if not _TICKET_ID.fullmatch(ticket_no) or int(ticket_no) == 0:
            raise self._error(line, v, "id", f"{ticket_no!r} is not a ticket number")
        created_at = self._time(line, v, "created")
        updated_at = self._time(line, v, "updated")
        if not v[_STATUS]:
            raise self._error(line, v, "status", "is empty")
        times: list[list[str]] = []
        for _key, column, at in _EXTRA_TIMES_AT:
            value = v[at]
            try:
                times.append([iso_z_of(value, naive_zone=self._naive_zone) if value else ""])
            except (ValueError, OverflowError):
                raise self._error(line, v, column, f"{value!r} is not a readable time") from None
        cols = [[value] for value in v]
        return self._build(cols, [str(int(ticket_no))], [created_at], [updated_at], times)[0]

    def map_block(self, rows: Sequence[Sequence[str]]) -> list[Ticket] | None:
        """The tickets of ``rows`` (cells in header order, as many as the header has), as
        :meth:`map_cells` would map them one by one; None when a row is not plainly
        well-formed (see the class docstring).
        """
        by_position = list(zip(*rows, strict=True))
        blank = [""] * len(rows)
        trimmed = self._texts
        cols = [
            blank
            if at is None
            else list(by_position[at])
            if trim is _AS_IS
            else _looked_up(trimmed, by_position[at], str.strip)
            if trim is _ONCE
            else list(map(str.strip, by_position[at]))
            for at, trim in zip(self._positions, _TRIM, strict=True)
        ]
        ids = cols[0]
        digits = "".join(ids)
        if not (all(ids) and digits.isascii() and digits.isdigit()):
            return None
        numbers = list(map(int, ids))
        if 0 in numbers or not all(cols[_STATUS]):
            return None
        zone_name = self._naive_zone
        try:
            created_at = _aware_utc(cols[_CREATED], zone_name)
            updated_at = _aware_utc(cols[_UPDATED], zone_name)
            if created_at is None or updated_at is None:
                return None
            times: list[list[str]] = []
            for _key, _column, at in _EXTRA_TIMES_AT:
                column = cols[at]
                present = list(filter(None, column))
                texts = _iso_z(present, zone_name)
                if texts is None:
                    return None
                if len(present) < len(column):
                    found = iter(texts)
                    texts = [next(found) if value else "" for value in column]
                times.append(texts)
        except OverflowError:  # a time at the edge of the calendar: the row path reports it
            return None
        return self._build(cols, list(map(str, numbers)), created_at, updated_at, times)

    def _build(
        self,
        cols: list[list[str]],
        external_ids: list[str],
        created_at: list[datetime],
        updated_at: list[datetime],
        times: list[list[str]],
    ) -> list[Ticket]:
        """The tickets of checked rows, column by column: ``cols`` holds the trimmed values in
        canonical order, ``times`` the ``iso_z_of`` texts of the optional times ("" if empty).
        """
        names, emails, work_phones, mobile_phones, contact_ids = cols[_NAME : _CONTACT_ID + 1]
        phones = [work or mobile for work, mobile in zip(work_phones, mobile_phones, strict=True)]
        people = list(zip(names, emails, phones, contact_ids, strict=True))
        requesters = _looked_up(self._requesters, people, _requester)
        descriptions = cols[2]
        message_ids = map(str.__add__, external_ids, repeat("-description"))
        messages = [
            (Message(message_id, _REPLY, text, created, requester),) if text else ()
            for message_id, text, created, requester in zip(
                message_ids, descriptions, created_at, requesters, strict=True
            )
        ]
        mobile_extra = [
            mobile if work else "" for work, mobile in zip(work_phones, mobile_phones, strict=True)
        ]
        extra_values = zip(
            *[cols[at] for _key, at in _EXTRA_TEXT_AT],
            *times,
            mobile_extra,
            repeat(self._file),
        )
        # One dict per row of the keys whose value is not empty, in _EXTRA_KEYS order.
        extras = list(map(dict, map(_PRESENT, map(zip, repeat(_EXTRA_KEYS), extra_values))))
        if not self._file:  # ``export_file`` is set even when empty (never, for a real file)
            for extra in extras:
                extra["export_file"] = ""
        statuses = cols[_STATUS]
        return list(
            map(
                Ticket,
                map(TicketKey, repeat(self._system_id), external_ids),
                cols[1],
                _looked_up(self._statuses, statuses, map_status),
                statuses,
                created_at,
                updated_at,
                _looked_up(self._priorities, cols[_PRIORITY], map_priority),
                requesters,
                _looked_up(self._assignees, cols[_AGENT], _assignee),
                [group or None for group in cols[_GROUP]],
                _looked_up(self._tags, cols[_TAGS], _tags),
                repeat(False),
                messages,
                extras,
            )
        )

    def _time(self, line: int, v: list[str], key: str) -> datetime:
        value = v[_AT[key]]
        if not value:
            raise self._error(line, v, key, "is empty")
        try:
            return parse_timestamp(value, naive_zone=self._naive_zone)
        except (ValueError, OverflowError):
            raise self._error(line, v, key, f"{value!r} is not a readable time") from None

    def _error(self, line: int, v: list[str], key: str, problem: str) -> RecordError:
        column = self._columns.get(key, COLUMNS[key][0])
        return RecordError(
            f"{self._file} line {line}: {column} {problem}",
            ErrorContext(
                system=self._system_id,
                stream=self._file,
                record_id=v[_AT["id"]] or None,
                field=column,
            ),
            details={"line": line, "column": column},
        )


_TZINFO = attrgetter("tzinfo")
_YEAR = attrgetter("year")
_PRESENT = cast(
    Callable[[Iterable[tuple[str, str]]], Iterator[tuple[str, str]]],
    partial(filter, itemgetter(1)),
)  # the (key, value) pairs whose value is not empty, filtered by C code
_DATE_TIME_SEPARATORS = frozenset(" T")
_TENTH = itemgetter(10)


def _plain(values: list[str]) -> bool:
    """True when every one of ``values`` has the form ``iso_z_of`` rewrites as is, as far as
    telling it costs no parsing: 19 ASCII characters, date and time parted by a space or ``T``.
    """
    return (
        set(map(len, values)) == {19}
        and _DATE_TIME_SEPARATORS.issuperset(map(_TENTH, values))
        and "".join(values).isascii()
    )


def _naive(values: list[str]) -> list[datetime] | None:
    """``values`` read as naive times when every one has the form ``iso_z_of`` rewrites as is
    (:func:`_plain`, no offset, year 1000 or later), else None.
    """
    if not _plain(values):
        return None
    try:
        naive = list(map(datetime.fromisoformat, values))
    except ValueError:  # not a time
        return None
    if set(map(_TZINFO, naive)) != {None} or min(map(_YEAR, naive)) < 1000:
        return None  # a time with an offset of its own, or a short year: the row path
    return naive


def _aware_utc(values: list[str], zone_name: str) -> list[datetime] | None:
    """``parse_timestamp`` of each of ``values`` when :func:`_naive` reads them all, in
    ``zone_name``; else None. ``OverflowError`` at the edge of the calendar.

    As ``parse_timestamp`` does: the wall time read as UTC, the zone's offset at that wall
    time taken off. Each text is parsed once, with ``+00:00`` appended: that parses exactly
    when the text is a time without an offset of its own (which cannot carry a second one).
    """
    if not values:
        return []
    if not _plain(values):
        return None
    try:
        walls = list(map(datetime.fromisoformat, map(str.__add__, values, repeat("+00:00"))))
    except ValueError:  # not a time, or one with an offset of its own
        return None
    if min(map(_YEAR, walls)) < 1000:
        return None
    if zone_name == "UTC":
        return walls
    return list(map(sub, walls, map(zone(zone_name).utcoffset, walls)))


def _iso_z(values: list[str], zone_name: str) -> list[str] | None:
    """``iso_z_of`` of each of ``values`` when :func:`_naive` reads them all, else None."""
    if not values:
        return []
    naive = _naive(values)
    if naive is None:
        return None
    if zone_name == "UTC":
        # The text as is, its date and time parted by T: ``_naive`` admits no other space.
        # NUL parts the values (a CSV text has none: ``read_rows`` refuses it).
        joined = "\x00".join(values).replace(" ", "T").replace("\x00", "Z\x00")
        return (joined + "Z").split("\x00")
    utc = list(map(sub, naive, map(zone(zone_name).utcoffset, naive)))
    if min(map(_YEAR, utc)) < 1000:
        return None
    return [moment.isoformat() + "Z" for moment in utc]


def _looked_up(known: dict[_K, _V], values: Sequence[_K], read: Callable[[_K], _V]) -> list[_V]:
    """``read(value)`` of each of ``values``, each distinct value read once and kept in ``known``.

    One dictionary lookup per value, by C code: a file's statuses, agents or tag lists are
    known after its first rows, so the lookups nearly always all succeed at once.
    """
    try:
        return list(map(known.__getitem__, values))
    except KeyError:
        for value in set(values).difference(known):
            known[value] = read(value)
        return list(map(known.__getitem__, values))


def _requester(who: tuple[str, str, str, str]) -> Person | None:
    """The requester of a row's name, e-mail, phone and contact id; None when all are empty."""
    name, email, phone, contact_id = who
    return _person(name=name, email=email, phone=phone, external_id=contact_id)


def _assignee(agent: str) -> Person | None:
    name = agent.strip()
    return Person(name=name) if name else None


def _person(*, name: str, email: str, phone: str, external_id: str) -> Person | None:
    if not (name or email or phone or external_id):
        return None
    return Person(
        name=name or None,
        email=email or None,
        phone=phone or None,
        external_id=external_id or None,
    )


def _tags(value: str) -> tuple[str, ...]:
    """Freshdesk exports tags comma-separated in one cell."""
    seen: dict[str, None] = {}
    for tag in value.split(","):
        if tag.strip():
            seen.setdefault(tag.strip(), None)
    return tuple(seen)
