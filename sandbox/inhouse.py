"""A company's in-house ticket API in several styles, for declarative (mapping-file) adapters.

The same tickets (the ``zendesk`` seeds of the shared data set, re-keyed by ``ID_OFFSET``) are
served in the style chosen per instance (``style=``):

======== ============================== ===================== ======================== ==========
style    pagination                     auth (default)        timestamps               messages
======== ============================== ===================== ======================== ==========
page     ``page``/``per_page`` (JSON)   API key header        ISO 8601 UTC (``Z``)     endpoint
cursor   ``meta.next_cursor`` in body   HTTP Basic            naive Asia/Shanghai      inline
next     ``next`` link in the body      static bearer token   epoch milliseconds       inline
link     ``Link: <…>; rel="next"``      API key query param   ISO 8601 with ``+08:00`` inline
offset   ``offset``/``limit``           JWT HS256 bearer      epoch seconds            inline
xml      ``page``/``per_page`` (XML)    HTTP Basic            naive Shanghai ``Y/m/d`` endpoint
csv      ``page``/``per_page`` (CSV)    API key header        naive UTC ``d.m.Y H:M:S`` endpoint
======== ============================== ===================== ======================== ==========

``auth=`` overrides the style's auth: ``api_key_header``, ``api_key_query``, ``basic``,
``bearer``, ``jwt`` (HS256, issuer ``tabless``), ``oauth2`` (client credentials at
``POST /oauth/token``) or ``oauth2_code`` (browser sign-in with PKCE and rotating refresh tokens,
:class:`sandbox.oauth.AuthorizationServer` as ``self.oauth``).

Endpoints (every style):

- ``GET /api/tickets``: the list, ordered by (update time, id); ``updated_since`` (inclusive, in
  the style's timestamp format) asks for changes only. Deleted tickets stay listed with
  ``deleted: true`` (XML ``deleted="true"``).
- ``GET /api/tickets/{id}``: one ticket (JSON ``{"ticket": …}``, XML ``<ticket>``).
- ``GET /api/tickets/{id}/messages``: its messages (JSON ``{"messages": […]}``, XML
  ``<messages>``).
- ``POST /api/tickets/{id}/replies`` and ``/notes`` with ``text`` (JSON, or a form for ``xml``):
  ``{"message": {"id": …}}`` / ``<result id="…"/>``; ``PUT /api/tickets/{id}/status`` with
  ``state``. An ``Idempotency-Key`` header replays the first answer.

Change notices (every style; same auth as the API), so each push path of the sync engine is tested:

- ``GET /api/events``: Server-Sent Events, one ``event: changed`` (``data: {"version": N}``) per
  change, a ``: keep-alive`` comment every ``heartbeat_s``.
- ``GET /api/changes?after=N&timeout=S``: long-poll; answers ``{"version": M}`` as soon as the
  version passes ``N`` or after ``S`` seconds (at most 30) with the unchanged version.
- ``WS /api/ws``: a websocket sending ``{"type": "changed", "version": N}`` per change.

``GET /api/tickets`` carries ``ETag`` and ``Last-Modified`` and answers ``304`` to a matching
``If-None-Match`` (or, without one, an ``If-Modified-Since`` not older than the last change).

Native statuses: NEW OPEN WAITING HOLD RESOLVED CLOSED; priorities P1 (urgent) … P4 (low).
Test helpers: :meth:`update_ticket`, :meth:`add_message`, :meth:`delete_ticket`, :meth:`corrupt`.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import random
import secrets
import threading
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import jwt
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.dataset import AGENTS, Entry, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan
from sandbox.oauth import AuthorizationServer

ID_OFFSET = 100_000
EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "declarative"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_API_KEY = "inhouse-demo-key-5b7e"
DEMO_USERNAME = "tabless"
DEMO_PASSWORD = "inhouse-demo-pass-93d1"
DEMO_TOKEN = "inhouse-demo-token-0c4f"
DEMO_JWT_KEY = "inhouse-demo-jwt-key-2a61-which-is-long-enough"
DEMO_CLIENT_ID = "tabless"
DEMO_CLIENT_SECRET = "inhouse-demo-client-secret-7d20"
JWT_ISSUER = "tabless"
STATUS = {
    "new": "NEW",
    "open": "OPEN",
    "pending": "WAITING",
    "on_hold": "HOLD",
    "solved": "RESOLVED",
    "closed": "CLOSED",
}
PRIORITY = {"urgent": "P1", "high": "P2", "normal": "P3", "low": "P4"}
STYLE_AUTH = {
    "page": "api_key_header",
    "cursor": "basic",
    "next": "bearer",
    "link": "api_key_query",
    "offset": "jwt",
    "xml": "basic",
    "csv": "api_key_header",
}
STYLES = tuple(STYLE_AUTH)
AUTHS = ("api_key_header", "api_key_query", "basic", "bearer", "jwt", "oauth2", "oauth2_code")
XML_TIME = "%Y/%m/%d %H:%M:%S"
CSV_TIME = "%d.%m.%Y %H:%M:%S"
CSV_TICKET = (
    "Id",
    "Title",
    "State",
    "Priority",
    "Requester",
    "Requester Email",
    "Requester Phone",
    "Requester Id",
    "Assignee",
    "Assignee Email",
    "Queue",
    "Labels",
    "Created",
    "Updated",
    "Deleted",
)
CSV_MESSAGE = ("Id", "Author", "Author Email", "Text", "Internal", "Created")
NAIVE_TIME = "%Y-%m-%d %H:%M:%S"
PUSH_TICK_S = 0.05  # how often an open change channel looks at the version
LONG_POLL_MAX_S = 30.0
FOLLOW_UPS = ("请问现在处理得怎么样了？", "Any update on this?", "我刚才又试了一次，还是不行。")


@dataclass(slots=True)
class InhouseMessage:
    id: int
    author_name: str
    author_email: str
    body: str
    internal: bool
    created: datetime


@dataclass(slots=True)
class InhouseTicket:
    id: int
    subject: str
    state: str
    priority: str | None
    requester_id: int
    requester_name: str
    requester_email: str
    requester_phone: str
    assignee_name: str | None
    assignee_email: str | None
    queue: str
    labels: list[str]
    created: datetime
    updated: datetime
    messages: list[InhouseMessage] = field(default_factory=list)
    deleted: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)  # raw values served instead


def _message(entry: Entry) -> InhouseMessage:
    return InhouseMessage(
        entry.id + ID_OFFSET,
        entry.author_name,
        entry.author_email,
        entry.body,
        not entry.public,
        entry.created_at,
    )


def _from_seed(seed: SeedTicket) -> InhouseTicket:
    return InhouseTicket(
        id=seed.id + ID_OFFSET,
        subject=seed.subject,
        state=STATUS[seed.status],
        priority=None if seed.status == "new" and seed.id % 3 == 0 else PRIORITY[seed.priority],
        requester_id=seed.customer.id,
        requester_name=seed.customer.name,
        requester_email=seed.customer.email,
        requester_phone=seed.customer.phone,
        assignee_name=seed.assignee.name if seed.assignee else None,
        assignee_email=seed.assignee.email if seed.assignee else None,
        queue=seed.queue,
        labels=list(seed.tags),
        created=seed.created_at,
        updated=seed.updated_at,
        messages=[_message(e) for e in seed.entries],
    )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unb64(text: str) -> dict[str, Any]:
    padded = text + "=" * (-len(text) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


class InhouseStandIn:
    """An in-house ticket API serving the ``zendesk`` seeds in one of :data:`STYLES`."""

    name = "inhouse"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        style: str = "page",
        auth: str | None = None,
        per_page: int = 25,
        clock: Any = None,
        heartbeat_s: float = 15.0,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
        self.style = style
        self.auth = auth or STYLE_AUTH[style]
        if self.auth not in AUTHS:
            raise ValueError(f"unknown auth {self.auth!r}; one of {', '.join(AUTHS)}")
        self.per_page = per_page
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.tickets: dict[int, InhouseTicket] = {
            t.id + ID_OFFSET: _from_seed(t) for t in by_system(tickets, "zendesk")
        }
        self._next_id = 1 + max(
            (m.id for t in self.tickets.values() for m in t.messages), default=ID_OFFSET
        )
        self._last = max((t.updated for t in self.tickets.values()), default=self._clock())
        self._tokens: dict[str, float] = {}
        self._idempotent: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[str] = []  # "GET /api/tickets?page=2" — what the API was asked
        self.version = 0  # moves on with every change; what the change channels announce
        self.heartbeat_s = heartbeat_s
        self.not_modified = 0  # 304 answers sent
        self.push_open = 0  # change channels (SSE, long-poll, websocket) open right now
        self._push_epoch = 0  # drop_push() ends every open channel
        self.plan = FaultPlan()
        self.oauth = AuthorizationServer(client_id=DEMO_CLIENT_ID, auto_consent="approve")
        routes = [
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/api/tickets", self._list, methods=["GET"]),
            Route("/api/tickets/{ticket_id:int}", self._detail, methods=["GET"]),
            Route("/api/tickets/{ticket_id:int}/messages", self._messages, methods=["GET"]),
            Route("/api/tickets/{ticket_id:int}/replies", self._reply, methods=["POST"]),
            Route("/api/tickets/{ticket_id:int}/notes", self._note, methods=["POST"]),
            Route("/api/tickets/{ticket_id:int}/status", self._status, methods=["PUT"]),
            Route("/api/events", self._events, methods=["GET"]),
            Route("/api/changes", self._changes, methods=["GET"]),
            WebSocketRoute("/api/ws", self._websocket),
            *self.oauth.routes(),  # oauth2_code: /oauth/authorizations/new, /oauth/tokens
        ]
        self.app: ASGIApp = FaultMiddleware(Starlette(routes=routes), self.plan)

    # --- the demo's view ------------------------------------------------------------------

    def connection(self, base_url: str, mapping: str | None = None) -> dict[str, Any]:
        """How the demo connects the ``declarative`` adapter; ``mapping`` defaults to the example
        file of this style (``tests/fixtures/declarative/<style>.toml``)."""
        example = EXAMPLES / f"{self.style}.toml"
        settings: dict[str, Any] = {"base_url": base_url, "mapping": mapping or str(example)}
        return {
            "adapter": "declarative",
            "title": f"In-house ({self.style})",
            "settings": settings,
            "secrets": self.demo_secrets(),
            "naive_zone": "Asia/Shanghai" if self.style in ("cursor", "xml") else "UTC",
        }

    def demo_secrets(self) -> dict[str, str]:
        """The secret each auth kind needs, under the names the example mapping files use."""
        return {
            "api_key_header": {"api_key": DEMO_API_KEY},
            "api_key_query": {"api_key": DEMO_API_KEY},
            "basic": {"password": DEMO_PASSWORD},
            "bearer": {"token": DEMO_TOKEN},
            "jwt": {"jwt_key": DEMO_JWT_KEY},
            "oauth2": {"client_secret": DEMO_CLIENT_SECRET},
            "oauth2_code": {},  # signed in through the browser; the tokens come from there
        }[self.auth]

    def simulate_activity(self, rng: random.Random) -> None:
        """A customer follow-up, a colleague's status change or a new ticket."""
        with self._lock:
            live = [t for t in self.tickets.values() if not t.deleted]
            active = [t for t in live if t.state not in ("RESOLVED", "CLOSED")]
            roll = rng.random()
            if active and roll < 0.5:
                ticket = rng.choice(active)
                self.add_message(
                    ticket.id, rng.choice(FOLLOW_UPS), author=ticket.requester_name, email=None
                )
            elif active and roll < 0.8:
                ticket = rng.choice(active)
                self.update_ticket(ticket.id, state=rng.choice(("OPEN", "WAITING", "RESOLVED")))
            elif live:
                model = rng.choice(live)
                at = self._stamp()
                new_id = max(self.tickets) + 1
                self.tickets[new_id] = InhouseTicket(
                    id=new_id,
                    subject=model.subject,
                    state="NEW",
                    priority=None,
                    requester_id=model.requester_id,
                    requester_name=model.requester_name,
                    requester_email=model.requester_email,
                    requester_phone=model.requester_phone,
                    assignee_name=None,
                    assignee_email=None,
                    queue=model.queue,
                    labels=[],
                    created=at,
                    updated=at,
                    messages=[
                        InhouseMessage(
                            self._new_id(),
                            model.requester_name,
                            model.requester_email,
                            model.messages[0].body if model.messages else model.subject,
                            False,
                            at,
                        )
                    ],
                )

    # --- test helpers ---------------------------------------------------------------------

    def ordered(self) -> list[InhouseTicket]:
        """Every ticket in list order (update time, id)."""
        with self._lock:
            return sorted(self.tickets.values(), key=lambda t: (t.updated, t.id))

    def update_ticket(self, ticket_id: int, **changes: Any) -> InhouseTicket:
        """Change fields of a ticket as a colleague would (its update time moves on)."""
        with self._lock:
            ticket = self.tickets[ticket_id]
            for key, value in changes.items():
                setattr(ticket, key, value)
            ticket.updated = self._stamp()
            return ticket

    def add_message(
        self,
        ticket_id: int,
        body: str,
        *,
        internal: bool = False,
        author: str | None = None,
        email: str | None = None,
    ) -> InhouseMessage:
        """Append a message (by default the customer's) and move the ticket's update time."""
        with self._lock:
            ticket = self.tickets[ticket_id]
            message = InhouseMessage(
                self._new_id(),
                author or ticket.requester_name,
                email or ticket.requester_email,
                body,
                internal,
                self._stamp(),
            )
            ticket.messages.append(message)
            ticket.updated = message.created
            return message

    def delete_ticket(self, ticket_id: int) -> None:
        """Delete a ticket; it stays listed with ``deleted`` set."""
        self.update_ticket(ticket_id, deleted=True)

    def corrupt(self, ticket_id: int, field_name: str, raw: Any) -> None:
        """Serve ``raw`` for ``field_name`` (a JSON key / XML child) of a ticket from now on."""
        with self._lock:
            self.tickets[ticket_id].overrides[field_name] = raw

    def drop_push(self) -> None:
        """End every open change channel, as a proxy or a restart would."""
        self._push_epoch += 1

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _stamp(self) -> datetime:
        """Now, to the second, strictly after the previous change."""
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        self._last = max(now, self._last + timedelta(seconds=1))
        self.version += 1
        return self._last

    # --- wire formats ---------------------------------------------------------------------

    def _time(self, moment: datetime) -> Any:
        style = self.style
        if style == "page":
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if style == "cursor":
            return moment.astimezone(SHANGHAI).strftime(NAIVE_TIME)
        if style == "next":
            return int(moment.timestamp() * 1000)
        if style == "link":
            return moment.astimezone(SHANGHAI).isoformat()
        if style == "offset":
            return int(moment.timestamp())
        if style == "csv":
            return moment.astimezone(UTC).strftime(CSV_TIME)
        return moment.astimezone(SHANGHAI).strftime(XML_TIME)

    def _read_time(self, text: str) -> datetime:
        style = self.style
        if style == "next":
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        if style == "offset":
            return datetime.fromtimestamp(int(text), UTC)
        if style in ("cursor", "xml"):
            form = NAIVE_TIME if style == "cursor" else XML_TIME
            return datetime.strptime(text, form).replace(tzinfo=SHANGHAI)
        if style == "csv":
            return datetime.strptime(text, CSV_TIME).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(text)
        return parsed

    def _message_json(self, message: InhouseMessage) -> dict[str, Any]:
        return {
            "id": message.id,
            "author": {"name": message.author_name, "email": message.author_email},
            "text": message.body,
            "internal": message.internal,
            "created": self._time(message.created),
        }

    def _ticket_json(self, ticket: InhouseTicket) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ticket.id,
            "title": ticket.subject,
            "state": ticket.state,
            "priority": ticket.priority,
            "requester": {
                "id": ticket.requester_id,
                "name": ticket.requester_name,
                "email": ticket.requester_email,
                "phone": ticket.requester_phone,
            },
            "assignee": {"name": ticket.assignee_name, "email": ticket.assignee_email}
            if ticket.assignee_name
            else None,
            "queue": ticket.queue,
            "labels": list(ticket.labels),
            "created": self._time(ticket.created),
            "updated": self._time(ticket.updated),
            "deleted": ticket.deleted,
        }
        if self.style != "page":
            body["messages"] = [self._message_json(m) for m in ticket.messages]
        body.update(ticket.overrides)
        return body

    @staticmethod
    def _sub(parent: Any, name: str, text: Any = None, **attributes: str) -> Any:
        node = etree.SubElement(parent, name, attributes)
        if text is not None:
            node.text = str(text)
        return node

    def _message_xml(self, parent: Any, message: InhouseMessage) -> None:
        node = self._sub(
            parent,
            "message",
            id=str(message.id),
            visibility="internal" if message.internal else "public",
        )
        author = self._sub(node, "author")
        self._sub(author, "name", message.author_name)
        self._sub(author, "email", message.author_email)
        self._sub(node, "created", self._time(message.created))
        self._sub(node, "text", message.body)

    def _ticket_xml(self, parent: Any | None, ticket: InhouseTicket) -> Any:
        attributes = {"id": str(ticket.id), "deleted": "true" if ticket.deleted else "false"}
        node = (
            etree.Element("ticket", attributes)
            if parent is None
            else etree.SubElement(parent, "ticket", attributes)
        )
        raw = ticket.overrides
        self._sub(node, "title", raw.get("title", ticket.subject))
        self._sub(node, "state", raw.get("state", ticket.state))
        self._sub(node, "priority", raw.get("priority", ticket.priority or ""))
        self._sub(node, "queue", ticket.queue)
        requester = self._sub(node, "requester", id=str(ticket.requester_id))
        self._sub(requester, "name", ticket.requester_name)
        self._sub(requester, "email", ticket.requester_email)
        self._sub(requester, "phone", ticket.requester_phone)
        if ticket.assignee_name:
            assignee = self._sub(node, "assignee")
            self._sub(assignee, "name", ticket.assignee_name)
            self._sub(assignee, "email", ticket.assignee_email)
        labels = self._sub(node, "labels")
        for label in ticket.labels:
            self._sub(labels, "label", label)
        self._sub(node, "created", raw.get("created", self._time(ticket.created)))
        self._sub(node, "updated", raw.get("updated", self._time(ticket.updated)))
        return node

    def _ticket_row(self, ticket: InhouseTicket) -> list[Any]:
        row = {
            "Id": ticket.id,
            "Title": ticket.subject,
            "State": ticket.state,
            "Priority": ticket.priority or "",
            "Requester": ticket.requester_name,
            "Requester Email": ticket.requester_email,
            "Requester Phone": ticket.requester_phone,
            "Requester Id": ticket.requester_id,
            "Assignee": ticket.assignee_name or "",
            "Assignee Email": ticket.assignee_email or "",
            "Queue": ticket.queue,
            "Labels": ";".join(ticket.labels),
            "Created": self._time(ticket.created),
            "Updated": self._time(ticket.updated),
            "Deleted": "yes" if ticket.deleted else "no",
        }
        row.update({k: v for k, v in ticket.overrides.items() if k in row})
        return [row[name] for name in CSV_TICKET]

    def _message_row(self, message: InhouseMessage) -> list[Any]:
        return [
            message.id,
            message.author_name,
            message.author_email,
            message.body,
            "yes" if message.internal else "no",
            self._time(message.created),
        ]

    @staticmethod
    def _csv(header: tuple[str, ...], rows: list[list[Any]], status_code: int = 200) -> Response:
        """A CSV file with a BOM and CRLF line ends, as spreadsheet exports write them."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        body = "\ufeff" + buffer.getvalue()
        return Response(body.encode("utf-8"), status_code, media_type="text/csv; charset=utf-8")

    @staticmethod
    def _xml(root: Any, status_code: int = 200) -> Response:
        body = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
        return Response(body, status_code, media_type="application/xml; charset=utf-8")

    def _error(
        self, status_code: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        if self.style == "xml":
            root = etree.Element("error", code=str(status_code))
            root.text = message
            response = self._xml(root, status_code)
            response.headers.update(headers or {})
            return response
        return JSONResponse({"error": message}, status_code, headers=headers)

    # --- auth -----------------------------------------------------------------------------

    def _denied(self, request: HTTPConnection) -> Response | None:
        method = request.scope.get("method", "WS")
        self.requests.append(f"{method} {request.url.path}?{request.url.query}")
        header = request.headers.get("authorization", "")
        kind = self.auth
        ok = False
        if kind == "api_key_header":
            ok = secrets.compare_digest(request.headers.get("x-api-key", ""), DEMO_API_KEY)
        elif kind == "api_key_query":
            ok = secrets.compare_digest(request.query_params.get("api_key", ""), DEMO_API_KEY)
        elif kind == "basic" and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            ok = user == DEMO_USERNAME and secrets.compare_digest(password, DEMO_PASSWORD)
        elif kind == "bearer":
            ok = secrets.compare_digest(header, f"Bearer {DEMO_TOKEN}")
        elif kind == "jwt" and header.startswith("Bearer "):
            try:
                jwt.decode(header[7:], DEMO_JWT_KEY, algorithms=["HS256"], issuer=JWT_ISSUER)
                ok = True
            except jwt.PyJWTError:
                ok = False
        elif kind == "oauth2" and header.startswith("Bearer "):
            ok = self._tokens.get(header[7:], 0.0) > time.monotonic()
        elif kind == "oauth2_code" and header.startswith("Bearer "):
            ok = self.oauth.access_token(header[7:]) is not None
        if ok:
            return None
        challenge = {"WWW-Authenticate": 'Basic realm="inhouse"'} if kind == "basic" else None
        return self._error(401, "authentication required", challenge)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if (
            self.auth != "oauth2"
            or form.get("grant_type") != "client_credentials"
            or form.get("client_id") != DEMO_CLIENT_ID
            or not secrets.compare_digest(form.get("client_secret", ""), DEMO_CLIENT_SECRET)
        ):
            return JSONResponse({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(16)
        self._tokens[token] = time.monotonic() + 600
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": 600})

    # --- reads ----------------------------------------------------------------------------

    def _selection(self, request: Request) -> list[InhouseTicket]:
        since_text = request.query_params.get("updated_since")
        since = self._read_time(since_text) if since_text else None
        return [t for t in self.ordered() if since is None or t.updated >= since]

    async def _list(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            with self._lock:
                validators = self._validators(request)
                if self._fresh(request, validators):
                    self.not_modified += 1
                    return Response(status_code=304, headers=validators)
                chosen = self._selection(request)
                response = self._page(request, chosen)
                response.headers.update(validators)
                return response
        except (ValueError, KeyError):
            return self._error(400, "bad query parameter")

    def _validators(self, request: Request) -> dict[str, str]:
        """ETag (this query at this version) and Last-Modified (the last change)."""
        query = zlib.crc32(str(request.url.query).encode())
        return {
            "ETag": f'W/"{self.version}-{query:08x}"',
            "Last-Modified": format_datetime(self._last.astimezone(UTC), usegmt=True),
        }

    def _fresh(self, request: Request, validators: dict[str, str]) -> bool:
        """True when the client's copy is current (RFC 9110 §13.1: If-None-Match first)."""
        tags = request.headers.get("if-none-match")
        if tags is not None:
            return validators["ETag"] in [t.strip() for t in tags.split(",")] or tags == "*"
        since = request.headers.get("if-modified-since")
        if since is None:
            return False
        try:
            return self._last <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says

    # --- change channels ------------------------------------------------------------------

    async def _changes_after(self, version: int, timeout_s: float | None) -> AsyncIterator[int]:
        """Each new version after ``version``; ends on timeout or :meth:`drop_push`."""
        epoch = self._push_epoch
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        self.push_open += 1
        try:
            while epoch == self._push_epoch and (deadline is None or loop.time() < deadline):
                if self.version > version:
                    version = self.version
                    yield version
                await asyncio.sleep(PUSH_TICK_S)
        finally:
            self.push_open -= 1

    async def _events(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied

        async def stream() -> AsyncIterator[str]:
            yield f"retry: 1000\n: version {self.version}\n\n"
            async for version in self._changes_after(self.version, None):
                yield f'event: changed\ndata: {{"version": {version}}}\n\n'

        async def with_heartbeat() -> AsyncIterator[str]:
            channel = stream().__aiter__()
            pending: asyncio.Task[str] | None = None
            try:
                while True:
                    if pending is None:
                        pending = asyncio.ensure_future(channel.__anext__())
                    done, _ = await asyncio.wait({pending}, timeout=self.heartbeat_s)
                    if not done:
                        yield ": keep-alive\n\n"
                        continue
                    try:
                        chunk = pending.result()
                    except StopAsyncIteration:
                        return
                    pending = None
                    yield chunk
            finally:
                if pending is not None:
                    pending.cancel()

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(with_heartbeat(), media_type="text/event-stream", headers=headers)

    async def _changes(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            after = int(request.query_params.get("after", "-1"))
            timeout_s = min(float(request.query_params.get("timeout", "25")), LONG_POLL_MAX_S)
        except ValueError:
            return self._error(400, "after and timeout must be numbers")
        if after < 0 or self.version > after:
            return JSONResponse({"version": self.version})
        async for version in self._changes_after(after, timeout_s):
            return JSONResponse({"version": version})
        return JSONResponse({"version": self.version})  # timed out (or dropped): no change

    async def _websocket(self, websocket: WebSocket) -> None:
        if self._denied(websocket) is not None:
            await websocket.close(code=1008)  # policy violation: the handshake is refused
            return
        await websocket.accept()
        try:
            async for version in self._changes_after(self.version, None):
                await websocket.send_json({"type": "changed", "version": version})
            await websocket.close(code=1012)  # service restart: the client reconnects
        except WebSocketDisconnect:
            return

    def _page(self, request: Request, chosen: list[InhouseTicket]) -> Response:
        query = request.query_params
        style = self.style
        size = int(query.get("per_page") or query.get("limit") or self.per_page)
        if style in ("page", "xml", "csv"):
            page = int(query.get("page", "1"))
            part = chosen[(page - 1) * size : page * size]
            pages = max(1, -(-len(chosen) // size))
            if style == "csv":
                return self._csv(CSV_TICKET, [self._ticket_row(t) for t in part])
            if style == "xml":
                root = etree.Element("tickets", page=str(page), pages=str(pages))
                for ticket in part:
                    self._ticket_xml(root, ticket)
                return self._xml(root)
            body = {"tickets": [self._ticket_json(t) for t in part], "page": page, "pages": pages}
            return JSONResponse(body)
        if style == "offset":
            offset = int(query.get("offset", "0"))
            part = chosen[offset : offset + size]
            return JSONResponse(
                {"data": [self._ticket_json(t) for t in part], "total": len(chosen)}
            )
        after = query.get("after") or query.get("cursor")
        if after:
            mark = _unb64(after)
            key = (datetime.fromisoformat(mark["u"]), int(mark["i"]))
            chosen = [t for t in chosen if (t.updated, t.id) > key]
        part = chosen[:size]
        token = None
        if len(chosen) > size:
            token = _b64({"u": part[-1].updated.isoformat(), "i": part[-1].id})
        tickets = [self._ticket_json(t) for t in part]
        if style == "cursor":
            return JSONResponse({"tickets": tickets, "meta": {"next_cursor": token}})
        keep = {k: v for k, v in query.items() if k not in ("after", "cursor")}
        next_url = f"{request.url.replace(query='')}?{urlencode({**keep, 'after': token})}"
        if style == "next":
            return JSONResponse({"tickets": tickets, "next": next_url if token else None})
        headers = {"Link": f'<{next_url}>; rel="next"'} if token else {}
        return JSONResponse({"tickets": tickets}, headers=headers)

    def _live(self, ticket_id: int) -> InhouseTicket | None:
        ticket = self.tickets.get(ticket_id)
        return ticket if ticket is not None and not ticket.deleted else None

    async def _detail(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            ticket = self._live(request.path_params["ticket_id"])
            if ticket is None:
                return self._error(404, "no such ticket")
            if self.style == "xml":
                return self._xml(self._ticket_xml(None, ticket))
            if self.style == "csv":
                return self._csv(CSV_TICKET, [self._ticket_row(ticket)])
            return JSONResponse({"ticket": self._ticket_json(ticket)})

    async def _messages(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        with self._lock:
            ticket = self._live(request.path_params["ticket_id"])
            if ticket is None:
                return self._error(404, "no such ticket")
            if self.style == "xml":
                root = etree.Element("messages", ticket=str(ticket.id))
                for message in ticket.messages:
                    self._message_xml(root, message)
                return self._xml(root)
            if self.style == "csv":
                return self._csv(CSV_MESSAGE, [self._message_row(m) for m in ticket.messages])
            return JSONResponse({"messages": [self._message_json(m) for m in ticket.messages]})

    # --- writes ---------------------------------------------------------------------------

    async def _fields(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if self.style == "xml":
            return dict(parse_qsl(raw.decode()))
        value = json.loads(raw or b"{}")
        if not isinstance(value, dict):
            raise ValueError("body")
        return value

    async def _write(self, request: Request, apply: Any) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        key = request.headers.get("idempotency-key")
        with self._lock:
            if key and key in self._idempotent:
                status, body, media = self._idempotent[key]
                return Response(body, status, media_type=media)
        try:
            fields = await self._fields(request)
        except ValueError:
            return self._error(400, "the body is not readable")
        with self._lock:
            ticket = self._live(request.path_params["ticket_id"])
            if ticket is None:
                return self._error(404, "no such ticket")
            response: Response = apply(ticket, fields)
            if key and response.status_code < 300:
                self._idempotent[key] = (
                    response.status_code,
                    bytes(response.body),
                    response.media_type or "",
                )
            return response

    def _post_message(self, internal: bool) -> Any:
        def apply(ticket: InhouseTicket, fields: dict[str, Any]) -> Response:
            text = fields.get("text")
            if not isinstance(text, str) or not text.strip():
                return self._error(422, "text is required")
            message = self.add_message(
                ticket.id, text, internal=internal, author=AGENTS[0].name, email=AGENTS[0].email
            )
            if not internal and ticket.state == "NEW":
                ticket.state = "OPEN"
            if self.style == "xml":
                return self._xml(etree.Element("result", id=str(message.id)), 201)
            if self.style == "csv":
                return self._csv(("Id",), [[message.id]], 201)
            return JSONResponse({"message": self._message_json(message)}, 201)

        return apply

    async def _reply(self, request: Request) -> Response:
        return await self._write(request, self._post_message(False))

    async def _note(self, request: Request) -> Response:
        return await self._write(request, self._post_message(True))

    async def _status(self, request: Request) -> Response:
        def apply(ticket: InhouseTicket, fields: dict[str, Any]) -> Response:
            state = fields.get("state")
            if state not in STATUS.values():
                return self._error(422, f"unknown state {state!r}")
            self.update_ticket(ticket.id, state=state)
            if self.style == "xml":
                return self._xml(self._ticket_xml(None, ticket))
            if self.style == "csv":
                return self._csv(CSV_TICKET, [self._ticket_row(ticket)])
            return JSONResponse({"ticket": self._ticket_json(ticket)})

        return await self._write(request, apply)
