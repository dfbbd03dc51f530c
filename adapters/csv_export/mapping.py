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
from collections.abc import Mapping
from datetime import datetime

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
from app.timeutil import parse_timestamp, to_iso_z

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
    """The ticket of one export row; ``RecordError`` naming file, line, column when it is bad."""
    reader = _RowReader(row, columns, system_id=system_id, file=file, naive_zone=naive_zone)
    external_id = reader.ticket_id()
    created_at = reader.time("created")
    updated_at = reader.time("updated")
    status_text = reader.text("status")
    if not status_text:
        raise reader.error("status", "is empty")
    requester = _person(
        name=reader.text("name"),
        email=reader.text("email"),
        phone=reader.text("work_phone") or reader.text("mobile_phone"),
        external_id=reader.text("contact_id"),
    )
    agent = reader.text("agent")
    description = reader.text("description")
    messages = (
        (
            Message(
                external_id=f"{external_id}-description",
                kind=MessageKind.REPLY,
                body_text=description,
                created_at=created_at,
                author=requester,
            ),
        )
        if description
        else ()
    )
    extra = {key: value for key, column in _EXTRA_TEXT.items() if (value := reader.text(column))}
    for key, column in _EXTRA_TIMES.items():
        moment = reader.optional_time(column)
        if moment is not None:
            extra[key] = to_iso_z(moment)
    if reader.text("work_phone") and reader.text("mobile_phone"):
        extra["mobile_phone"] = reader.text("mobile_phone")
    extra["export_file"] = file
    return Ticket(
        key=TicketKey(system_id, external_id),
        subject=reader.text("subject"),
        status=map_status(status_text),
        native_status=status_text,
        created_at=created_at,
        updated_at=updated_at,
        priority=map_priority(reader.text("priority")),
        requester=requester,
        assignee=Person(name=agent) if agent else None,
        queue=reader.text("group") or None,
        tags=_tags(reader.text("tags")),
        messages=messages,
        extra=extra,
    )


class _RowReader:
    """Typed cell access for one row, raising ``RecordError`` with the row's context."""

    def __init__(
        self, row: Row, columns: Columns, *, system_id: str, file: str, naive_zone: str
    ) -> None:
        self.row = row
        self.columns = columns
        self.system_id = system_id
        self.file = file
        self.naive_zone = naive_zone
        id_column = columns.get("id")
        self.record_id = (row[id_column].strip() or None) if id_column else None

    def text(self, key: str) -> str:
        """The trimmed cell of canonical column ``key``; empty when the file lacks it."""
        name = self.columns.get(key)
        return self.row[name].strip() if name else ""

    def ticket_id(self) -> str:
        value = self.text("id")
        if not _TICKET_ID.fullmatch(value) or int(value) == 0:
            raise self.error("id", f"{value!r} is not a ticket number")
        return str(int(value))

    def time(self, key: str) -> datetime:
        moment = self.optional_time(key)
        if moment is None:
            raise self.error(key, "is empty")
        return moment

    def optional_time(self, key: str) -> datetime | None:
        value = self.text(key)
        if not value:
            return None
        try:
            return parse_timestamp(value, naive_zone=self.naive_zone)
        except ValueError:
            raise self.error(key, f"{value!r} is not a readable time") from None

    def error(self, key: str, problem: str) -> RecordError:
        column = self.columns.get(key, COLUMNS[key][0])
        return RecordError(
            f"{self.file} line {self.row.line}: {column} {problem}",
            ErrorContext(
                system=self.system_id, stream=self.file, record_id=self.record_id, field=column
            ),
            details={"line": self.row.line, "column": column},
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
