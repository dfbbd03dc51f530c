"""Freshdesk stand-in: the parts of the Freshdesk API v2 Tabless uses, in their documented shapes.

- Auth: HTTP Basic with the API key as user name and any password (Freshdesk's "X");
  ``401 {"code": "invalid_credentials", "message": ...}`` otherwise.
- ``GET /api/v2/tickets``: ``updated_since``, ``order_by`` (created_at, updated_at, due_by,
  status), ``order_type`` (asc, desc), ``per_page`` (at most 100, default 30), ``page``,
  ``include`` (requester, description, stats) and ``filter`` (``deleted``, ``spam``…). Without
  ``updated_since`` only tickets created in the last 30 days are listed, as in Freshdesk;
  deleted and spam tickets are left out unless ``filter`` asks for them. More pages are
  announced by ``Link: <url>; rel="next"``.
- ``GET /api/v2/tickets/{id}`` (deleted tickets show ``"deleted": true``),
  ``GET /api/v2/tickets/{id}/conversations`` (Link-paginated),
  ``POST /api/v2/tickets/{id}/reply``, ``POST /api/v2/tickets/{id}/notes``,
  ``PUT /api/v2/tickets/{id}``, ``GET /api/v2/ticket_fields``, ``GET /api/v2/agents`` and
  ``GET /api/v2/agents/me``.
- Every answer carries ``X-RateLimit-Total``, ``X-RateLimit-Remaining`` and
  ``X-RateLimit-Used-CurrentRequest``; past ``rate_limit`` requests a minute it answers 429 with
  ``Retry-After``. Validation errors are ``{"description": "Validation failed", "errors":
  [{"field", "message", "code"}]}``; a missing record is a 404 with an empty body.

The ticket's first customer message is its ``description``, not a conversation, as in
Freshdesk. Statuses are numbers: 2 Open, 3 Pending, 4 Resolved, 5 Closed and the custom
6 "Waiting on Customer", 7 "Waiting on Third Party", 8 "Awaiting Spare Parts". Freshdesk has no
idempotency keys: ``lose_next_answers`` makes the next writes take effect and then answer 502,
the way a proxy loses an answer.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import html
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.dataset import AGENTS, TOPICS_EN, TOPICS_ZH, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan

DEMO_API_KEY = "fd-demo-key-3b7e91c4d2"
SOURCE_SYSTEM = "zendesk"  # the data set has no Freshdesk tickets: re-key Zendesk's
ID_OFFSET = 35000 - 100  # Zendesk 35001.. -> Freshdesk 101..
CONTACT_BASE = 43_000_000_000
AGENT_BASE = 43_100_000_000
API_AGENT_ID = AGENT_BASE + 1
SUPPORT_EMAIL = "support@tabless-demo.freshdesk.com"
STATUS_CHOICES: dict[int, tuple[str, str]] = {
    2: ("Open", "Being Processed"),
    3: ("Pending", "Awaiting your Reply"),
    4: ("Resolved", "This ticket has been Resolved"),
    5: ("Closed", "This ticket has been Closed"),
    6: ("Waiting on Customer", "Awaiting your Reply"),
    7: ("Waiting on Third Party", "Being Processed"),
    8: ("Awaiting Spare Parts", "Being Processed"),
}
SEED_STATUS = {"new": 2, "open": 2, "pending": 3, "on_hold": 7, "solved": 4, "closed": 5}
PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
ORDER_BY = ("created_at", "updated_at", "due_by", "status")
FILTERS = ("new_and_my_open", "watching", "spam", "deleted")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30
FOLLOW_UPS_ZH = ("请问现在处理得怎么样了？", "我刚才又试了一次，还是不行。")
FOLLOW_UPS_EN = ("Any update on this?", "I tried again just now and it still fails.")
_TAG = re.compile(r"<[^>]*>|<!--.*?-->", re.S)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>") + "</div>"


def _text(body_html: str) -> str:
    """``body_text`` as Freshdesk derives it: tags (and comments) dropped, entities decoded."""
    with_breaks = re.sub(r"<br\s*/?>", "\n", body_html, flags=re.I)
    return html.unescape(_TAG.sub("", re.sub(r"<!--.*?-->", "", with_breaks, flags=re.S)))


def _invalid(field: str, message: str, code: str = "invalid_value") -> JSONResponse:
    return JSONResponse(
        {
            "description": "Validation failed",
            "errors": [{"field": field, "message": message, "code": code}],
        },
        status_code=400,
    )


def _not_found() -> Response:
    return Response(status_code=404)


def freshdesk_seeds(tickets: list[SeedTicket], system: str = "freshdesk") -> list[SeedTicket]:
    """The ``zendesk`` seed tickets re-keyed (ids offset) for a system the data set lacks."""
    return [
        dataclasses.replace(seed, id=seed.id - ID_OFFSET, system=system)
        for seed in by_system(tickets, SOURCE_SYSTEM)
    ]


class FreshdeskStandIn:
    """A Freshdesk account holding the re-keyed ``zendesk`` tickets of the shared data set.

    ``rate_limit`` is requests per minute (None: unlimited); ``clock`` (seconds) drives its
    window; ``now`` stamps remote changes (tests pass a clock in the past).
    """

    name = "freshdesk"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        api_key: str = DEMO_API_KEY,
        rate_limit: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.api_key = api_key
        self.now = now
        self.rate_limit = rate_limit
        self.clock = clock
        self.plan = FaultPlan()
        self.lose_next_answers = 0  # writes applied, then answered 502
        self.requests_limited = 0
        self._window = (clock(), 0)
        self._lock = threading.RLock()
        self._contacts: dict[int, dict[str, Any]] = {}
        self._agents: dict[int, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._conversations: dict[int, list[dict[str, Any]]] = {}
        self._ids = itertools.count(80_000_000_000)
        self._last = datetime.fromtimestamp(0, UTC)
        self._seed(freshdesk_seeds(tickets))
        self.app: ASGIApp = FaultMiddleware(self._starlette(), self.plan)

    # ----------------------------------------------------------------------------- seeding

    def _seed(self, seeds: list[SeedTicket]) -> None:
        oldest = _iso(min((s.created_at for s in seeds), default=_now()))
        self._add_agent(API_AGENT_ID, "Tabless Integration", "tabless-api@example.com", oldest)
        for agent in AGENTS:
            self._add_agent(AGENT_BASE + agent.id, agent.name, agent.email, oldest)
        by_email: dict[str, int] = {a["contact"]["email"]: a["id"] for a in self._agents.values()}
        for seed in seeds:
            customer = seed.customer
            contact_id = CONTACT_BASE + customer.id
            self._contacts[contact_id] = {
                "id": contact_id,
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
                "mobile": None,
            }
            by_email[customer.email] = contact_id
        groups = {queue: 48_000_000 + i for i, queue in enumerate(sorted({s.queue for s in seeds}))}
        for seed in seeds:
            first = seed.entries[0] if seed.entries else None
            status = SEED_STATUS[seed.status]
            if seed.status == "pending" and seed.id % 3 == 0:
                status = 6  # some pending tickets wait on the customer
            if seed.status == "open" and seed.id % 11 == 0:
                status = 8  # a custom status no adapter knows
            ticket = self._ticket_record(
                seed.id,
                seed.subject,
                first.body if first else "",
                CONTACT_BASE + seed.customer.id,
                created_at=seed.created_at,
                priority=PRIORITY[seed.priority],
                tags=list(seed.tags),
            )
            ticket.update(
                status=status,
                responder_id=AGENT_BASE + seed.assignee.id if seed.assignee else None,
                group_id=groups[seed.queue],
                updated_at=_iso(seed.updated_at),
            )
            self._tickets[seed.id] = ticket
            self._conversations[seed.id] = [
                self._conversation(
                    seed.id,
                    by_email[entry.author_email],
                    _html(entry.body),
                    incoming=entry.author_kind == "customer",
                    private=not entry.public,
                    at=entry.created_at,
                    from_email=entry.author_email if entry.author_kind == "customer" else None,
                    attachments=self._seed_attachments(entry.body, entry.author_kind),
                )
                for entry in seed.entries[1:]
            ]
            self._last = max(self._last, seed.updated_at)
        self._groups = {gid: name for name, gid in groups.items()}

    def _add_agent(self, agent_id: int, name: str, email: str, at: str) -> None:
        self._agents[agent_id] = {
            "id": agent_id,
            "available": True,
            "occasional": False,
            "signature": None,
            "ticket_scope": 1,
            "type": "support_agent",
            "created_at": at,
            "updated_at": at,
            "contact": {
                "active": True,
                "email": email,
                "job_title": None,
                "language": "zh-CN" if _has_cjk(name) else "en",
                "mobile": None,
                "name": name,
                "phone": None,
                "time_zone": "Beijing" if _has_cjk(name) else "UTC",
                "created_at": at,
                "updated_at": at,
            },
        }

    def _seed_attachments(self, body: str, author_kind: str) -> list[dict[str, Any]]:
        if "attached" in body:
            return [self._attachment("invoice-corrected.pdf", "application/pdf", 48213)]
        if author_kind == "customer" and "破损" in body:
            return [self._attachment("破损照片.jpg", "image/jpeg", 1_204_551)]
        return []

    def _attachment(self, name: str, content_type: str, size: int) -> dict[str, Any]:
        attachment_id = next(self._ids)
        at = _iso(_now())
        return {
            "id": attachment_id,
            "name": name,
            "content_type": content_type,
            "size": size,
            "attachment_url": f"https://s3.amazonaws.com/cdn.freshdesk.com/data/helpdesk/"
            f"attachments/production/{attachment_id}/original/{name}",
            "created_at": at,
            "updated_at": at,
        }

    def _ticket_record(
        self,
        ticket_id: int,
        subject: str,
        description: str,
        requester_id: int,
        *,
        created_at: datetime,
        priority: int,
        tags: list[str],
    ) -> dict[str, Any]:
        at = _iso(created_at)
        return {
            "id": ticket_id,
            "subject": subject,
            "description": _html(description),
            "description_text": description,
            "status": 2,
            "priority": priority,
            "source": 1,
            "type": None,
            "requester_id": requester_id,
            "responder_id": None,
            "group_id": None,
            "company_id": None,
            "product_id": None,
            "email_config_id": None,
            "cc_emails": [],
            "fwd_emails": [],
            "reply_cc_emails": [],
            "ticket_cc_emails": [],
            "to_emails": [SUPPORT_EMAIL],
            "support_email": SUPPORT_EMAIL,
            "fr_escalated": False,
            "is_escalated": False,
            "nr_escalated": False,
            "spam": False,
            "deleted": False,
            "tags": tags,
            "custom_fields": {},
            "due_by": _iso(created_at + timedelta(days=3)),
            "fr_due_by": _iso(created_at + timedelta(days=1)),
            "nr_due_by": None,
            "association_type": None,
            "associated_tickets_count": None,
            "created_at": at,
            "updated_at": at,
        }

    def _conversation(
        self,
        ticket_id: int,
        user_id: int,
        body: str,
        *,
        incoming: bool,
        private: bool,
        at: datetime,
        from_email: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        stamp = _iso(at)
        note = private or (incoming and from_email is None)
        return {
            "id": next(self._ids),
            "body": body,
            "body_text": _text(body),
            "incoming": incoming,
            "private": private,
            "user_id": user_id,
            "support_email": None if note else SUPPORT_EMAIL,
            "source": 2 if note else 0,
            "category": 2 if incoming else 3,
            "ticket_id": ticket_id,
            "to_emails": [] if note or incoming else [self._requester_email(ticket_id)],
            "from_email": from_email if incoming else (None if note else SUPPORT_EMAIL),
            "cc_emails": [],
            "bcc_emails": None,
            "email_failure_count": None,
            "outgoing_failures": None,
            "thread_id": None,
            "thread_message_id": None,
            "last_edited_at": None,
            "last_edited_user_id": None,
            "automation_id": None,
            "automation_type_id": None,
            "auto_response": False,
            "attachments": attachments or [],
            "created_at": stamp,
            "updated_at": stamp,
        }

    def _requester_email(self, ticket_id: int) -> str:
        ticket = self._tickets.get(ticket_id)
        contact = self._contacts.get(ticket["requester_id"]) if ticket else None
        return str(contact["email"]) if contact else ""

    def _touch(self, ticket_id: int) -> datetime:
        """Record a change: ``updated_at`` moves to now and never backwards."""
        moment = max(self.now(), self._last)
        self._last = moment
        self._tickets[ticket_id]["updated_at"] = _iso(moment)
        return moment

    # --------------------------------------------------------------------- test/demo helpers

    def ticket_ids(self) -> list[int]:
        """Every ticket id, deleted ones included, oldest update first."""
        with self._lock:
            return sorted(self._tickets, key=lambda i: (self._tickets[i]["updated_at"], i))

    def raw_ticket(self, ticket_id: int) -> dict[str, Any]:
        """A copy of one ticket as stored (Freshdesk field names)."""
        with self._lock:
            return dict(self._tickets[ticket_id])

    def conversations_of(self, ticket_id: int) -> list[dict[str, Any]]:
        """The stored conversations of a ticket (raw)."""
        with self._lock:
            return [dict(c) for c in self._conversations[ticket_id]]

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """A colleague's change: set raw Freshdesk fields after ``updated_at`` is touched."""
        with self._lock:
            self._touch(ticket_id)
            self._tickets[ticket_id].update(fields)

    def add_customer_reply(self, ticket_id: int, body: str) -> int:
        """The requester answers by e-mail; a pending or resolved ticket reopens. Its id."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            at = self._touch(ticket_id)
            contact = self._contacts[ticket["requester_id"]]
            entry = self._conversation(
                ticket_id,
                contact["id"],
                _html(body),
                incoming=True,
                private=False,
                at=at,
                from_email=contact["email"],
            )
            self._conversations[ticket_id].append(entry)
            if ticket["status"] in (3, 4, 6):
                ticket["status"] = 2
            return int(entry["id"])

    def delete_ticket(self, ticket_id: int) -> None:
        """Move a ticket to the trash: it leaves the list and shows in ``filter=deleted``."""
        with self._lock:
            self._touch(ticket_id)
            self._tickets[ticket_id]["deleted"] = True

    def create_ticket(self, subject: str, body: str, requester_id: int) -> int:
        """A new ticket from a customer e-mail; its id."""
        with self._lock:
            ticket_id = max(self._tickets, default=100) + 1
            self._tickets[ticket_id] = self._ticket_record(
                ticket_id, subject, body, requester_id, created_at=self.now(), priority=1, tags=[]
            )
            self._conversations[ticket_id] = []
            self._touch(ticket_id)
            return ticket_id

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic remote change: a customer reply, a new ticket or a colleague's status."""
        with self._lock:
            live = [t for t in self._tickets.values() if not t["deleted"]]
            waiting = [t for t in live if t["status"] in (2, 3, 6)]
            opened = [t for t in live if t["status"] == 2]
            contacts = list(self._contacts.values())
        kind = rng.choices(("reply", "new", "status"), (5, 2, 3))[0]
        if kind == "reply" and waiting:
            ticket = rng.choice(waiting)
            texts = FOLLOW_UPS_ZH if _has_cjk(ticket["subject"]) else FOLLOW_UPS_EN
            self.add_customer_reply(ticket["id"], rng.choice(texts))
        elif kind == "status" and opened:
            ticket = rng.choice(opened)
            self.update_ticket(
                ticket["id"],
                status=rng.choice((3, 4, 6)),
                responder_id=ticket["responder_id"] or AGENT_BASE + rng.choice(AGENTS).id,
            )
        else:
            contact = rng.choice(contacts)
            subject, body, _reply, _tags = rng.choice(
                TOPICS_ZH if _has_cjk(contact["name"]) else TOPICS_EN
            )
            order = rng.randrange(100000, 999999)
            self.create_ticket(subject.format(n=order), body.format(n=order), contact["id"])

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``freshdesk`` adapter to this stand-in."""
        return {
            "adapter": "freshdesk",
            "title": "Freshdesk (sandbox)",
            "settings": {"base_url": base_url},
            "secrets": {"api_key": self.api_key},
            "naive_zone": "UTC",
        }

    # ------------------------------------------------------------------------------ HTTP

    def _starlette(self) -> Starlette:
        routes = [
            Route("/api/v2/tickets", self._list, methods=["GET"]),
            Route("/api/v2/tickets/{ticket_id:int}", self._show, methods=["GET"]),
            Route("/api/v2/tickets/{ticket_id:int}", self._update, methods=["PUT"]),
            Route(
                "/api/v2/tickets/{ticket_id:int}/conversations",
                self._list_conversations,
                methods=["GET"],
            ),
            Route("/api/v2/tickets/{ticket_id:int}/reply", self._reply, methods=["POST"]),
            Route("/api/v2/tickets/{ticket_id:int}/notes", self._note, methods=["POST"]),
            Route("/api/v2/ticket_fields", self._ticket_fields, methods=["GET"]),
            Route("/api/v2/agents", self._list_agents, methods=["GET"]),
            Route("/api/v2/agents/me", self._me, methods=["GET"]),
        ]
        inner = Starlette(routes=routes)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            denied = self._gate(Request(scope, receive))
            if denied is not None:
                await denied(scope, receive, send)
                return
            remaining = self._remaining()

            async def with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers += [
                        (b"x-ratelimit-total", str(self.rate_limit or 3000).encode()),
                        (b"x-ratelimit-remaining", str(remaining).encode()),
                        (b"x-ratelimit-used-currentrequest", b"1"),
                    ]
                    message = {**message, "headers": headers}
                await send(message)

            await inner(scope, receive, with_headers)

        return app  # type: ignore[return-value]

    def _remaining(self) -> int:
        return max(0, (self.rate_limit or 3000) - self._window[1])

    def _gate(self, request: Request) -> Response | None:
        """Basic auth with the API key, then the per-minute rate limit."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        user = ""
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(credentials).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = ""
        if not hmac.compare_digest(user.encode(), self.api_key.encode()):
            return JSONResponse(
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
                status_code=401,
            )
        with self._lock:
            started, used = self._window
            now = self.clock()
            if now - started >= 60:
                started, used = now, 0
            if self.rate_limit is not None and used >= self.rate_limit:
                self.requests_limited += 1
                self._window = (started, used)
                wait = max(1, int(60 - (now - started)))
                return JSONResponse(
                    {
                        "message": f"You have exceeded the limit of requests per minute. "
                        f"Please try again after {wait} seconds."
                    },
                    status_code=429,
                    headers={
                        "Retry-After": str(wait),
                        "X-RateLimit-Total": str(self.rate_limit),
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Used-CurrentRequest": "1",
                    },
                )
            self._window = (started, used + 1)
        return None

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @staticmethod
    def _paging(request: Request) -> tuple[int, int] | JSONResponse:
        query = request.query_params
        per_page, page = query.get("per_page", str(DEFAULT_PER_PAGE)), query.get("page", "1")
        if not per_page.isdigit() or not 1 <= int(per_page) <= MAX_PER_PAGE:
            return _invalid(
                "per_page",
                f"It should be a Positive Number less than or equal to {MAX_PER_PAGE}",
                "invalid_value",
            )
        if not page.isdigit() or int(page) < 1:
            return _invalid("page", "It should be a Positive Number", "invalid_value")
        return int(per_page), int(page)

    @staticmethod
    def _link(base: str, path: str, request: Request, page: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        params["page"] = str(page)
        return f'<{base}{path}?{urlencode(params)}>; rel="next"'

    def _page(
        self, request: Request, path: str, rows: list[Any], per_page: int, page: int
    ) -> tuple[list[Any], dict[str, str]]:
        chunk = rows[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(rows)
        headers = {"Link": self._link(self._base(request), path, request, page + 1)} if more else {}
        return chunk, headers

    def _ticket_json(self, ticket: dict[str, Any], include: set[str]) -> dict[str, Any]:
        shown = {k: v for k, v in ticket.items() if k not in ("description", "description_text")}
        if not ticket["deleted"]:
            shown.pop("deleted")
        if "description" in include:
            shown["description"] = ticket["description"]
            shown["description_text"] = ticket["description_text"]
        if "requester" in include:
            contact = self._contacts.get(ticket["requester_id"])
            if contact is not None:
                shown["requester"] = dict(contact)
        return shown

    async def _list(self, request: Request) -> Response:
        query = request.query_params
        paging = self._paging(request)
        if isinstance(paging, JSONResponse):
            return paging
        per_page, page = paging
        order_by = query.get("order_by", "created_at")
        order_type = query.get("order_type", "desc")
        if order_by not in ORDER_BY:
            return _invalid("order_by", f"It should be one of these values: '{','.join(ORDER_BY)}'")
        if order_type not in ("asc", "desc"):
            return _invalid("order_type", "It should be one of these values: 'asc,desc'")
        wanted = query.get("filter")
        if wanted is not None and wanted not in FILTERS:
            return _invalid("filter", f"It should be one of these values: '{','.join(FILTERS)}'")
        include = {part for part in query.get("include", "").split(",") if part}
        if not include <= {"requester", "description", "stats"}:
            return _invalid(
                "include", "It should be one of these values: 'requester,description,stats'"
            )
        since_text = query.get("updated_since")
        since: str | None = None
        if since_text is not None:
            try:
                since = _iso(datetime.fromisoformat(since_text.replace("Z", "+00:00")))
            except ValueError:
                return _invalid(
                    "updated_since",
                    "It should be in the 'combined date and time ISO8601' format",
                    "invalid_date",
                )
        with self._lock:
            rows = [
                t
                for t in self._tickets.values()
                if t["deleted"] == (wanted == "deleted")
                and (t["spam"] == (wanted == "spam") or wanted == "deleted")
            ]
            if since is not None:
                rows = [t for t in rows if t["updated_at"] >= since]
            else:
                month_ago = _iso(_now() - timedelta(days=30))
                rows = [t for t in rows if t["created_at"] >= month_ago]
            rows.sort(key=lambda t: (t[order_by] or "", t["id"]), reverse=order_type == "desc")
            chunk, headers = self._page(request, "/api/v2/tickets", rows, per_page, page)
            body = [self._ticket_json(t, include) for t in chunk]
        return JSONResponse(body, headers=headers)

    async def _show(self, request: Request) -> Response:
        include = {p for p in request.query_params.get("include", "").split(",") if p}
        with self._lock:
            ticket = self._tickets.get(request.path_params["ticket_id"])
            if ticket is None:
                return _not_found()
            return JSONResponse(self._ticket_json(ticket, include | {"description"}))

    async def _list_conversations(self, request: Request) -> Response:
        paging = self._paging(request)
        if isinstance(paging, JSONResponse):
            return paging
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None or ticket["deleted"]:
                return _not_found()
            path = f"/api/v2/tickets/{ticket_id}/conversations"
            chunk, headers = self._page(request, path, self._conversations[ticket_id], *paging)
            return JSONResponse([dict(c) for c in chunk], headers=headers)

    async def _json_body(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return JSONResponse(
                {"code": "invalid_json", "message": "Request body has invalid json format"},
                status_code=400,
            )
        return payload

    def _lose(self, response: JSONResponse) -> Response:
        """The write took effect; maybe lose the answer on the way back (502)."""
        if self.lose_next_answers > 0:
            self.lose_next_answers -= 1
            return Response("<html><body>502 Bad Gateway</body></html>", status_code=502)
        return response

    async def _reply(self, request: Request) -> Response:
        return await self._add(request, note=False)

    async def _note(self, request: Request) -> Response:
        return await self._add(request, note=True)

    async def _add(self, request: Request, *, note: bool) -> Response:
        payload = await self._json_body(request)
        if isinstance(payload, JSONResponse):
            return payload
        body = payload.get("body")
        if body is None:
            return _invalid("body", "Mandatory attribute missing", "missing_field")
        if not isinstance(body, str) or not _text(body).strip():
            return _invalid("body", "It should not be blank as this is a mandatory field")
        private = payload.get("private", True) if note else False
        if not isinstance(private, bool):
            return _invalid(
                "private",
                "Value set is of type String.It should be a/an Boolean",
                "datatype_mismatch",
            )
        user_id = payload.get("user_id", API_AGENT_ID)
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None or ticket["deleted"]:
                return _not_found()
            if user_id not in self._agents:
                return _invalid(
                    "user_id", "There is no agent matching the given user_id", "invalid_value"
                )
            at = self._touch(ticket_id)
            entry = self._conversation(
                ticket_id,
                user_id,
                body,
                incoming=bool(payload.get("incoming", False)) and note,
                private=private,
                at=at,
            )
            self._conversations[ticket_id].append(entry)
            if not note and ticket["status"] == 2 and ticket["responder_id"] is None:
                ticket["responder_id"] = user_id
            shown = {
                k: entry[k]
                for k in (
                    "body",
                    "body_text",
                    "id",
                    "incoming",
                    "private",
                    "user_id",
                    "support_email",
                    "ticket_id",
                    "to_emails",
                    "from_email",
                    "cc_emails",
                    "bcc_emails",
                    "attachments",
                    "created_at",
                    "updated_at",
                )
            }
            return self._lose(JSONResponse(shown, status_code=201))

    async def _update(self, request: Request) -> Response:
        payload = await self._json_body(request)
        if isinstance(payload, JSONResponse):
            return payload
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None or ticket["deleted"]:
                return _not_found()
            status = payload.get("status", ticket["status"])
            if isinstance(status, bool) or status not in STATUS_CHOICES:
                choices = ",".join(str(s) for s in STATUS_CHOICES)
                return _invalid("status", f"It should be one of these values: '{choices}'")
            priority = payload.get("priority", ticket["priority"])
            if isinstance(priority, bool) or priority not in (1, 2, 3, 4):
                return _invalid("priority", "It should be one of these values: '1,2,3,4'")
            self._touch(ticket_id)
            ticket.update(status=status, priority=priority)
            return self._lose(JSONResponse(self._ticket_json(ticket, {"description"})))

    async def _ticket_fields(self, request: Request) -> Response:
        at = _iso(datetime(2023, 1, 9, 6, 30, tzinfo=UTC))
        status = {
            "id": 43_000_000_301,
            "name": "status",
            "label": "Status",
            "description": "Ticket status",
            "label_for_customers": "Status",
            "type": "default_status",
            "position": 4,
            "required_for_closure": False,
            "required_for_agents": False,
            "required_for_customers": False,
            "customers_can_edit": False,
            "displayed_to_customers": True,
            "default": True,
            "choices": {str(k): list(v) for k, v in STATUS_CHOICES.items()},
            "created_at": at,
            "updated_at": at,
        }
        priority = {
            **status,
            "id": 43_000_000_302,
            "name": "priority",
            "label": "Priority",
            "description": "Ticket priority",
            "label_for_customers": "Priority",
            "type": "default_priority",
            "position": 5,
            "choices": {"Low": 1, "Medium": 2, "High": 3, "Urgent": 4},
        }
        wanted = request.query_params.get("type")
        fields = [f for f in (status, priority) if wanted in (None, f["type"])]
        return JSONResponse(fields)

    async def _list_agents(self, request: Request) -> Response:
        paging = self._paging(request)
        if isinstance(paging, JSONResponse):
            return paging
        with self._lock:
            rows = sorted(self._agents.values(), key=lambda a: a["id"])
            chunk, headers = self._page(request, "/api/v2/agents", rows, *paging)
            return JSONResponse(chunk, headers=headers)

    async def _me(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(self._agents[API_AGENT_ID])
