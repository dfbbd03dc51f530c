"""Pure mapping between Zendesk Support payloads and the unified domain. No I/O.

Remote → domain: export pages (tickets + sideloaded users and groups) and ticket comments
become :class:`~app.domain.Ticket` with its messages. A ticket that cannot be read (no id, an
unreadable timestamp, an unknown status, a broken comment) becomes a :class:`RecordError`
naming the system, stream, record and field; the rest of the page is kept.

Domain → remote: agent actions become the body of ``PUT /api/v2/tickets/{id}.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.base import ActionKind, ActionRequest
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
from app.timeutil import parse_timestamp

STREAM_TICKETS = "tickets"
DELETED = "deleted"
NATIVE_STATUS: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
STATUS_NATIVE: dict[Status, str] = {status: native for native, status in NATIVE_STATUS.items()}
PRIORITIES: dict[str, Priority] = {p.value: p for p in Priority}

Raw = Mapping[str, Any]


def record_id(raw: object) -> str | None:
    """A ticket's or comment's id as text; None when missing or not a positive integer."""
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("id")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return str(value)


def index_by_id(items: Iterable[object]) -> dict[int, Raw]:
    """Sideloaded objects (users, groups) by integer id; anything malformed is ignored."""
    return {
        item["id"]: item
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("id"), int)
    }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _where(ctx: ErrorContext, field: str) -> ErrorContext:
    return ErrorContext(
        system=ctx.system,
        stream=ctx.stream,
        record_id=ctx.record_id,
        field=field,
        offset=ctx.offset,
    )


def person(user_id: object, users: Mapping[int, Raw]) -> Person | None:
    """The sideloaded user ``user_id``; an id-only person when it was not sideloaded."""
    key = _int(user_id)
    if key is None:
        return None
    user = users.get(key)
    if user is None:
        return Person(external_id=str(key))
    return Person(
        name=_text(user.get("name")),
        email=_text(user.get("email")),
        phone=_text(user.get("phone")),
        external_id=str(key),
    )


def map_status(native: object, ctx: ErrorContext) -> tuple[Status, bool]:
    """Unified status and the deleted flag (``deleted`` → closed and deleted)."""
    if native == DELETED:
        return Status.CLOSED, True
    if isinstance(native, str) and native in NATIVE_STATUS:
        return NATIVE_STATUS[native], False
    raise RecordError(f"unknown ticket status {native!r}", _where(ctx, "status"))


def map_priority(native: object) -> Priority | None:
    """Unified priority; None for null or a value we do not know (never a guess)."""
    return PRIORITIES.get(native) if isinstance(native, str) else None


def timestamp(
    raw: Raw, key: str, ctx: ErrorContext, naive_zone: str, *, field: str | None = None
) -> datetime:
    """``raw[key]`` as aware UTC, else a RecordError naming ``field`` (default: ``key``)."""
    value = raw.get(key)
    name = field or key
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"{name} is missing", _where(ctx, name))
    try:
        return parse_timestamp(value, naive_zone=naive_zone)
    except (ValueError, OverflowError, OSError) as exc:
        raise RecordError(f"{name} is unreadable: {value!r}", _where(ctx, name)) from exc


def _attachment(raw: object) -> Attachment | None:
    if not isinstance(raw, Mapping):
        return None
    return Attachment(
        filename=_text(raw.get("file_name")) or "attachment",
        content_type=_text(raw.get("content_type")),
        size=_int(raw.get("size")),
        url=_text(raw.get("content_url")),
    )


def map_comment(
    raw: object, users: Mapping[int, Raw], ctx: ErrorContext, naive_zone: str
) -> Message:
    """One comment of the ticket named by ``ctx``: public → REPLY, private → NOTE."""
    comment_id = record_id(raw)
    if comment_id is None or not isinstance(raw, Mapping):
        raise RecordError("a comment has no id", _where(ctx, "comments.id"))
    field = f"comments[{comment_id}]"
    public = raw.get("public")
    if not isinstance(public, bool):
        raise RecordError(
            f"comment {comment_id} has no public flag", _where(ctx, f"{field}.public")
        )
    body = raw.get("plain_body")
    if not isinstance(body, str):
        body = raw.get("body")
    attachments = raw.get("attachments")
    return Message(
        external_id=comment_id,
        kind=MessageKind.REPLY if public else MessageKind.NOTE,
        body_text=body if isinstance(body, str) else "",
        created_at=timestamp(raw, "created_at", ctx, naive_zone, field=f"{field}.created_at"),
        author=person(raw.get("author_id"), users),
        attachments=tuple(
            item
            for item in map(_attachment, attachments if isinstance(attachments, list) else ())
            if item is not None
        ),
    )


def map_ticket(
    raw: object,
    comments: Sequence[object],
    users: Mapping[int, Raw],
    groups: Mapping[int, Raw],
    *,
    system_id: str,
    naive_zone: str = "UTC",
    offset: int | None = None,
) -> Ticket:
    """One exported ticket with its comments; raises RecordError when it cannot be read."""
    ticket_id = record_id(raw)
    ctx = ErrorContext(system=system_id, stream=STREAM_TICKETS, record_id=ticket_id, offset=offset)
    if ticket_id is None or not isinstance(raw, Mapping):
        raise RecordError("a ticket has no id", _where(ctx, "id"))
    native = raw.get("status")
    status, deleted = map_status(native, ctx)
    group = groups.get(_int(raw.get("group_id")) or 0)
    tags = raw.get("tags")
    via = raw.get("via")
    channel = via.get("channel") if isinstance(via, Mapping) else None
    subject = raw.get("subject")
    return Ticket(
        key=TicketKey(system_id, ticket_id),
        subject=subject if isinstance(subject, str) else "",
        status=status,
        native_status=str(native),
        created_at=timestamp(raw, "created_at", ctx, naive_zone),
        updated_at=timestamp(raw, "updated_at", ctx, naive_zone),
        priority=map_priority(raw.get("priority")),
        requester=person(raw.get("requester_id"), users),
        assignee=person(raw.get("assignee_id"), users),
        queue=_text(group.get("name")) if group else None,
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        deleted=deleted,
        messages=tuple(map_comment(c, users, ctx, naive_zone) for c in comments),
        extra={"channel": channel} if isinstance(channel, str) else {},
    )


def map_page(
    raw_tickets: Sequence[object],
    comments: Mapping[str, Sequence[object]],
    users: Mapping[int, Raw],
    groups: Mapping[int, Raw],
    *,
    system_id: str,
    naive_zone: str = "UTC",
) -> tuple[list[Ticket], list[RecordError]]:
    """Every readable ticket of an export page, and one RecordError per unreadable one.

    ``comments`` maps a ticket id to its comments (absent: none fetched, e.g. deleted).
    """
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    for offset, raw in enumerate(raw_tickets):
        ticket_id = record_id(raw)
        try:
            tickets.append(
                map_ticket(
                    raw,
                    comments.get(ticket_id or "", ()),
                    users,
                    groups,
                    system_id=system_id,
                    naive_zone=naive_zone,
                    offset=offset,
                )
            )
        except RecordError as error:
            quarantined.append(error)
    return tickets, quarantined


def update_body(action: ActionRequest) -> dict[str, Any]:
    """The ``ticket`` object of the PUT that delivers ``action``."""
    ctx = ErrorContext(stream=STREAM_TICKETS, record_id=action.external_id)
    change: dict[str, Any] = {}
    if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
        if not action.body or not action.body.strip():
            raise AdapterError(f"a {action.kind.value} needs a text", ctx, code="invalid_action")
        change["comment"] = {"body": action.body, "public": action.kind is ActionKind.REPLY}
    elif action.kind is ActionKind.SET_STATUS and action.status is None:
        raise AdapterError("a status change needs a status", ctx, code="invalid_action")
    if action.status is not None:
        change["status"] = STATUS_NATIVE[action.status]
    return change


def created_comment_id(response: Raw) -> str | None:
    """The id of the comment an update created, from its audit events."""
    audit = response.get("audit")
    events = audit.get("events") if isinstance(audit, Mapping) else None
    for event in events if isinstance(events, list) else ():
        if isinstance(event, Mapping) and event.get("type") == "Comment":
            return record_id(event)
    return None


def audit_id(response: Raw) -> str | None:
    """The id of the audit an update created."""
    return record_id(response.get("audit"))
