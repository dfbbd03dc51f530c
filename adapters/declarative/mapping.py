"""Pure mapping from raw records (JSON objects, XML elements, CSV rows) to the domain. No I/O.

A :class:`Mapper` is built once from a validated spec. ``ticket(record, messages)`` reads every
field through its selector and raises ``RecordError`` naming the system, stream, record and field
when a value cannot be read. Rules (documented in ``docs/declarative-adapters.md``):

- a native status not in ``[status.values]`` becomes ``[status].default`` when declared, else the
  ticket is quarantined with the reason; the same for priorities (an empty priority is ``None``);
- timestamps are read with ``[timestamps].format`` (``iso``, ``epoch_s``, ``epoch_ms`` or a
  strptime format); naive values are in ``[timestamps].zone``, else the system's zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters._drift import DriftNotes
from adapters.declarative.select import Selector, compile_selector
from adapters.declarative.spec import PersonFields, Spec
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

STREAM_TICKETS = "tickets"
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on", "public"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off", "", "internal", "private"})


def text_of(value: Any) -> str | None:
    """A scalar as text (``None`` and empty strings stay ``None``); lists and objects refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    raise ValueError(f"expected a single value, got {type(value).__name__}")


def read_timestamp(value: Any, form: str, naive_zone: str) -> datetime:
    """``value`` written in ``form`` as aware UTC; ``ValueError`` naming the value."""
    if form in ("epoch_s", "epoch_ms"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"not an epoch number: {value!r}")
        seconds = float(value) / (1000 if form == "epoch_ms" else 1)
        return datetime.fromtimestamp(seconds, UTC)
    if form == "iso":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"not a timestamp: {value!r}")
        return parse_timestamp(value, naive_zone=naive_zone)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp text: {value!r}")
    parsed = datetime.strptime(value.strip(), form)  # noqa: DTZ007 - zone attached below
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(naive_zone))
    return parsed.astimezone(UTC)


def write_timestamp(moment: datetime, form: str, zone_name: str) -> str:
    """``moment`` as the system expects it in a query parameter."""
    if form == "epoch_s":
        return str(int(moment.timestamp()))
    if form == "epoch_ms":
        return str(int(moment.timestamp() * 1000))
    local = moment.astimezone(zone(zone_name))
    if form == "iso":
        return local.strftime("%Y-%m-%dT%H:%M:%SZ") if zone_name == "UTC" else local.isoformat()
    return local.strftime(form)


def truthy(value: Any) -> bool:
    """A boolean written as JSON ``true``, ``1``, ``"yes"``, ``"public"``…"""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    word = str(value).strip().casefold() if value is not None else ""
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


