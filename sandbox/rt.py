"""Request Tracker stand-in: the parts of RT 5's REST2 API (``/REST/2.0``) Tabless uses.

Shapes follow ``RT::REST2`` (bestpractical/rt ``lib/RT/REST2.pm`` and ``Util.pm``):

- Auth: ``Authorization: token <token>`` (RT::Authen::Token); otherwise ``401
  {"message": "Unauthorized"}``.
- ``GET /tickets?query=<TicketSQL>&orderby=&order=&page=&per_page=&fields=``: the collection
  format ``{"count", "page", "pages", "per_page", "total", "next_page"?, "prev_page"?, "items"}``;
  each item is ``{"type": "ticket", "id": "7", "_url": ...}`` plus the requested ``fields``. The
  TicketSQL understood is ``LastUpdated > 'YYYY-MM-DD HH:MM:SS'`` (read in UTC, the API user's
  zone), optionally ``AND (Status = '__Active__' OR Status = '__Inactive__')``; as in RT, a query
  that does not mention ``Status`` leaves deleted tickets out. ``per_page`` is capped at 100.
- ``GET /ticket/{id}``: the record (dates W3CDTF in UTC, ``Queue``/``Owner``/``Creator`` as
  ``{"type", "id", "_url"}``, ``Requestor`` a list of them), ``_hyperlinks``; ``ETag`` is the id
  of the ticket's newest transaction (``WithETag.pm``); ``If-None-Match`` with it answers ``304``.
- ``PUT /ticket/{id}`` ``{"Status": ...}``: ``If-Match`` must equal the ETag, else ``412
  {"message": "Precondition Failed"}``; answers ``["Ticket 7: Status changed from 'open' to
  'resolved'"]``.
- ``POST /ticket/{id}/correspond`` and ``/comment`` ``{"Content", "ContentType", "Subject"?}``:
  ``201`` with ``["Correspondence added"]`` / ``["Comments added"]``.
- ``GET /ticket/{id}/history``: transactions collection (``fields`` allowed); ``GET
  /transaction/{id}``, ``GET /transaction/{id}/attachments`` (``fields`` allowed) and ``GET
  /attachment/{id}`` whose ``Content`` is base64. In collections' ``fields`` dates are
  ``YYYY-MM-DD HH:MM:SS`` (UTC, as RT stores them); in single records they are W3CDTF.
- ``GET /user/{name}``, ``GET /rt`` (system information).

Statuses are RT's default lifecycle: new, open, stalled, resolved, rejected, deleted.
Test helpers: :meth:`update_ticket`, :meth:`add_transaction`, :meth:`delete_ticket`,
:meth:`corrupt`, :meth:`lose_next_response`; :attr:`served` counts requests, ``304`` answers and
bytes sent per endpoint kind.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.dataset import AGENTS, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan

DEMO_TOKEN = "1-14-8a4b6c0f2d9e47b1a3c5e7f9d2b4a6c8"
API_USER = "tabless"
ID_OFFSET = 4000  # the quality system's seed ids 1..60 become RT tickets 4001..4060
STATUSES = ("new", "open", "stalled", "resolved", "rejected", "deleted")
SEED_STATUS = {
    "pending": "stalled",
    "on_hold": "stalled",
    "solved": "resolved",
    "closed": "rejected",
}
SEED_PRIORITY = {"low": 0, "normal": 50, "high": 100, "urgent": 100}
QUEUE_IDS = {"General": 1, "Support": 2, "QA Review": 3}  # other queue names show as Support
MAX_PER_PAGE = 100
REST = "/REST/2.0"
SQL_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FIELDS = frozenset({"Created", "LastUpdated", "Resolved", "Started", "Due", "Told"})
_QUERY = re.compile(
    r"""^\s*\(?\s*LastUpdated\s*>\s*'(?P<since>\d{4}-\d\d-\d\d[ ]\d\d:\d\d:\d\d)'\s*\)?
        (?P<status>\s+AND\s+\(\s*Status\s*=\s*'__Active__'\s+OR\s+Status\s*=\s*'__Inactive__'\s*\))?
        \s*$""",
    re.X | re.I,
)
FOLLOW_UPS = ("请问现在处理得怎么样了？", "Any update on this?", "收到，谢谢！")


def w3c(moment: datetime) -> str:
    """``2024-03-05T08:15:30Z`` (RT's ``W3CDTF(Timezone => 'UTC')``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql(moment: datetime) -> str:
    """``2024-03-05 08:15:30`` in UTC, as RT stores dates."""
    return moment.astimezone(UTC).strftime(SQL_FORMAT)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _message(status: int, text: str) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status)


