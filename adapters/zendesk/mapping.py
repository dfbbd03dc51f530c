"""Pure mapping between Zendesk Support payloads and the unified domain. No I/O.

Remote → domain: export pages (tickets + sideloaded users and groups) and ticket comments
become :class:`~app.domain.Ticket` with its messages. A ticket that cannot be read (no id, an
unreadable timestamp, an unknown status, a broken comment) becomes a :class:`RecordError`
naming the system, stream, record and field; the rest of the page is kept.

Domain → remote: agent actions become the body of ``PUT /api/v2/tickets/{id}.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard, cast

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
_REPLY, _NOTE = MessageKind.REPLY, MessageKind.NOTE  # a global is cheaper than an enum lookup
_fromisoformat = datetime.fromisoformat


def _is_mapping(value: object) -> TypeGuard[Raw]:
    # ``isinstance(x, Mapping)`` goes through the ABC machinery; decoded JSON is a plain dict.
    return value.__class__ is dict or isinstance(value, Mapping)


def _positive_id(value: object) -> str | None:
    if value.__class__ is int:
        return str(value) if value > 0 else None  # type: ignore[operator]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return str(value)


def record_id(raw: object) -> str | None:
    """A ticket's or comment's id as text; None when missing or not a positive integer."""
    if not _is_mapping(raw):
        return None
    return _positive_id(raw.get("id"))


def index_by_id(items: Iterable[object]) -> dict[int, Raw]:
    """Sideloaded objects (users, groups) by integer id; anything malformed is ignored."""
    return {
        item["id"]: item
        for item in items
        if (item.__class__ is dict or isinstance(item, Mapping))
        and ((key := item.get("id")).__class__ is int or isinstance(key, int))
    }


def _text(value: object) -> str | None:
    return value if value.__class__ is str and value else None


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


class _People(dict[int, Person | None]):
    """:func:`person` for one page, each user built once (people are immutable values).

    A dict of the people built so far, so a known one costs one dict lookup: ``people(id)``.
    """

    __slots__ = ("_users",)

    def __init__(self, users: Mapping[int, Raw]) -> None:
        super().__init__()
        self._users = users

    def __missing__(self, user_id: int) -> Person | None:
        found = self[user_id] = person(user_id, self._users)
        return found

    def __call__(self, user_id: object) -> Person | None:
        # Only real ints are keys: True == 1 in a dict, and a list is not hashable.
        return self[user_id] if user_id.__class__ is int else person(user_id, self._users)  # type: ignore[index]


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
    if value.__class__ is not str and (
        isinstance(value, bool) or not isinstance(value, str | int | float)
    ):
        name = field or key
        raise RecordError(f"{name} is missing", _where(ctx, name))
    try:
        return parse_timestamp(value, naive_zone=naive_zone)  # type: ignore[arg-type]
    except (ValueError, OverflowError, OSError) as exc:
        name = field or key
        raise RecordError(f"{name} is unreadable: {value!r}", _where(ctx, name)) from exc


def _attachment(raw: object) -> Attachment | None:
    if not _is_mapping(raw):
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
    return _comment(
        raw, _People(users), naive_zone, (ctx.system, ctx.stream, ctx.record_id, ctx.offset)
    )


# The hot path below builds an ErrorContext only when something is wrong, from the record's
# site: (system, stream, record id, offset), a plain tuple (a closure per ticket would cost a
# function, its cells and their tuple, all tracked by the cyclic collector).
_Site = tuple[str | None, str | None, str | None, int | None]


def _at(site: _Site) -> ErrorContext:
    system, stream, record_id, offset = site
    return ErrorContext(system=system, stream=stream, record_id=record_id, offset=offset)


def _utc_text(value: str) -> datetime | None:
    """``value`` when the stdlib reads it as aware UTC (``...Z``, what Zendesk sends), else None.

    Then ``parse_timestamp`` reads it the same way; this saves its checks on the hot path.
    """
    try:
        moment = _fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is UTC else None


def _comment(raw: object, people: _People, naive_zone: str, where: _Site) -> Message:
    if raw.__class__ is not dict and not isinstance(raw, Mapping):
        raise RecordError("a comment has no id", _where(_at(where), "comments.id"))
    raw = cast(Raw, raw)  # checked just above (an ``assert isinstance`` costs an ABC check)
    comment_id = (
        str(key) if (key := raw.get("id")).__class__ is int and key > 0 else _positive_id(key)
    )
    if comment_id is None:
        raise RecordError("a comment has no id", _where(_at(where), "comments.id"))
    public = raw.get("public")
    if public.__class__ is not bool:
        raise RecordError(
            f"comment {comment_id} has no public flag",
            _where(_at(where), f"comments[{comment_id}].public"),
        )
    body = raw.get("plain_body")
    if body.__class__ is not str:
        body = raw.get("body")
        if not isinstance(body, str):
            body = ""
    created = raw.get("created_at")
    created_at: datetime | None = None
    if created.__class__ is str:  # the usual case, without building the field's name
        created_at = _utc_text(created)  # type: ignore[arg-type]
        if created_at is None:
            try:
                created_at = parse_timestamp(created, naive_zone=naive_zone)  # type: ignore[arg-type]
            except (ValueError, OverflowError, OSError):
                created_at = None
    if created_at is None:  # a number, or the error naming the field
        field = f"comments[{comment_id}].created_at"
        created_at = timestamp(raw, "created_at", _at(where), naive_zone, field=field)
    attachments = raw.get("attachments")
    return Message(
        comment_id,
        _REPLY if public else _NOTE,
        body,
        created_at,
        people[author] if (author := raw.get("author_id")).__class__ is int else people(author),
        tuple(
            [
                item
                for item in map(_attachment, attachments if isinstance(attachments, list) else ())
                if item is not None
            ]
        )
        if attachments
        else (),
    )


def _time(raw: Raw, key: str, naive_zone: str, where: _Site) -> datetime:
    """:func:`timestamp` without building an ErrorContext for a readable text."""
    value = raw.get(key)
    if value.__class__ is str:
        moment = _utc_text(value)  # type: ignore[arg-type]
        if moment is not None:
            return moment
        try:
            return parse_timestamp(value, naive_zone=naive_zone)  # type: ignore[arg-type]
        except (ValueError, OverflowError, OSError):
            pass
    return timestamp(raw, key, _at(where), naive_zone)  # a number, or the error naming the field


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
    return _ticket(raw, ticket_id, comments, _People(users), groups, system_id, naive_zone, offset)


def _ticket(
    raw: object,
    ticket_id: str | None,
    comments: Sequence[object],
    people: _People,
    groups: Mapping[int, Raw],
    system_id: str,
    naive_zone: str,
    offset: int | None,
) -> Ticket:
    """:func:`map_ticket` of ``raw``, whose id ``record_id(raw)`` is ``ticket_id``."""
    where: _Site = (system_id, STREAM_TICKETS, ticket_id, offset)
    if ticket_id is None:
        raise RecordError("a ticket has no id", _where(_at(where), "id"))
    raw = cast(Raw, raw)  # record_id() found an id, so it is a mapping
    native = raw.get("status")
    if native.__class__ is str and native in NATIVE_STATUS:
        status, deleted = NATIVE_STATUS[native], False  # type: ignore[index]
    else:
        status, deleted = map_status(native, _at(where))
    group = groups.get(_int(raw.get("group_id")) or 0)
    tags = raw.get("tags")
    via = raw.get("via")
    channel = via.get("channel") if _is_mapping(via) else None
    subject = raw.get("subject")
    return Ticket(
        TicketKey(system_id, ticket_id),
        subject if isinstance(subject, str) else "",
        status,
        str(native),
        _time(raw, "created_at", naive_zone, where),
        _time(raw, "updated_at", naive_zone, where),
        PRIORITIES.get(priority) if isinstance(priority := raw.get("priority"), str) else None,
        people[who] if (who := raw.get("requester_id")).__class__ is int else people(who),
        people[who] if (who := raw.get("assignee_id")).__class__ is int else people(who),
        _text(group.get("name")) if group else None,
        tuple([t for t in tags if t.__class__ is str or isinstance(t, str)])
        if tags and isinstance(tags, list)
        else (),
        deleted,
        tuple([_comment(c, people, naive_zone, where) for c in comments]),
        {"channel": channel} if isinstance(channel, str) else {},
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
    people = _People(users)
    for offset, raw in enumerate(raw_tickets):
        ticket_id = record_id(raw)
        try:
            tickets.append(
                _ticket(
                    raw,
                    ticket_id,
                    comments.get(ticket_id or "", ()),
                    people,
                    groups,
                    system_id,
                    naive_zone,
                    offset,
                )
            )
        except RecordError as error:
            quarantined.append(error)
    return tickets, quarantined


def update_body(action: ActionRequest, uploads: Sequence[str] = ()) -> dict[str, Any]:
    """The ``ticket`` object of the PUT that delivers ``action`` (``uploads``: the tokens of
    its attached files, from ``POST /api/v2/uploads``)."""
    ctx = ErrorContext(stream=STREAM_TICKETS, record_id=action.external_id)
    change: dict[str, Any] = {}
    if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
        if not action.body or not action.body.strip():
            raise AdapterError(f"a {action.kind.value} needs a text", ctx, code="invalid_action")
        change["comment"] = {"body": action.body, "public": action.kind is ActionKind.REPLY}
        if uploads:
            change["comment"]["uploads"] = list(uploads)
    elif action.kind is ActionKind.SET_STATUS and action.status is None:
        raise AdapterError("a status change needs a status", ctx, code="invalid_action")
    if action.status is not None:
        change["status"] = STATUS_NATIVE[action.status]
    if action.kind is ActionKind.ASSIGN:
        who = action.assignee
        if who is None:
            change["assignee_id"] = None
        elif who.external_id:
            change["assignee_id"] = int(who.external_id) if who.external_id.isdigit() else None
            if change["assignee_id"] is None:
                raise AdapterError(
                    f"{who.external_id!r} is not a Zendesk user id", ctx, code="invalid_action"
                )
        elif who.email:
            change["assignee_email"] = who.email  # Zendesk resolves the agent by address
        else:
            raise AdapterError("an assignee needs an e-mail or id", ctx, code="invalid_action")
    if action.kind is ActionKind.SET_TAGS:
        if not action.add_tags and not action.remove_tags:
            raise AdapterError("no tag to add or remove", ctx, code="invalid_action")
        if action.add_tags:
            change["additional_tags"] = list(action.add_tags)
        if action.remove_tags:
            change["remove_tags"] = list(action.remove_tags)
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


def validation_errors(body: str | None) -> str | None:
    """The field errors of a Zendesk ``RecordInvalid`` answer (``"Assignee: is invalid"``)."""
    try:
        payload = json.loads(body or "")
    except ValueError:
        return None
    details = payload.get("details") if isinstance(payload, Mapping) else None
    if not isinstance(details, Mapping):
        return None
    found = [
        str(item["description"])
        for problems in details.values()
        if isinstance(problems, list)
        for item in problems
        if isinstance(item, Mapping) and item.get("description")
    ]
    return "; ".join(found) or None
