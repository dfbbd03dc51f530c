"""Pure mapping between Zammad REST payloads and the unified domain. No I/O.

Remote → domain: an expanded ticket (``state``, ``priority``, ``group`` by name), its
articles and tags become a :class:`~app.domain.Ticket`. HTML article bodies become plain text
with the standard library's tokenizer (:class:`html.parser.HTMLParser`): nothing is fetched or
run, script and style content is dropped. Zammad's ``removed`` state is a deletion; a state the
adapter does not know shows as *open* and is reported in ``Ticket.extra["unmapped_status"]``.
An unreadable ticket becomes a :class:`RecordError`.

Domain → remote: replies and notes become ``POST /api/v1/ticket_articles`` bodies whose
``message_id`` carries the action's idempotency key, so a delivery can be recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from adapters._mapping import int_value, timestamp, where
from adapters._mapping import record_id as record_id  # re-exported: the adapter uses it
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
from app.timeutil import to_iso_z

STREAM_TICKETS = "tickets"
NOBODY_ID = 1  # Zammad's "-" user owns unassigned tickets
STATES: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending reminder": Status.PENDING,
    "pending close": Status.SOLVED,
    "closed": Status.CLOSED,
    "merged": Status.CLOSED,
    "removed": Status.CLOSED,
}
DELETED_STATES = frozenset({"removed"})
TARGET_STATE: dict[Status, str] = {
    Status.NEW: "new",
    Status.OPEN: "open",
    Status.PENDING: "pending reminder",
    Status.ON_HOLD: "pending reminder",
    Status.SOLVED: "pending close",
    Status.CLOSED: "closed",
}
PENDING_STATES = frozenset({"pending reminder", "pending close"})
PENDING_DAYS = 3  # Zammad needs a pending_time for pending states
PRIORITY_WORDS: dict[str, Priority] = {p.value: p for p in Priority}
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
)
_SKIPPED = frozenset({"script", "style", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v]+")

Raw = Mapping[str, Any]


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment; blocks and ``<br>`` become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The plain text of an HTML body: tags dropped, entities decoded (``&nbsp;`` as a space),
    lines kept."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    joined = "".join(parser.parts).replace("\xa0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in joined.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def map_state(native: object, ctx: ErrorContext) -> tuple[Status, bool, bool]:
    """Unified status, the deleted flag and whether the state is one we do not know."""
    if not isinstance(native, str) or not native.strip():
        raise RecordError(f"unreadable ticket state {native!r}", where(ctx, "state"))
    name = native.strip().lower()
    if name in STATES:
        return STATES[name], name in DELETED_STATES, False
    return Status.OPEN, False, True


def map_priority(native: object) -> Priority | None:
    """``"2 normal"`` → normal; None for a name we do not know (never a guess)."""
    if not isinstance(native, str):
        return None
    words = native.strip().lower().split()
    return PRIORITY_WORDS.get(words[-1]) if words else None


def person(user: object, fallback_id: int | None = None) -> Person | None:
    """A Zammad user as a person; an id-only person when the user was not fetched."""
    if not isinstance(user, Mapping):
        return Person(external_id=str(fallback_id)) if fallback_id is not None else None
    name = " ".join(p for p in (_text(user.get("firstname")), _text(user.get("lastname"))) if p)
    return Person(
        name=name or None,
        email=_text(user.get("email")),
        phone=_text(user.get("phone")) or _text(user.get("mobile")),
        external_id=record_id(user) or (str(fallback_id) if fallback_id is not None else None),
    )


def _attachment(raw: object) -> Attachment | None:
    if not isinstance(raw, Mapping):
        return None
    size = raw.get("size")
    prefs = raw.get("preferences")
    kind = (
        prefs.get("Content-Type") or prefs.get("Mime-Type") if isinstance(prefs, Mapping) else None
    )
    return Attachment(
        filename=_text(raw.get("filename")) or "attachment",
        content_type=kind if isinstance(kind, str) else None,
        size=int(size) if isinstance(size, str) and size.isdigit() else int_value(size),
    )


def article_text(raw: Raw) -> str:
    """The plain text of an article body (HTML bodies converted)."""
    body = raw.get("body")
    if not isinstance(body, str):
        return ""
    content_type = str(raw.get("content_type") or "text/plain").lower()
    return html_to_text(body) if content_type.startswith("text/html") else body


def _author(raw: Raw, users: Mapping[int, Raw]) -> Person | None:
    author_id = int_value(raw.get("created_by_id"))
    if author_id is not None and author_id in users:
        return person(users[author_id])
    sender = _text(raw.get("from"))
    match = re.match(r"^\s*(.*?)\s*<([^<>@\s]+@[^<>\s]+)>\s*$", sender or "")
    if match:
        return Person(
            name=match.group(1) or None,
            email=match.group(2),
            external_id=str(author_id) if author_id is not None else None,
        )
    return Person(external_id=str(author_id)) if author_id is not None else None


def map_article(
    raw: object, users: Mapping[int, Raw], ctx: ErrorContext, naive_zone: str
) -> Message:
    """One article: System → EVENT, internal → NOTE, anything else → REPLY."""
    article_id = record_id(raw)
    if article_id is None or not isinstance(raw, Mapping):
        raise RecordError("an article has no id", where(ctx, "articles.id"))
    field = f"articles[{article_id}]"
    internal = raw.get("internal")
    if not isinstance(internal, bool):
        raise RecordError(
            f"article {article_id} has no internal flag", where(ctx, f"{field}.internal")
        )
    if raw.get("sender") == "System":
        kind = MessageKind.EVENT
    else:
        kind = MessageKind.NOTE if internal else MessageKind.REPLY
    attachments = raw.get("attachments")
    return Message(
        external_id=article_id,
        kind=kind,
        body_text=article_text(raw),
        created_at=timestamp(raw, "created_at", ctx, naive_zone, f"{field}.created_at"),
        author=_author(raw, users),
        attachments=tuple(
            a
            for a in map(_attachment, attachments if isinstance(attachments, list) else ())
            if a is not None
        ),
    )


def map_ticket(
    raw: object,
    articles: Sequence[object],
    tags: Sequence[object],
    users: Mapping[int, Raw],
    *,
    system_id: str,
    naive_zone: str = "UTC",
    offset: int | None = None,
    gone: bool = False,
) -> Ticket:
    """One expanded ticket with its articles and tags; RecordError when it cannot be read.

    ``gone``: the ticket was deleted outright after it was listed.
    """
    ticket_id = record_id(raw)
    ctx = ErrorContext(system=system_id, stream=STREAM_TICKETS, record_id=ticket_id, offset=offset)
    if ticket_id is None or not isinstance(raw, Mapping):
        raise RecordError("a ticket has no id", where(ctx, "id"))
    native = raw.get("state")
    status, deleted, unmapped = map_state(native, ctx)
    customer_id = int_value(raw.get("customer_id"))
    owner_id = int_value(raw.get("owner_id"))
    title = raw.get("title")
    extra: dict[str, str] = {}
    if isinstance(raw.get("number"), str):
        extra["number"] = raw["number"]
    if unmapped:
        extra["unmapped_status"] = str(native)
    return Ticket(
        key=TicketKey(system_id, ticket_id),
        subject=title if isinstance(title, str) else "",
        status=Status.CLOSED if gone else status,
        native_status=str(native),
        created_at=timestamp(raw, "created_at", ctx, naive_zone),
        updated_at=timestamp(raw, "updated_at", ctx, naive_zone),
        priority=map_priority(raw.get("priority")),
        requester=person(users.get(customer_id or 0), customer_id),
        assignee=person(users.get(owner_id), owner_id)
        if owner_id is not None and owner_id != NOBODY_ID
        else None,
        queue=_text(raw.get("group")),
        tags=tuple(t for t in tags if isinstance(t, str)),
        deleted=deleted or gone,
        messages=tuple(map_article(a, users, ctx, naive_zone) for a in articles),
        extra=extra,
    )


def map_page(
    raw_tickets: Sequence[object],
    articles: Mapping[str, Sequence[object] | None],
    tags: Mapping[str, Sequence[object]],
    users: Mapping[int, Raw],
    *,
    system_id: str,
    naive_zone: str = "UTC",
) -> tuple[list[Ticket], list[RecordError]]:
    """Every readable ticket of a search page, and one RecordError per unreadable one.

    ``articles`` maps a ticket id to its articles, or to None when the ticket is gone.
    """
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    for offset, raw in enumerate(raw_tickets):
        ticket_id = record_id(raw) or ""
        found = articles.get(ticket_id, ())
        try:
            tickets.append(
                map_ticket(
                    raw,
                    found or (),
                    tags.get(ticket_id, ()),
                    users,
                    system_id=system_id,
                    naive_zone=naive_zone,
                    offset=offset,
                    gone=ticket_id in articles and found is None,
                )
            )
        except RecordError as error:
            quarantined.append(error)
    return tickets, quarantined


def user_ids(raw_tickets: Iterable[object], articles: Iterable[Sequence[object]]) -> set[int]:
    """The users a page refers to: customers, owners and article authors."""
    wanted: set[int] = set()
    for raw in raw_tickets:
        if isinstance(raw, Mapping):
            wanted.update(
                i
                for key in ("customer_id", "owner_id")
                if (i := int_value(raw.get(key))) is not None
            )
    for rows in articles:
        for article in rows:
            if isinstance(article, Mapping) and (i := int_value(article.get("created_by_id"))):
                wanted.add(i)
    wanted.discard(NOBODY_ID)
    return wanted


def message_id(idempotency_key: str) -> str:
    """The ``message_id`` that identifies one action's article."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", idempotency_key)
    return f"<tabless.{safe}@tabless.invalid>"