@dataclass
class RtAttachment:
    id: int
    transaction_id: int
    content_type: str
    content: bytes
    filename: str = ""
    subject: str = ""
    parent: int = 0


@dataclass
class RtTransaction:
    id: int
    ticket_id: int
    type: str  # Create, Correspond, Comment, Status
    creator: str
    created: datetime
    field_name: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    attachments: list[int] = field(default_factory=list)


@dataclass
class RtTicket:
    id: int
    subject: str
    status: str
    queue: str
    owner: str
    requestors: list[str]
    priority: int
    created: datetime
    last_updated: datetime
    resolved: datetime | None = None
    transactions: list[int] = field(default_factory=list)
    broken: dict[str, Any] = field(default_factory=dict)  # raw overrides (tests)


@dataclass
class RtUser:
    id: int
    name: str
    email: str
    real_name: str
    phone: str = ""


class _Counting:
    """ASGI middleware counting requests, ``304`` answers and body bytes per endpoint kind."""

    def __init__(self, app: ASGIApp, served: Counter[str]) -> None:
        self.app = app
        self.served = served

    @staticmethod
    def kind(path: str) -> str:
        parts = path.removeprefix(REST).strip("/").split("/")
        if len(parts) >= 3:
            return f"{parts[0]}/{parts[2]}"
        return parts[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.kind(scope["path"])
        self.served[f"requests:{kind}"] += 1

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 304:
                self.served[f"304:{kind}"] += 1
            if message["type"] == "http.response.body":
                self.served[f"bytes:{kind}"] += len(message.get("body", b""))
                self.served["bytes"] += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting_send)


