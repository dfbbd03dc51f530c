"""Pure mapping between Freshdesk API v2 payloads and the unified domain. No I/O.

Remote → domain: a listed ticket (``include=requester,description``) and its conversations
become a :class:`~app.domain.Ticket`; the description is the first message, as Freshdesk keeps
it apart from the conversations. Statuses are numbers whose names come from the ``status``
ticket field: 2–5 are Freshdesk's own, higher ones are the account's custom statuses. Known
custom names map by meaning; any other custom status shows as *open* and is reported in
``Ticket.extra["unmapped_status"]``. An unreadable ticket becomes a :class:`RecordError`.

Domain → remote: replies and notes become HTML bodies carrying an invisible marker with the
action's idempotency key, so a delivery can be recognised when read back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from adapters._mapping import int_value, timestamp, where
from adapters._mapping import record_id as record_id  # re-exported: the adapter uses it
from app.domain import (
    AdapterError,
    Attachment,
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
from app.timeutil import to_iso_z

STREAM_TICKETS = "tickets"
BUILTIN_STATUS: dict[int, Status] = {
    2: Status.OPEN,
    3: Status.PENDING,
    4: Status.SOLVED,
    5: Status.CLOSED,
}
BUILTIN_LABELS = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
CUSTOM_BY_NAME: dict[str, Status] = {
    "waiting on customer": Status.PENDING,
    "waiting on third party": Status.ON_HOLD,
}
UNIFIED_STATUS: dict[Status, int] = {
    Status.NEW: 2,
    Status.OPEN: 2,
    Status.PENDING: 3,
    Status.SOLVED: 4,
    Status.CLOSED: 5,
}
PRIORITIES: dict[int, Priority] = {
    1: Priority.LOW,
    2: Priority.NORMAL,
    3: Priority.HIGH,
    4: Priority.URGENT,
}
MARKER_PREFIX = "tabless-action:"

Raw = Mapping[str, Any]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def status_labels(ticket_fields: Iterable[object]) -> dict[int, str]:
    """Status id → agent-facing name, from ``GET /api/v2/ticket_fields`` (``choices``)."""
    labels = dict(BUILTIN_LABELS)
    for item in ticket_fields:
        if not isinstance(item, Mapping) or item.get("name") != "status":
            continue
        choices = item.get("choices")
        for key, names in choices.items() if isinstance(choices, Mapping) else ():
            name = names[0] if isinstance(names, list) and names else names
            if str(key).isdigit() and isinstance(name, str) and name:
                labels[int(key)] = name
    return labels


def map_status(
    code: object, labels: Mapping[int, str], ctx: ErrorContext
) -> tuple[Status, str, bool]:
    """Unified status, the native name and whether it is a custom status we do not know."""
    number = int_value(code)
    if number is None:
        raise RecordError(f"unreadable ticket status {code!r}", where(ctx, "status"))
    name = labels.get(number, str(number))
    if number in BUILTIN_STATUS:
        return BUILTIN_STATUS[number], name, False
    known = CUSTOM_BY_NAME.get(name.strip().lower())
    if known is not None:
        return known, name, False
    return Status.OPEN, name, True


def unified_to_code(status: Status, labels: Mapping[int, str]) -> int:
    """The status id that delivers ``status``; on hold needs a custom status meaning it."""
    if status in UNIFIED_STATUS:
        return UNIFIED_STATUS[status]
    for number, name in sorted(labels.items()):
        if CUSTOM_BY_NAME.get(name.strip().lower()) is status:
            return number
    raise AdapterError(
        f"this Freshdesk account has no status meaning {status.value!r}",
        ErrorContext(stream=STREAM_TICKETS, field="status"),
        code="invalid_action",
    )


def map_priority(code: object) -> Priority | None:
    """Unified priority; None for anything but Freshdesk's 1–4."""
    number = int_value(code)
    return PRIORITIES.get(number) if number is not None else None


def agent_people(agents: Iterable[object]) -> dict[int, Person]:
    """Agents (``GET /api/v2/agents``) by id as people."""
    people: dict[int, Person] = {}
    for item in agents:
        if not isinstance(item, Mapping) or int_value(item.get("id")) is None:
            continue
        contact = item.get("contact")
        info: Raw = contact if isinstance(contact, Mapping) else {}
        people[item["id"]] = Person(
            name=_text(info.get("name")),
            email=_text(info.get("email")),
            phone=_text(info.get("phone")) or _text(info.get("mobile")),
            external_id=str(item["id"]),
        )
    return people


def requester(raw: Raw) -> Person | None:
    """The requester embedded by ``include=requester``; an id-only person otherwise."""
    embedded = raw.get("requester")
    key = int_value(raw.get("requester_id"))
    if isinstance(embedded, Mapping):
        return Person(
            name=_text(embedded.get("name")),
            email=_text(embedded.get("email")),
            phone=_text(embedded.get("phone")) or _text(embedded.get("mobile")),
            external_id=str(int_value(embedded.get("id")) or key or "") or None,
        )
    return Person(external_id=str(key)) if key is not None else None


def _attachment(raw: object) -> Attachment | None:
    if not isinstance(raw, Mapping):
        return None
    return Attachment(
        filename=_text(raw.get("name")) or "attachment",
        content_type=_text(raw.get("content_type")),
        size=int_value(raw.get("size")),
        url=_text(raw.get("attachment_url")),
    )


def _author(
    raw: Raw, asker: Person | None, asker_id: int | None, agents: Mapping[int, Person]
) -> Person | None:
    user_id = int_value(raw.get("user_id"))
    if user_id is not None and user_id == asker_id:
        return asker
    if user_id is not None and user_id in agents:
        return agents[user_id]
    email = _text(raw.get("from_email")) if raw.get("incoming") is True else None
    if user_id is None and email is None:
        return None
    return Person(email=email, external_id=str(user_id) if user_id is not None else None)