class Mapper:
    """Reads tickets and messages as a mapping file says. Thread-safe (no mutable state)."""

    def __init__(self, spec: Spec, *, system_id: str, naive_zone: str) -> None:
        self.spec = spec
        self.system_id = system_id
        self.format = spec.source.format
        self.zone = spec.timestamps.zone or naive_zone
        self.time_format = spec.timestamps.format
        self.status_to_native = self._reverse_status()
        self.drift = DriftNotes()  # values that fell back to a declared default

    def _reverse_status(self) -> dict[Status, str]:
        values: dict[Status, str] = {}
        for native, unified in self.spec.status.values.items():
            values.setdefault(Status(unified), native)
        endpoint = self.spec.endpoints.status
        if endpoint is not None:
            values.update({Status(k): v for k, v in endpoint.values.items()})
        return values

    def sel(self, expression: str) -> Selector:
        """The compiled selector of ``expression`` in this file's format."""
        return compile_selector(expression, self.format)

    def _value(self, record: Any, expression: str | None) -> Any:
        return None if expression is None else self.sel(expression).first(record)

    def _text(
        self, record: Any, expression: str | None, ctx: ErrorContext, name: str
    ) -> str | None:
        try:
            return text_of(self._value(record, expression))
        except ValueError as exc:
            raise RecordError(f"{name}: {exc}", _at(ctx, name)) from None

    def record_id(self, record: Any) -> str | None:
        """The ticket id of ``record``, or None when it has none readable."""
        try:
            return text_of(self._value(record, self.spec.ticket.id))
        except ValueError:
            return None

    def _time(self, record: Any, expression: str, ctx: ErrorContext, name: str) -> datetime:
        value = self._value(record, expression)
        if value is None or value == "":
            raise RecordError(f"{name} is missing", _at(ctx, name))
        try:
            return read_timestamp(value, self.time_format, self.zone)
        except (ValueError, OverflowError, OSError) as exc:
            raise RecordError(
                f"{name} is unreadable as {self.time_format}: {value!r}", _at(ctx, name)
            ) from exc

    def _person(
        self, record: Any, fields: PersonFields | None, ctx: ErrorContext, name: str
    ) -> Person | None:
        if fields is None:
            return None
        person = Person(
            name=self._text(record, fields.name, ctx, f"{name}.name"),
            email=self._text(record, fields.email, ctx, f"{name}.email"),
            phone=self._text(record, fields.phone, ctx, f"{name}.phone"),
            external_id=self._text(record, fields.external_id, ctx, f"{name}.external_id"),
        )
        return person if person.display else None

    def status(self, native: str | None, ctx: ErrorContext) -> Status:
        """The unified status of ``native`` (the declared default, else a RecordError)."""
        table = self.spec.status
        if native is not None and native in table.values:
            return Status(table.values[native])
        if table.default is not None:
            self.drift.new_value(STREAM_TICKETS, "status", native, ctx.record_id)
            return Status(table.default)
        raise RecordError(
            f"status {native!r} is not in [status.values] and no [status].default is declared",
            _at(ctx, "status"),
        )

    def priority(self, native: str | None, ctx: ErrorContext) -> Priority | None:
        """The unified priority; ``None`` when the record has none."""
        table = self.spec.priority
        if table is None or native is None:
            return None
        if native in table.values:
            return Priority(table.values[native])
        if table.default is not None:
            self.drift.new_value(STREAM_TICKETS, "priority", native, ctx.record_id)
            return Priority(table.default)
        raise RecordError(
            f"priority {native!r} is not in [priority.values] and no [priority].default is "
            "declared",
            _at(ctx, "priority"),
        )

    def _tags(self, record: Any) -> tuple[str, ...]:
        expression = self.spec.ticket.tags
        if expression is None:
            return ()
        tags: list[str] = []
        for value in self.sel(expression).values(record):
            items = (
                value
                if isinstance(value, list)
                else str(value).split(self.spec.ticket.tags_separator)
            )
            tags.extend(str(item).strip() for item in items if str(item).strip())
        return tuple(tags)

    def message(self, record: Any, ctx: ErrorContext, index: int) -> Message:
        """One message of the ticket named by ``ctx``."""
        fields = self.spec.message
        assert fields is not None
        name = f"messages[{index}]"
        message_id = self._text(record, fields.id, ctx, f"{name}.id")
        if message_id is None:
            raise RecordError(f"{name} has no id", _at(ctx, f"{name}.id"))
        name = f"messages[{message_id}]"
        kind = MessageKind.REPLY
        if fields.public is not None:
            value = self._value(record, fields.public)
            try:
                kind = MessageKind.REPLY if truthy(value) else MessageKind.NOTE
            except ValueError as exc:
                raise RecordError(f"{name}.public: {exc}", _at(ctx, f"{name}.public")) from None
        elif fields.internal is not None:
            value = self._value(record, fields.internal)
            try:
                kind = MessageKind.NOTE if truthy(value) else MessageKind.REPLY
            except ValueError as exc:
                raise RecordError(f"{name}.internal: {exc}", _at(ctx, f"{name}.internal")) from None
        elif fields.kind is not None:
            native = self._text(record, fields.kind, ctx, f"{name}.kind")
            if native not in fields.kinds:
                raise RecordError(
                    f"{name}.kind {native!r} is not in [message.kinds]", _at(ctx, f"{name}.kind")
                )
            kind = MessageKind(fields.kinds[native])
        body = self._value(record, fields.body)
        return Message(
            external_id=message_id,
            kind=kind,
            body_text=body if isinstance(body, str) else (text_of(body) or ""),
            created_at=self._time(record, fields.created_at, ctx, f"{name}.created_at"),
            author=self._person(record, fields.author, ctx, f"{name}.author"),
        )

    def messages_of(self, record: Any) -> list[Any]:
        """The message records inside a ticket record (inline messages)."""
        endpoint = self.spec.endpoints.messages
        if endpoint is None or endpoint.records is None:
            return []
        return self.sel(endpoint.records).nodes(record)

    def ticket(
        self, record: Any, messages: Sequence[Any] | None = None, *, offset: int | None = None
    ) -> Ticket:
        """One ticket; ``messages`` are its message records (None: read them from ``record``)."""
        fields = self.spec.ticket
        ticket_id = self.record_id(record)
        ctx = ErrorContext(
            system=self.system_id, stream=STREAM_TICKETS, record_id=ticket_id, offset=offset
        )
        if ticket_id is None:
            raise RecordError("the record has no readable id", _at(ctx, "id"))
        native = self._text(record, fields.status, ctx, "status")
        deleted = False
        if fields.deleted is not None:
            try:
                deleted = truthy(self._value(record, fields.deleted))
            except ValueError as exc:
                raise RecordError(f"deleted: {exc}", _at(ctx, "deleted")) from None
        raw_messages = self.messages_of(record) if messages is None else messages
        extra: dict[str, str] = {}
        for item in fields.extra:
            value = self._text(record, item.path, ctx, f"extra.{item.name}")
            if value is not None:
                extra[item.name] = value
        return Ticket(
            key=TicketKey(self.system_id, ticket_id),
            subject=self._text(record, fields.subject, ctx, "subject") or "",
            status=self.status(native, ctx),
            native_status=native or "",
            created_at=self._time(record, fields.created_at, ctx, "created_at"),
            updated_at=self._time(record, fields.updated_at, ctx, "updated_at"),
            priority=self.priority(self._text(record, fields.priority, ctx, "priority"), ctx),
            requester=self._person(record, fields.requester, ctx, "requester"),
            assignee=self._person(record, fields.assignee, ctx, "assignee"),
            queue=self._text(record, fields.queue, ctx, "queue"),
            tags=self._tags(record),
            deleted=deleted,
            messages=tuple(self.message(m, ctx, i) for i, m in enumerate(raw_messages)),
            extra=extra,
        )

    def page(
        self, records: Sequence[Any], messages: Mapping[str, Sequence[Any]] | None
    ) -> tuple[list[Ticket], list[RecordError]]:
        """Every readable ticket of a page and one RecordError per unreadable one.

        ``messages`` maps a ticket id to its fetched message records (None: inline messages).
        """
        tickets: list[Ticket] = []
        quarantined: list[RecordError] = []
        for offset, record in enumerate(records):
            found = None
            if messages is not None:
                found = messages.get(self.record_id(record) or "", ())
            try:
                tickets.append(self.ticket(record, found, offset=offset))
            except RecordError as error:
                quarantined.append(error)
        return tickets, quarantined


def _at(ctx: ErrorContext, field: str) -> ErrorContext:
    return ErrorContext(
        system=ctx.system,
        stream=ctx.stream,
        record_id=ctx.record_id,
        field=field,
        offset=ctx.offset,
    )