class RtStandIn:
    """An RT 5 instance holding the ``quality`` tickets of the shared data set (re-keyed)."""

    name = "rt"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        token: str = DEMO_TOKEN,
        source_system: str = "quality",
    ) -> None:
        self.token = token
        self.plan = FaultPlan()
        self.served: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._tickets: dict[int, RtTicket] = {}
        self._txns: dict[int, RtTransaction] = {}
        self._attachments: dict[int, RtAttachment] = {}
        self._users: dict[str, RtUser] = {}
        self._user_ids = itertools.count(20)
        self._txn_ids = itertools.count(100_000)
        self._ticket_ids = itertools.count(9000)
        self._lose: list[str] = []
        self._last_change = datetime(1970, 1, 1, tzinfo=UTC)
        self._user(API_USER, "tabless-api@support.example.com", "Tabless Integration")
        self._user("Nobody", "", "Nobody in particular")
        self._user("RT_System", "", "The RT System itself")
        for agent in AGENTS:
            self._user(agent.email.split("@")[0], agent.email, agent.name)
        for seed in by_system(tickets, source_system):
            self._seed(seed)
        self.app: ASGIApp = _Counting(FaultMiddleware(self._starlette(), self.plan), self.served)

    # ----------------------------------------------------------------------------- seeding

    def _user(self, name: str, email: str, real_name: str, phone: str = "") -> RtUser:
        if name not in self._users:
            self._users[name] = RtUser(next(self._user_ids), name, email, real_name, phone)
        return self._users[name]

    def _agent_name(self, email: str) -> str:
        return email.split("@")[0]

    def _seed(self, seed: SeedTicket) -> None:
        customer = self._user(
            seed.customer.email, seed.customer.email, seed.customer.name, seed.customer.phone
        )
        ticket = RtTicket(
            id=seed.id + ID_OFFSET,
            subject=seed.subject,
            status="new",
            queue=seed.queue,
            owner=self._agent_name(seed.assignee.email) if seed.assignee else "Nobody",
            requestors=[customer.name],
            priority=SEED_PRIORITY[seed.priority],
            created=seed.created_at,
            last_updated=seed.created_at,
        )
        self._tickets[ticket.id] = ticket
        for index, entry in enumerate(seed.entries):
            creator = (
                customer.name
                if entry.author_kind == "customer"
                else (
                    self._user(
                        self._agent_name(entry.author_email), entry.author_email, entry.author_name
                    ).name
                )
            )
            kind = "Create" if index == 0 else ("Correspond" if entry.public else "Comment")
            files = [("破损照片.jpg", "image/jpeg")] if "破损" in entry.body and index == 0 else []
            self._add(ticket, kind, creator, entry.created_at, body=entry.body, files=files)
        final = SEED_STATUS.get(seed.status, seed.status)
        if final != "new":
            self._add(
                ticket,
                "Status",
                ticket.owner if ticket.owner != "Nobody" else API_USER,
                seed.updated_at,
                field_name="Status",
                old=ticket.status,
                new=final,
            )
        ticket.last_updated = seed.updated_at

    def _add(
        self,
        ticket: RtTicket,
        kind: str,
        creator: str,
        at: datetime,
        *,
        body: str | None = None,
        files: Iterable[tuple[str, str]] = (),
        field_name: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> RtTransaction:
        txn = RtTransaction(next(self._txn_ids), ticket.id, kind, creator, at, field_name, old, new)
        if body is not None:
            root = self._attach(txn, "multipart/mixed", b"", subject=ticket.subject)
            self._attach(txn, "text/plain", body.encode("utf-8"), parent=root.id)
            for filename, content_type in files:
                self._attach(txn, content_type, b"\xff\xd8\xff\xe0JFIF", filename, root.id)
        if kind == "Status" and new is not None:
            ticket.status = new
            if new in ("resolved", "rejected"):
                ticket.resolved = at
        self._txns[txn.id] = txn
        ticket.transactions.append(txn.id)
        ticket.last_updated = at
        self._last_change = max(self._last_change, at)
        return txn

    def _attach(
        self,
        txn: RtTransaction,
        content_type: str,
        content: bytes,
        filename: str = "",
        parent: int = 0,
        subject: str = "",
    ) -> RtAttachment:
        attachment = RtAttachment(
            next(self._txn_ids), txn.id, content_type, content, filename, subject, parent
        )
        self._attachments[attachment.id] = attachment
        txn.attachments.append(attachment.id)
        return attachment

    def _stamp(self) -> datetime:
        """Now, never before the last change (the search relies on LastUpdated order)."""
        moment = max(_now(), self._last_change)
        self._last_change = moment
        return moment

    # --------------------------------------------------------------------- test/demo helpers

    def ticket_ids(self) -> list[int]:
        """Every ticket id (deleted included), oldest LastUpdated first."""
        with self._lock:
            ordered = sorted(self._tickets.values(), key=lambda t: (t.last_updated, t.id))
            return [t.id for t in ordered]

    def ticket(self, ticket_id: int) -> RtTicket:
        """The stored ticket (live object; read under the test's own discretion)."""
        with self._lock:
            return self._tickets[ticket_id]

    def conversation(self, ticket_id: int) -> list[tuple[str, str, str]]:
        """``(type, creator, text)`` of every Create/Correspond/Comment transaction."""
        with self._lock:
            out = []
            for txn_id in self._tickets[ticket_id].transactions:
                txn = self._txns[txn_id]
                if txn.type in ("Create", "Correspond", "Comment"):
                    out.append((txn.type, txn.creator, self._body(txn)))
            return out

    def _body(self, txn: RtTransaction) -> str:
        for attachment_id in txn.attachments:
            attachment = self._attachments[attachment_id]
            if attachment.content_type == "text/plain" and not attachment.filename:
                return attachment.content.decode("utf-8")
        return ""

    def update_ticket(self, ticket_id: int, *, status: str | None = None, **fields: Any) -> None:
        """A colleague's change: a Status transaction and/or raw field overrides."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            at = self._stamp()
            if status is not None:
                self._add(
                    ticket,
                    "Status",
                    "daniel.weber",
                    at,
                    field_name="Status",
                    old=ticket.status,
                    new=status,
                )
            for key, value in fields.items():
                setattr(ticket, key, value)
            ticket.last_updated = at

    def add_transaction(
        self, ticket_id: int, body: str, *, kind: str = "Correspond", creator: str | None = None
    ) -> int:
        """A requester's reply (or an agent's ``Comment``); the new transaction's id."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            author = creator or ticket.requestors[0]
            txn = self._add(ticket, kind, author, self._stamp(), body=body)
            if author in ticket.requestors and ticket.status in ("stalled", "resolved"):
                self._add(
                    ticket,
                    "Status",
                    "RT_System",
                    txn.created,
                    field_name="Status",
                    old=ticket.status,
                    new="open",
                )
            return txn.id

    def delete_ticket(self, ticket_id: int) -> None:
        """``DELETE /ticket/{id}``: status ``deleted``."""
        self.update_ticket(ticket_id, status="deleted")

    def corrupt(self, ticket_id: int, **raw: Any) -> None:
        """Serve these raw JSON values in the ticket record (e.g. ``Created="soon"``)."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            ticket.broken.update(raw)
            ticket.last_updated = self._stamp()

    def lose_next_response(self, path_suffix: str) -> None:
        """The next request ending in ``path_suffix`` is applied, then answered ``504``."""
        self._lose.append(path_suffix)

    def create_ticket(self, subject: str, body: str, requestor: str) -> int:
        """A new ticket from a customer's e-mail; its id."""
        with self._lock:
            at = self._stamp()
            ticket = RtTicket(
                next(self._ticket_ids), subject, "new", "General", "Nobody", [requestor], 50, at, at
            )
            self._tickets[ticket.id] = ticket
            self._add(ticket, "Create", requestor, at, body=body)
            return ticket.id

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic change: a requester's reply, a new ticket or a colleague's status."""
        with self._lock:
            live = [t for t in self._tickets.values() if t.status in ("open", "stalled")]
            customers = [u for u in self._users.values() if "@" in u.name]
        kind = rng.choices(("reply", "new", "status"), (5, 2, 3))[0]
        if kind == "reply" and live:
            self.add_transaction(rng.choice(live).id, rng.choice(FOLLOW_UPS))
        elif kind == "status" and live:
            self.update_ticket(rng.choice(live).id, status=rng.choice(("stalled", "resolved")))
        else:
            self.create_ticket(
                "发票抬头填写错误", "发票抬头写错了，能否重新开具？", rng.choice(customers).name
            )

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``rt`` adapter to this stand-in."""
        return {
            "adapter": "rt",
            "title": "Request Tracker (sandbox)",
            "settings": {"base_url": base_url, "username": API_USER},
            "secrets": {"token": self.token},
            "naive_zone": "UTC",
        }

    # -------------------------------------------------------------------------- rendering

    @staticmethod
    def _uid(base: str, kind: str, ident: str | int) -> dict[str, str]:
        return {"type": kind, "id": str(ident), "_url": f"{base}/{kind}/{ident}"}

    def _ticket_json(self, ticket: RtTicket, base: str) -> dict[str, Any]:
        unset = "1970-01-01T00:00:00Z"
        body: dict[str, Any] = {
            "id": ticket.id,
            "EffectiveId": self._uid(base, "ticket", ticket.id),
            "Type": "ticket",
            "Subject": ticket.subject,
            "Status": ticket.status,
            "Queue": self._uid(base, "queue", QUEUE_IDS.get(ticket.queue, 2)),
            "Owner": self._uid(base, "user", ticket.owner),
            "Creator": self._uid(base, "user", ticket.requestors[0]),
            "LastUpdatedBy": self._uid(base, "user", API_USER),
            "Requestor": [self._uid(base, "user", r) for r in ticket.requestors],
            "Cc": [],
            "AdminCc": [],
            "Priority": str(ticket.priority),
            "InitialPriority": str(ticket.priority),
            "FinalPriority": "0",
            "TimeEstimated": "0",
            "TimeWorked": "0",
            "TimeLeft": "0",
            "Created": w3c(ticket.created),
            "Started": unset,
            "Starts": unset,
            "Due": unset,
            "Told": unset,
            "Resolved": w3c(ticket.resolved) if ticket.resolved else unset,
            "LastUpdated": w3c(ticket.last_updated),
            "CustomFields": [],
            "_hyperlinks": [
                {**self._uid(base, "ticket", ticket.id), "ref": "self"},
                {"ref": "history", "_url": f"{base}/ticket/{ticket.id}/history"},
                {"ref": "correspond", "_url": f"{base}/ticket/{ticket.id}/correspond"},
                {"ref": "comment", "_url": f"{base}/ticket/{ticket.id}/comment"},
            ],
        }
        body.update(ticket.broken)
        return body

    def _txn_json(self, txn: RtTransaction, base: str, dates: str = "w3c") -> dict[str, Any]:
        created = w3c(txn.created) if dates == "w3c" else sql(txn.created)
        return {
            "id": txn.id,
            "Type": txn.type,
            "Created": created,
            "Creator": self._uid(base, "user", txn.creator),
            "Object": self._uid(base, "ticket", txn.ticket_id),
            "ObjectType": "RT::Ticket",
            "ObjectId": txn.ticket_id,
            "Field": txn.field_name,
            "OldValue": txn.old_value,
            "NewValue": txn.new_value,
            "Data": None,
            "TimeTaken": 0,
            "_hyperlinks": [
                {**self._uid(base, "transaction", txn.id), "ref": "self"},
                *({"ref": "attachment", "_url": f"{base}/attachment/{a}"} for a in txn.attachments),
            ],
        }

    def _attachment_json(
        self, attachment: RtAttachment, base: str, dates: str = "w3c"
    ) -> dict[str, Any]:
        txn = self._txns[attachment.transaction_id]
        headers = f'Content-Type: {attachment.content_type}; charset="UTF-8"\n'
        return {
            "id": attachment.id,
            "TransactionId": self._uid(base, "transaction", txn.id),
            "Parent": attachment.parent,
            "MessageId": "",
            "Subject": attachment.subject,
            "Filename": attachment.filename,
            "ContentType": attachment.content_type,
            "ContentEncoding": "none",
            "Content": base64.b64encode(attachment.content).decode("ascii"),
            "Headers": headers,
            "Creator": self._uid(base, "user", txn.creator),
            "Created": w3c(txn.created) if dates == "w3c" else sql(txn.created),
            "_hyperlinks": [{**self._uid(base, "attachment", attachment.id), "ref": "self"}],
        }

    @staticmethod
    def _etag(ticket: RtTicket) -> str:
        return f'"{ticket.transactions[-1] if ticket.transactions else 0}"'

    # ------------------------------------------------------------------------------ HTTP

    def _starlette(self) -> Starlette:
        routes = [
            Route(f"{REST}/rt", self._rt, methods=["GET"]),
            Route(f"{REST}/tickets", self._search, methods=["GET"]),
            Route(f"{REST}/ticket/{{id:int}}", self._get_ticket, methods=["GET"]),
            Route(f"{REST}/ticket/{{id:int}}", self._put_ticket, methods=["PUT"]),
            Route(f"{REST}/ticket/{{id:int}}/history", self._history, methods=["GET"]),
            Route(f"{REST}/ticket/{{id:int}}/correspond", self._correspond, methods=["POST"]),
            Route(f"{REST}/ticket/{{id:int}}/comment", self._comment, methods=["POST"]),
            Route(f"{REST}/transaction/{{id:int}}", self._get_txn, methods=["GET"]),
            Route(
                f"{REST}/transaction/{{id:int}}/attachments", self._txn_attachments, methods=["GET"]
            ),
            Route(f"{REST}/attachment/{{id:int}}", self._get_attachment, methods=["GET"]),
            Route(f"{REST}/user/{{name}}", self._get_user, methods=["GET"]),
            Route(f"{REST}/queue/{{id:int}}", self._get_queue, methods=["GET"]),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            return _message(404, "Not Found")

        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + REST

    def _denied(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "token" or token != self.token:
            return _message(401, "Unauthorized")
        return None

    def _lost(self, request: Request, response: Response) -> Response:
        for index, suffix in enumerate(self._lose):
            if request.url.path.endswith(suffix):
                del self._lose[index]
                return _message(504, "Gateway Timeout")
        return response

    @staticmethod
    def _paging(request: Request) -> tuple[int, int]:
        try:
            page = max(1, int(request.query_params.get("page", "1")))
            per_page = int(request.query_params.get("per_page", "20"))
        except ValueError:
            raise ValueError("page and per_page must be numbers") from None
        return page, max(1, min(MAX_PER_PAGE, per_page))

    def _collection(
        self, request: Request, path: str, items: list[dict[str, Any]], page: int, per_page: int
    ) -> JSONResponse:
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        body: dict[str, Any] = {
            "count": len(chunk),
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "total": total,
            "items": chunk,
        }
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        link = f"{self._base(request)}{path}?{urlencode(query)}&page="
        if page < pages:
            body["next_page"] = f"{link}{page + 1}"
        if page > 1:
            body["prev_page"] = f"{link}{page - 1}"
        return JSONResponse(body)

    @staticmethod
    def _fields(request: Request) -> list[str]:
        return [f for f in request.query_params.get("fields", "").split(",") if f]

    async def _rt(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse({"Version": "5.0.5", "Plugins": []})

    async def _search(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        match = _QUERY.match(request.query_params.get("query", ""))
        if match is None:
            return _message(400, "Invalid query: only LastUpdated > '...' is supported here")
        try:
            page, per_page = self._paging(request)
        except ValueError as exc:
            return _message(400, str(exc))
        since = datetime.strptime(match["since"], SQL_FORMAT).replace(tzinfo=UTC)
        orderby = request.query_params.getlist("orderby") or ["id"]
        orders = request.query_params.getlist("order")
        base = self._base(request)
        fields = self._fields(request)
        with self._lock:
            matching = [
                t
                for t in self._tickets.values()
                if t.last_updated > since and (match["status"] or t.status != "deleted")
            ]
            for index in reversed(range(len(orderby))):  # stable sorts, last key first
                key = orderby[index]
                descending = index < len(orders) and orders[index].upper() == "DESC"
                if key == "LastUpdated":
                    matching.sort(key=lambda t: t.last_updated, reverse=descending)
                elif key == "id":
                    matching.sort(key=lambda t: t.id, reverse=descending)
                else:
                    return _message(400, f"Unsupported orderby {key}")
            items = []
            for ticket in matching:
                item: dict[str, Any] = self._uid(base, "ticket", ticket.id)
                record = self._ticket_json(ticket, base)
                for name in fields:
                    value = record.get(name)
                    if name in DATE_FIELDS and name not in ticket.broken:
                        value = str(value).replace("T", " ").removesuffix("Z")  # RT's SQL form
                    item[name] = value
                items.append(item)
        return self._collection(request, "/tickets", items, page, per_page)

    def _ticket_or_404(self, request: Request) -> RtTicket | Response:
        ticket = self._tickets.get(request.path_params["id"])
        if ticket is None:
            return _message(404, "Resource does not exist")
        return ticket

    async def _get_ticket(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            ticket = self._ticket_or_404(request)
            if isinstance(ticket, Response):
                return ticket
            etag = self._etag(ticket)
            headers = {"ETag": etag, "Last-Modified": w3c(ticket.last_updated)}
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers=headers)
            return JSONResponse(self._ticket_json(ticket, self._base(request)), headers=headers)

    async def _put_ticket(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            change = json.loads(await request.body())
            if not isinstance(change, dict):
                raise ValueError
        except ValueError:
            return _message(400, "JSON object expected")
        with self._lock:
            ticket = self._ticket_or_404(request)
            if isinstance(ticket, Response):
                return ticket
            wanted = request.headers.get("if-match")
            if wanted is not None and wanted != self._etag(ticket):
                return _message(412, "Precondition Failed")
            messages = []
            status = change.get("Status")
            if status is not None:
                if status not in STATUSES:
                    return JSONResponse(
                        [f"Status '{status}' isn't a valid status for this ticket."]
                    )
                if status != ticket.status:
                    old = ticket.status
                    self._add(
                        ticket,
                        "Status",
                        API_USER,
                        self._stamp(),
                        field_name="Status",
                        old=old,
                        new=status,
                    )
                    messages.append(
                        f"Ticket {ticket.id}: Status changed from '{old}' to '{status}'"
                    )
            response = JSONResponse(messages, headers={"ETag": self._etag(ticket)})
        return self._lost(request, response)

    async def _correspond(self, request: Request) -> Response:
        return await self._post_message(request, "Correspond", "Correspondence added")

    async def _comment(self, request: Request) -> Response:
        return await self._post_message(request, "Comment", "Comments added")

    async def _post_message(self, request: Request, kind: str, done: str) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("text/plain"):
            content = raw.decode("utf-8")
        else:
            try:
                payload = json.loads(raw)
                content = str(payload.get("Content") or "")
            except (ValueError, AttributeError):
                return _message(400, "JSON object expected")
        if not content.strip():
            return _message(400, "Content is required")
        with self._lock:
            ticket = self._ticket_or_404(request)
            if isinstance(ticket, Response):
                return ticket
            self._add(ticket, kind, API_USER, self._stamp(), body=content)
            if kind == "Correspond" and ticket.status == "new":
                self._add(
                    ticket,
                    "Status",
                    API_USER,
                    ticket.last_updated,
                    field_name="Status",
                    old="new",
                    new="open",
                )
            response = JSONResponse([done], status_code=201)
        return self._lost(request, response)

    async def _history(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            page, per_page = self._paging(request)
        except ValueError as exc:
            return _message(400, str(exc))
        base = self._base(request)
        fields = self._fields(request)
        with self._lock:
            ticket = self._ticket_or_404(request)
            if isinstance(ticket, Response):
                return ticket
            items = []
            for txn_id in ticket.transactions:
                txn = self._txns[txn_id]
                record = self._txn_json(txn, base, dates="sql")
                item: dict[str, Any] = self._uid(base, "transaction", txn.id)
                item.update({name: record.get(name) for name in fields})
                items.append(item)
        return self._collection(request, f"/ticket/{ticket.id}/history", items, page, per_page)

    async def _get_txn(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            txn = self._txns.get(request.path_params["id"])
            if txn is None:
                return _message(404, "Resource does not exist")
            return JSONResponse(self._txn_json(txn, self._base(request)))

    async def _txn_attachments(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            page, per_page = self._paging(request)
        except ValueError as exc:
            return _message(400, str(exc))
        base = self._base(request)
        fields = self._fields(request)
        with self._lock:
            txn = self._txns.get(request.path_params["id"])
            if txn is None:
                return _message(404, "Resource does not exist")
            items = []
            for attachment_id in txn.attachments:
                record = self._attachment_json(self._attachments[attachment_id], base, "sql")
                item: dict[str, Any] = self._uid(base, "attachment", attachment_id)
                item.update({name: record.get(name) for name in fields})
                items.append(item)
        return self._collection(
            request, f"/transaction/{txn.id}/attachments", items, page, per_page
        )

    async def _get_attachment(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            attachment = self._attachments.get(request.path_params["id"])
            if attachment is None:
                return _message(404, "Resource does not exist")
            return JSONResponse(self._attachment_json(attachment, self._base(request)))

    async def _get_queue(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        names = {queue_id: name for name, queue_id in QUEUE_IDS.items()}
        name = names.get(request.path_params["id"])
        if name is None:
            return _message(404, "Resource does not exist")
        base = self._base(request)
        return JSONResponse(
            {
                "id": request.path_params["id"],
                "Name": name,
                "Description": "",
                "Lifecycle": "default",
                "Disabled": "0",
                "_hyperlinks": [
                    {**self._uid(base, "queue", request.path_params["id"]), "ref": "self"}
                ],
            }
        )

    async def _get_user(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            user = self._users.get(request.path_params["name"])
            if user is None:
                return _message(404, "Resource does not exist")
            return JSONResponse(
                {
                    "id": user.id,
                    "Name": user.name,
                    "EmailAddress": user.email,
                    "RealName": user.real_name,
                    "MobilePhone": user.phone,
                    "Privileged": "@" not in user.name,
                    "Disabled": "0",
                    "_hyperlinks": [
                        {**self._uid(self._base(request), "user", user.id), "ref": "self"}
                    ],
                }
            )