def map_conversation(
    raw: object,
    asker: Person | None,
    asker_id: int | None,
    agents: Mapping[int, Person],
    ctx: ErrorContext,
    naive_zone: str,
) -> Message:
    """One conversation: private → NOTE, anything else (replies, public notes) → REPLY."""
    entry_id = record_id(raw)
    if entry_id is None or not isinstance(raw, Mapping):
        raise RecordError("a conversation has no id", where(ctx, "conversations.id"))
    field = f"conversations[{entry_id}]"
    private = raw.get("private")
    if not isinstance(private, bool):
        raise RecordError(
            f"conversation {entry_id} has no private flag", where(ctx, f"{field}.private")
        )
    body = raw.get("body_text")
    attachments = raw.get("attachments")
    return Message(
        external_id=entry_id,
        kind=MessageKind.NOTE if private else MessageKind.REPLY,
        body_text=body if isinstance(body, str) else "",
        created_at=timestamp(raw, "created_at", ctx, naive_zone, f"{field}.created_at"),
        author=_author(raw, asker, asker_id, agents),
        attachments=tuple(
            a
            for a in map(_attachment, attachments if isinstance(attachments, list) else ())
            if a is not None
        ),
    )


def map_ticket(
    raw: object,
    conversations: Sequence[object],
    agents: Mapping[int, Person],
    labels: Mapping[int, str],
    *,
    system_id: str,
    naive_zone: str = "UTC",
    offset: int | None = None,
) -> Ticket:
    """One listed ticket with its conversations; raises RecordError when it cannot be read."""
    ticket_id = record_id(raw)
    ctx = ErrorContext(system=system_id, stream=STREAM_TICKETS, record_id=ticket_id, offset=offset)
    if ticket_id is None or not isinstance(raw, Mapping):
        raise RecordError("a ticket has no id", where(ctx, "id"))
    status, native, unmapped = map_status(raw.get("status"), labels, ctx)
    created = timestamp(raw, "created_at", ctx, naive_zone)
    asker = requester(raw)
    asker_id = int_value(raw.get("requester_id"))
    messages: list[Message] = []
    description = raw.get("description_text")
    if isinstance(description, str) and description:
        messages.append(
            Message(
                external_id=f"{ticket_id}-description",
                kind=MessageKind.REPLY,
                body_text=description,
                created_at=created,
                author=asker,
            )
        )
    messages.extend(
        map_conversation(c, asker, asker_id, agents, ctx, naive_zone) for c in conversations
    )
    tags = raw.get("tags")
    subject = raw.get("subject")
    responder = int_value(raw.get("responder_id"))
    extra: dict[str, Any] = {"unmapped_status": native} if unmapped else {}
    if raw.get("due_by"):  # the SLA resolution due time, shown in the inbox
        extra["due_by"] = to_iso_z(timestamp(raw, "due_by", ctx, naive_zone))
    return Ticket(
        key=TicketKey(system_id, ticket_id),
        subject=subject if isinstance(subject, str) else "",
        status=status,
        native_status=native,
        created_at=created,
        updated_at=timestamp(raw, "updated_at", ctx, naive_zone),
        priority=map_priority(raw.get("priority")),
        requester=asker,
        assignee=(agents.get(responder) or Person(external_id=str(responder)))
        if responder is not None
        else None,
        queue=None,  # groups are not fetched: never an invented name
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        deleted=raw.get("deleted") is True,
        messages=tuple(messages),
        extra=extra,
    )


def map_page(
    raw_tickets: Sequence[object],
    conversations: Mapping[str, Sequence[object]],
    agents: Mapping[int, Person],
    labels: Mapping[int, str],
    *,
    system_id: str,
    naive_zone: str = "UTC",
) -> tuple[list[Ticket], list[RecordError]]:
    """Every readable ticket of a list page, and one RecordError per unreadable one."""
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    for offset, raw in enumerate(raw_tickets):
        try:
            tickets.append(
                map_ticket(
                    raw,
                    conversations.get(record_id(raw) or "", ()),
                    agents,
                    labels,
                    system_id=system_id,
                    naive_zone=naive_zone,
                    offset=offset,
                )
            )
        except RecordError as error:
            quarantined.append(error)
    return tickets, quarantined


def marker(idempotency_key: str) -> str:
    """The invisible marker that identifies one action's delivery."""
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._:-]", "_", idempotency_key))
    return MARKER_PREFIX + safe


def body_html(text: str, idempotency_key: str) -> str:
    """Plain text as Freshdesk's HTML body, marked with the action's key (an HTML comment)."""
    if not text.strip():
        raise AdapterError("a reply needs a text", ErrorContext(stream="conversations"))
    paragraphs = html.escape(text).replace("\n", "<br>")
    return f"<div>{paragraphs}</div><!-- {marker(idempotency_key)} -->"


def find_delivery(
    conversations: Iterable[object],
    idempotency_key: str,
    *,
    text: str | None = None,
    private: bool | None = None,
    known_ids: frozenset[str] | None = None,
) -> Raw | None:
    """The conversation an action created: its marker, or (when a proxy strips comments) a new
    conversation, not among ``known_ids``, with the same text and visibility."""
    wanted = marker(idempotency_key)
    for raw in conversations:
        if not isinstance(raw, Mapping):
            continue
        body = raw.get("body")
        if isinstance(body, str) and wanted in body:
            return raw
        if (
            text is not None
            and known_ids is not None
            and record_id(raw) not in known_ids
            and raw.get("private") is private
            and isinstance(raw.get("body_text"), str)
            and raw["body_text"].strip() == text.strip()
        ):
            return raw
    return None
