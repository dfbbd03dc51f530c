"""Pure mapping: quality-inspection JSON -> unified tickets. No I/O.

An inspection becomes a ticket: ``subject``, ``status``, the inspected customer as requester,
the reviewer as assignee, and as messages the original customer message (a REPLY by the
customer) followed by the review notes (NOTEs: they are never shown to the customer, whether
``internal`` or shared with the reviewed ``agent``). The score goes into
``Ticket.extra["qa_score"]`` and a ``qa:pass`` / ``qa:fail`` tag; ``ticket_ref`` (the inspected
ticket of the core system) into ``Ticket.extra["ticket_ref"]``. QA has no priority: ``None``.

Statuses, native -> unified (``STATUS_MAP``):

=================  =========  ============================================================
``queued``         new        waiting for a reviewer
``in_review``      open       a reviewer is working on it
``awaiting_agent`` pending    feedback sent; waits for the reviewed agent to acknowledge
``accepted``       solved     passed
``rejected``       open       failed: a finding someone must act on (coaching, re-contacting
                              the customer), so it stays in the active backlog until archived
``archived``       closed     done
=================  =========  ============================================================

Unified -> native for SET_STATUS (``NATIVE_FOR``): new -> queued, open -> in_review,
pending -> awaiting_agent, solved -> accepted, closed -> archived. ``on_hold`` has no
counterpart and is refused; ``rejected`` is a reviewer's verdict and cannot be set from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from app.domain import (
    ErrorContext,
    Message,
    MessageKind,
    Person,
    RecordError,
    Status,
    Ticket,
    TicketKey,
)
from app.timeutil import parse_timestamp

STREAM = "inspections"
PASS_SCORE = 80
STATUS_MAP: Mapping[str, Status] = {
    "queued": Status.NEW,
    "in_review": Status.OPEN,
    "awaiting_agent": Status.PENDING,
    "accepted": Status.SOLVED,
    "rejected": Status.OPEN,
    "archived": Status.CLOSED,
}
NATIVE_FOR: Mapping[Status, str] = {
    Status.NEW: "queued",
    Status.OPEN: "in_review",
    Status.PENDING: "awaiting_agent",
    Status.SOLVED: "accepted",
    Status.CLOSED: "archived",
}
VISIBILITY_INTERNAL = "internal"
VISIBILITY_AGENT = "agent"
CUSTOMER_MESSAGE = "customer_message"


class _Reader:
    """Typed field access on one raw record; every failure is a RecordError naming the field."""

    def __init__(self, raw: Any, context: ErrorContext, prefix: str = "") -> None:
        self.context = context
        self.prefix = prefix
        if not isinstance(raw, Mapping):
            self.fail("", f"expected a JSON object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw

    def fail(self, name: str, reason: str) -> NoReturn:
        where = f"{self.prefix}{name}" if name else (self.prefix.rstrip(".") or None)
        ctx = ErrorContext(
            system=self.context.system,
            stream=self.context.stream,
            record_id=self.context.record_id,
            field=where,
        )
        raise RecordError(f"malformed inspection: {where or 'record'}: {reason}", ctx)

    def text(self, name: str) -> str:
        value = self.raw.get(name)
        if not isinstance(value, str):
            self.fail(name, f"expected text, got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.raw.get(name) is None else self.text(name)

    def time(self, name: str, naive_zone: str) -> datetime:
        value = self.raw.get(name)
        if not isinstance(value, str):
            self.fail(name, f"expected an ISO-8601 timestamp, got {value!r}")
        try:
            return parse_timestamp(value, naive_zone=naive_zone)
        except ValueError:
            self.fail(name, f"unreadable timestamp {value!r}")

    def identifier(self, name: str) -> str:
        value = self.raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            self.fail(name, f"expected an id, got {value!r}")
        return str(value)

    def optional_identifier(self, name: str) -> str | None:
        return None if self.raw.get(name) is None else self.identifier(name)

    def child(self, name: str) -> _Reader:
        return _Reader(self.raw.get(name), self.context, f"{self.prefix}{name}.")

    def optional_child(self, name: str) -> _Reader | None:
        return None if self.raw.get(name) is None else self.child(name)

    def items(self, name: str) -> Sequence[Any]:
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            self.fail(name, f"expected a list, got {type(value).__name__}")
        return list(value)


def record_id_of(raw: Any) -> str | None:
    """The id of a raw inspection when readable, for error context."""
    if isinstance(raw, Mapping):
        value = raw.get("id")
        if isinstance(value, int | str) and not isinstance(value, bool):
            return str(value)
    return None


def qa_tag(score: int | None, pass_score: int = PASS_SCORE) -> str | None:
    """``qa:pass`` when ``score >= pass_score``, ``qa:fail`` below, ``None`` while unscored."""
    if score is None:
        return None
    return "qa:pass" if score >= pass_score else "qa:fail"


def _person(reader: _Reader | None, *, with_phone: bool) -> Person | None:
    if reader is None:
        return None
    return Person(
        name=reader.optional_text("name"),
        email=reader.optional_text("email"),
        phone=reader.optional_text("phone") if with_phone else None,
        external_id=reader.optional_identifier("id"),
    )


def _score(reader: _Reader) -> int | None:
    value = reader.raw.get("score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        reader.fail("score", f"expected an integer 0-100 or null, got {value!r}")
    return value


def _tags(reader: _Reader, score: int | None, pass_score: int) -> tuple[str, ...]:
    raw = reader.items("tags")
    if not all(isinstance(tag, str) for tag in raw):
        reader.fail("tags", f"expected a list of text, got {raw!r}")
    verdict = qa_tag(score, pass_score)
    own = [tag for tag in raw if not tag.startswith("qa:")]  # the verdict tag is ours
    return tuple(dict.fromkeys([*own, *([verdict] if verdict else [])]))


def note_to_message(
    raw: Any, context: ErrorContext, *, naive_zone: str = "UTC", index: int | None = None
) -> Message:
    """One note: the customer message becomes a REPLY by the customer, review notes NOTEs."""
    reader = _Reader(raw, context, "notes." if index is None else f"notes[{index}].")
    kind = MessageKind.REPLY if reader.raw.get("kind") == CUSTOMER_MESSAGE else MessageKind.NOTE
    author = _person(reader.optional_child("author"), with_phone=False)
    return Message(
        external_id=reader.identifier("id"),
        kind=kind,
        body_text=reader.text("body"),
        created_at=reader.time("created_at", naive_zone),
        author=author,
    )


def inspection_to_ticket(
    raw: Any,
    *,
    system_id: str,
    naive_zone: str = "UTC",
    pass_score: int = PASS_SCORE,
) -> Ticket:
    """Map one raw inspection to a ticket; raises RecordError naming the bad field."""
    context = ErrorContext(system=system_id, stream=STREAM, record_id=record_id_of(raw))
    reader = _Reader(raw, context)
    native = reader.text("status")
    if native not in STATUS_MAP:
        reader.fail("status", f"unknown status {native!r}")
    score = _score(reader)
    extra: dict[str, str] = {}
    if score is not None:
        extra["qa_score"] = str(score)
    if ticket_ref := reader.optional_text("ticket_ref"):
        extra["ticket_ref"] = ticket_ref
    deleted = reader.raw.get("deleted", False)
    if not isinstance(deleted, bool):
        reader.fail("deleted", f"expected true or false, got {deleted!r}")
    messages = tuple(
        note_to_message(note, context, naive_zone=naive_zone, index=index)
        for index, note in enumerate(reader.items("notes"))
    )
    return Ticket(
        key=TicketKey(system_id, reader.identifier("id")),
        subject=reader.text("subject"),
        status=STATUS_MAP[native],
        native_status=native,
        created_at=reader.time("created_at", naive_zone),
        updated_at=reader.time("updated_at", naive_zone),
        priority=None,
        requester=_person(reader.child("customer"), with_phone=True),
        assignee=_person(reader.optional_child("reviewer"), with_phone=False),
        tags=_tags(reader, score, pass_score),
        deleted=deleted,
        messages=messages,
        extra=extra,
    )


def map_page(
    items: Sequence[Any], *, system_id: str, naive_zone: str = "UTC", pass_score: int = PASS_SCORE
) -> tuple[list[Ticket], list[RecordError]]:
    """Map a page; a malformed item is quarantined and the rest of the page is kept."""
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    for raw in items:
        try:
            tickets.append(
                inspection_to_ticket(
                    raw, system_id=system_id, naive_zone=naive_zone, pass_score=pass_score
                )
            )
        except RecordError as error:
            quarantined.append(error)
    return tickets, quarantined


def position_of(raw: Any) -> tuple[str, int] | None:
    """The keyset position ``(updated_at, id)`` of a raw item, when both are readable.

    The raw ``updated_at`` string is kept verbatim: the service compares with microseconds.
    """
    if not isinstance(raw, Mapping):
        return None
    stamp, ident = raw.get("updated_at"), raw.get("id")
    if not isinstance(stamp, str) or isinstance(ident, bool) or not isinstance(ident, int):
        return None
    try:
        parse_timestamp(stamp)
    except ValueError:
        return None
    return stamp, ident
