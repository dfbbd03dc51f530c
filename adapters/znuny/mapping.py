"""Pure mapping between Znuny TicketGet answers and the unified domain. No I/O.

Times are naive ``YYYY-MM-DD HH:MM:SS`` in the server zone (``AdapterContext.naive_zone``).
States map by name, else by state type: new → new, open → open, pending reminder → on_hold,
pending auto close± → pending, closed successful → solved, closed unsuccessful and merged →
closed, removed → closed and deleted. Priorities are Znuny's defaults "1 very low" … "5 very
high"; other names stay unknown. Articles visible for the customer are replies, others notes.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from adapters._formats import xml
from adapters._mapping import where
from adapters.base import ActionKind
from adapters.znuny.client import every, text
from app.domain import (
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
from app.timeutil import parse_timestamp, zone

STREAM = "tickets"
REMOVED = "removed"
STATES: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending reminder": Status.ON_HOLD,
    "pending auto close+": Status.PENDING,
    "pending auto close-": Status.PENDING,
    "closed successful": Status.SOLVED,
    "closed unsuccessful": Status.CLOSED,
    "merged": Status.CLOSED,
    REMOVED: Status.CLOSED,
}
STATE_TYPES: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending reminder": Status.ON_HOLD,
    "pending auto": Status.PENDING,
    "closed": Status.CLOSED,
    "merged": Status.CLOSED,
    REMOVED: Status.CLOSED,
}
STATUS_STATE: dict[Status, str] = {
    Status.NEW: "new",
    Status.OPEN: "open",
    Status.PENDING: "pending auto close+",
    Status.ON_HOLD: "pending reminder",
    Status.SOLVED: "closed successful",
    Status.CLOSED: "closed unsuccessful",
}
PRIORITIES: dict[str, Priority] = {
    "1 very low": Priority.LOW,
    "2 low": Priority.LOW,
    "3 normal": Priority.NORMAL,
    "4 high": Priority.HIGH,
    "5 very high": Priority.URGENT,
}
PENDING_DIFF_MINUTES = 24 * 60  # a pending state needs a PendingTime: one day from now


def server_time(value: str, ctx: ErrorContext, field: str, naive_zone: str) -> datetime:
    """A Znuny time as aware UTC; RecordError naming ``field`` when unreadable."""
    try:
        return parse_timestamp(value, naive_zone=naive_zone)
    except (ValueError, OverflowError) as exc:
        raise RecordError(f"{field} is unreadable: {value!r}", where(ctx, field)) from exc


def to_server_time(moment: datetime, naive_zone: str) -> str:
    """``moment`` as Znuny's naive ``YYYY-MM-DD HH:MM:SS`` in the server zone."""
    return moment.astimezone(zone(naive_zone)).strftime("%Y-%m-%d %H:%M:%S")


def map_status(state: str, state_type: str, ctx: ErrorContext) -> Status:
    """Unified status by state name, else by state type; RecordError when neither is known."""
    found = STATES.get(state) or STATE_TYPES.get(state_type)
    if found is None:
        raise RecordError(f"unknown ticket state {state!r}", where(ctx, "State"))
    return found


def map_priority(name: str) -> Priority | None:
    """Unified priority of one of Znuny's default priorities; None otherwise."""
    return PRIORITIES.get(name.strip().lower())


def _login(login: str) -> Person | None:
    if not login or login == "root@localhost":
        return None
    return Person(email=login if "@" in login else None, external_id=login)


def _requester(login: str, messages: tuple[Message, ...]) -> Person | None:
    """The customer user, named as the ``From`` of one of their own articles says."""
    found = _login(login)
    if found is None:
        return None
    for message in messages:
        author = message.author
        if author is not None and author.email == login and author.name:
            return Person(name=author.name, email=found.email, external_id=login)
    return found


def _author(sender: str) -> Person | None:
    name, address = parseaddr(sender)
    if not name and not address:
        return None
    return Person(name=name or None, email=address or None, external_id=address or None)


def map_article(node: xml.Element, ctx: ErrorContext, naive_zone: str) -> Message:
    """One ``<Article>``: visible for the customer → reply, otherwise an internal note."""
    article_id = text(node, "ArticleID")
    if not article_id.isdigit():
        raise RecordError("an article has no ArticleID", where(ctx, "Article.ArticleID"))
    field = f"Article[{article_id}]"
    visible = text(node, "IsVisibleForCustomer")
    if visible not in ("0", "1"):
        raise RecordError(
            f"article {article_id} has no IsVisibleForCustomer", where(ctx, f"{field}.visible")
        )
    return Message(
        external_id=article_id,
        kind=MessageKind.REPLY if visible == "1" else MessageKind.NOTE,
        body_text=text(node, "Body", strip=False),
        created_at=server_time(text(node, "CreateTime"), ctx, f"{field}.CreateTime", naive_zone),
        author=_author(text(node, "From")),
        attachments=tuple(_attachment(a) for a in every(node, "Attachment")),
    )


def _attachment(node: xml.Element) -> Attachment:
    """An article's ``<Attachment>`` (TicketGet with ``Attachments=1``); the bytes stay there."""
    size = text(node, "FilesizeRaw")
    kind = text(node, "ContentType").split(";")[0].strip()
    return Attachment(
        filename=text(node, "Filename") or "attachment",
        content_type=kind or None,
        size=int(size) if size.isdigit() else None,
    )


def map_ticket(
    node: xml.Element, *, system_id: str, naive_zone: str, offset: int | None = None
) -> Ticket:
    """One ``<Ticket>`` of a TicketGet answer; RecordError when it cannot be read."""
    ticket_id = text(node, "TicketID")
    ctx = ErrorContext(system=system_id, stream=STREAM, record_id=ticket_id or None, offset=offset)
    if not ticket_id.isdigit():
        raise RecordError("a ticket has no TicketID", where(ctx, "TicketID"))
    state = text(node, "State")
    status = map_status(state, text(node, "StateType"), ctx)
    number = text(node, "TicketNumber")
    messages = tuple(map_article(a, ctx, naive_zone) for a in every(node, "Article"))
    return Ticket(
        key=TicketKey(system_id, ticket_id),
        subject=text(node, "Title"),
        status=status,
        native_status=state,
        created_at=server_time(text(node, "Created"), ctx, "Created", naive_zone),
        updated_at=server_time(text(node, "Changed"), ctx, "Changed", naive_zone),
        priority=map_priority(text(node, "Priority")),
        requester=_requester(text(node, "CustomerUserID"), messages),
        assignee=_login(text(node, "Owner")),
        queue=text(node, "Queue") or None,
        deleted=state == REMOVED or text(node, "StateType") == REMOVED,
        messages=messages,
        extra={"ticket_number": number} if number else {},
    )


def article_fields(kind: ActionKind, body: str, subject: str) -> list[tuple[str, object]]:
    """The ``<Article>`` of a TicketUpdate delivering a reply or a note."""
    public = kind is ActionKind.REPLY
    return [
        ("CommunicationChannel", "Email" if public else "Internal"),
        ("IsVisibleForCustomer", 1 if public else 0),
        ("SenderType", "agent"),
        ("Subject", subject),
        ("Body", body),
        ("ContentType", "text/plain; charset=utf8"),
    ]


def state_fields(status: Status) -> list[tuple[str, object]]:
    """The ``<Ticket>`` of a TicketUpdate setting ``status`` (pending states need a time)."""
    state = STATUS_STATE[status]
    fields: list[tuple[str, object]] = [("State", state)]
    if state.startswith("pending"):
        fields.append(("PendingTime", [("Diff", PENDING_DIFF_MINUTES)]))
    return fields
