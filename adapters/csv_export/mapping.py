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
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter

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
from app.timeutil import iso_z_of, parse_timestamp

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
_AGENT, _GROUP, _TAGS, _NAME, _CONTACT_ID = (
    _AT[key] for key in ("agent", "group", "tags", "name", "contact_id")
)


class RowMapper:
    """Maps the rows of one file: column positions are resolved once, from its header.

    A row's cells are picked in canonical column order by one ``itemgetter`` (a column the file
    lacks points at an empty cell added after the row's) and trimmed in one ``map``; fields are
    then read by index, not through the header's case-insensitive lookup.
    """

    __slots__ = (
        "_columns",
        "_file",
        "_naive_zone",
        "_pick",
        "_priorities",
        "_statuses",
        "_system_id",
    )

    def __init__(
        self, header: Header, columns: Columns, *, system_id: str, file: str, naive_zone: str
    ) -> None:
        self._columns = columns
        self._system_id = system_id
        self._file = file
        self._naive_zone = naive_zone
        pad = len(header)  # index of the empty cell added after a row's cells
        positions = [columns.get(key) for key in _KEYS]
        self._pick = itemgetter(
            *(pad if name is None else header.position(name) for name in positions)
        )
        # Statuses and priorities are small vocabularies: each spelling is read once per file.
        self._statuses: dict[str, Status] = {}
        self._priorities: dict[str, Priority | None] = {}

    def map(self, row: Row) -> Ticket:
        """The ticket of ``row``; ``RecordError`` naming file, line and column when it is bad."""
        return self.map_cells(row.line, row.cells)

    def map_cells(self, line: int, cells: Sequence[str]) -> Ticket:
        """The ticket of the row at ``line`` with ``cells`` in header order (see ``map``)."""
        v = list(map(str.strip, self._pick((*cells, ""))))
        (ticket_no, subject, description, status_text, priority_text) = v[:5]
        agent, group, tags = v[_AGENT], v[_GROUP], v[_TAGS]
        name, email, work_phone, mobile_phone, contact_id = v[_NAME : _CONTACT_ID + 1]
        if not _TICKET_ID.fullmatch(ticket_no) or int(ticket_no) == 0:
            raise self._error(line, v, "id", f"{ticket_no!r} is not a ticket number")
        external_id = str(int(ticket_no))
        created_at = self._time(line, v, "created")
        updated_at = self._time(line, v, "updated")
        if not status_text:
            raise self._error(line, v, "status", "is empty")
        requester = _person(
            name=name, email=email, phone=work_phone or mobile_phone, external_id=contact_id
        )
        messages = (
            (Message(f"{external_id}-description", _REPLY, description, created_at, requester),)
            if description
            else ()
        )
        extra: dict[str, str] = {}
        for key, at in _EXTRA_TEXT_AT:
            if v[at]:
                extra[key] = v[at]
        for key, column, at in _EXTRA_TIMES_AT:
            value = v[at]
            if value:
                try:
                    extra[key] = iso_z_of(value, naive_zone=self._naive_zone)
                except (ValueError, OverflowError):
                    raise self._error(
                        line, v, column, f"{value!r} is not a readable time"
                    ) from None
        if work_phone and mobile_phone:
            extra["mobile_phone"] = mobile_phone
        extra["export_file"] = self._file
        status = self._statuses.get(status_text)
        if status is None:
            status = self._statuses[status_text] = map_status(status_text)
        try:
            priority = self._priorities[priority_text]
        except KeyError:
            priority = self._priorities[priority_text] = map_priority(priority_text)
        return Ticket(
            key=TicketKey(self._system_id, external_id),
            subject=subject,
            status=status,
            native_status=status_text,
            created_at=created_at,
            updated_at=updated_at,
            priority=priority,
            requester=requester,
            assignee=Person(name=agent) if agent else None,
            queue=group or None,
            tags=_tags(tags),
            messages=messages,
            extra=extra,
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