def article_body(action: ActionRequest, ticket_id: int) -> dict[str, Any]:
    """The ``POST /api/v1/ticket_articles`` body delivering a reply (public) or a note."""
    if not action.body or not action.body.strip():
        raise AdapterError(
            f"a {action.kind.value} needs a text",
            ErrorContext(stream="articles", record_id=str(ticket_id)),
            code="invalid_action",
        )
    return {
        "ticket_id": ticket_id,
        "body": action.body,
        "content_type": "text/plain",
        "type": "note",
        "internal": action.kind is ActionKind.NOTE,
        "sender": "Agent",
        "message_id": message_id(action.idempotency_key),
    }


def state_change(status: Status, now: datetime) -> dict[str, Any]:
    """The ``PUT /api/v1/tickets/{id}`` body for ``status`` (pending states get a time)."""
    state = TARGET_STATE[status]
    change: dict[str, Any] = {"state": state}
    if state in PENDING_STATES:
        change["pending_time"] = to_iso_z(now + timedelta(days=PENDING_DAYS))
    return change


def find_delivery(
    articles: Iterable[object],
    idempotency_key: str,
    *,
    text: str | None = None,
    internal: bool | None = None,
    known_ids: frozenset[str] | None = None,
) -> Raw | None:
    """The article an action created: its ``message_id``, or (when the server dropped it) a new
    article, not among ``known_ids``, with the same text and visibility."""
    wanted = message_id(idempotency_key)
    for raw in articles:
        if not isinstance(raw, Mapping):
            continue
        if raw.get("message_id") == wanted:
            return raw
        if (
            text is not None
            and known_ids is not None
            and record_id(raw) not in known_ids
            and raw.get("internal") is internal
            and article_text(raw).strip() == text.strip()
        ):
            return raw
    return None
