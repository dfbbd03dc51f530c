"""Zammad stand-in: the parts of the Zammad REST API Tabless uses, in their documented shapes.

- Auth: ``Authorization: Token token=<token>`` (or ``Bearer <token>``); 401 otherwise.
- ``GET /api/v1/tickets/search``: ``query`` (``updated_at:[<ISO> TO *]``, ``*``), ``sort_by``,
  ``order_by``, ``page``, ``per_page`` (at most 200, default 50) and ``expand=true``, which
  answers a JSON array of tickets with association names (``state``, ``priority``, ``group``,
  ``owner``, ``customer``) — as ``TicketsController#search`` does. Without ``expand`` the answer
  is ``{"tickets": [ids], "tickets_count": n, "assets": {...}}``.
- ``GET``/``PUT /api/v1/tickets/{id}``, ``GET /api/v1/ticket_articles/by_ticket/{id}``,
  ``POST /api/v1/ticket_articles``, ``GET /api/v1/tags?object=Ticket&o_id={id}``,
  ``GET /api/v1/users/{id}`` and ``GET /api/v1/users/me``.
- Errors are ``{"error": "...", "error_human": "..."}``; times carry milliseconds (``…30.123Z``).

States are Zammad's defaults (new, open, pending reminder, closed, merged, removed, pending
close); pending states need a ``pending_time``. Priorities are ``1 low``, ``2 normal``,
``3 high``. ``lose_next_answers`` makes the next article posts take effect and then answer 502.
Deliberate simplification: the search index never lags behind the database.
"""

from __future__ import annotations

import dataclasses
import hmac
import html
import itertools
import json
import random
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.dataset import AGENTS, TOPICS_EN, TOPICS_ZH, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan

DEMO_TOKEN = "zm-demo-token-5a0c7f19e8"
SOURCE_SYSTEM = "zendesk"  # the data set has no Zammad tickets: re-key Zendesk's
ID_OFFSET = 35000 - 500  # Zendesk 35001.. -> Zammad 501..
NOBODY_ID = 1  # Zammad's "-" user: owner of unassigned tickets
API_USER_ID = 3
STATES = {
    1: "new",
    2: "open",
    3: "pending reminder",
    4: "closed",
    5: "merged",
    6: "removed",
    7: "pending close",
}
STATE_IDS = {name: state_id for state_id, name in STATES.items()}
PENDING = frozenset({"pending reminder", "pending close"})
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
PRIORITY_IDS = {name: priority_id for priority_id, name in PRIORITIES.items()}
SEED_STATE = {
    "new": "new",
    "open": "open",
    "pending": "pending reminder",
    "on_hold": "pending reminder",
    "solved": "pending close",
    "closed": "closed",
}
SEED_PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 3}
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
ARTICLE_TYPES = {1: "email", 5: "phone", 10: "note", 11: "web"}
ARTICLE_TYPE_IDS = {name: type_id for type_id, name in ARTICLE_TYPES.items()}
SENDERS = {1: "Agent", 2: "Customer", 3: "System"}
SENDER_IDS = {name: sender_id for sender_id, name in SENDERS.items()}
_RANGE = re.compile(r"^updated_at:\[\s*\"?([^\s\"]+)\"?\s+TO\s+\*\s*\]$")
FOLLOW_UPS_ZH = ("请问现在处理得怎么样了？", "我刚才又试了一次，还是不行。")
FOLLOW_UPS_EN = ("Any update on this?", "I tried again just now and it still fails.")


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>") + "</div>"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "error_human": message}, status_code=status)


def zammad_seeds(tickets: list[SeedTicket], system: str = "zammad") -> list[SeedTicket]:
    """The ``zendesk`` seed tickets re-keyed (ids offset) for a system the data set lacks."""
    return [
        dataclasses.replace(seed, id=seed.id - ID_OFFSET, system=system)
        for seed in by_system(tickets, SOURCE_SYSTEM)
    ]


class ZammadStandIn:
    """A Zammad instance holding the re-keyed ``zendesk`` tickets of the shared data set.

    ``now`` stamps remote changes (tests pass a clock in the past).
    """

    name = "zammad"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        token: str = DEMO_TOKEN,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.token = token
        self.now = now
        self.plan = FaultPlan()
        self.lose_next_answers = 0
        self._lock = threading.RLock()
        self._users: dict[int, dict[str, Any]] = {}
        self._groups: dict[str, int] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._articles: dict[int, list[dict[str, Any]]] = {}
        self._tags: dict[int, list[str]] = {}
        self._ids = itertools.count(9000)
        self._last = datetime.fromtimestamp(0, UTC)
        self._seed(zammad_seeds(tickets))
        self.app: ASGIApp = FaultMiddleware(self._starlette(), self.plan)

    # ----------------------------------------------------------------------------- seeding

    def _seed(self, seeds: list[SeedTicket]) -> None:
        oldest = _iso(min((s.created_at for s in seeds), default=_now()))
        self._add_user(NOBODY_ID, "-", "", "", None, None, oldest)
        self._add_user(API_USER_ID, "tabless-api", "Tabless", "Integration", None, None, oldest)
        for index, agent in enumerate(AGENTS, start=10):
            first, _, last = agent.name.partition(" ")
            self._add_user(index, agent.email, first, last, agent.email, None, oldest)
        for seed in seeds:
            customer = seed.customer
            first, _, last = customer.name.partition(" ")
            self._add_user(
                100 + customer.id,
                customer.email,
                first,
                last,
                customer.email,
                customer.phone,
                oldest,
            )
        for index, queue in enumerate(sorted({s.queue for s in seeds}), start=2):
            self._groups[queue] = index
        agent_ids = {agent.email: index for index, agent in enumerate(AGENTS, start=10)}
        for seed in seeds:
            customer_id = 100 + seed.customer.id
            ticket = self._ticket_record(
                seed.id, seed.subject, customer_id, self._groups[seed.queue], seed.created_at
            )
            state = SEED_STATE[seed.status]
            ticket.update(
                state_id=STATE_IDS[state],
                priority_id=SEED_PRIORITY[seed.priority],
                owner_id=agent_ids[seed.assignee.email] if seed.assignee else NOBODY_ID,
                pending_time=_iso(seed.updated_at) if state in PENDING else None,
                updated_at=_iso(seed.updated_at),
            )
            self._tickets[seed.id] = ticket
            self._tags[seed.id] = list(seed.tags)
            self._articles[seed.id] = []
            for number, entry in enumerate(seed.entries):
                by_customer = entry.author_kind == "customer"
                author = customer_id if by_customer else agent_ids[entry.author_email]
                self._add_article(
                    seed.id,
                    author,
                    entry.body,
                    sender="Customer" if by_customer else "Agent",
                    kind="note" if not entry.public else "email",
                    internal=not entry.public,
                    at=entry.created_at,
                    html_body=number % 2 == 0,
                )
            self._last = max(self._last, seed.updated_at)

    def _add_user(
        self,
        user_id: int,
        login: str,
        first: str,
        last: str,
        email: str | None,
        phone: str | None,
        at: str,
    ) -> None:
        self._users[user_id] = {
            "id": user_id,
            "organization_id": None,
            "login": login,
            "firstname": first,
            "lastname": last,
            "email": email or "",
            "image": None,
            "web": "",
            "phone": phone or "",
            "fax": "",
            "mobile": "",
            "department": "",
            "street": "",
            "zip": "",
            "city": "",
            "country": "",
            "address": "",
            "vip": False,
            "verified": False,
            "active": True,
            "note": "",
            "source": None,
            "preferences": {"locale": "zh-cn" if _has_cjk(first + last) else "en-us"},
            "updated_by_id": 1,
            "created_by_id": 1,
            "created_at": at,
            "updated_at": at,
        }

    def _ticket_record(
        self, ticket_id: int, title: str, customer_id: int, group_id: int, created: datetime
    ) -> dict[str, Any]:
        at = _iso(created)
        return {
            "id": ticket_id,
            "group_id": group_id,
            "priority_id": 2,
            "state_id": 1,
            "organization_id": None,
            "number": str(31000 + ticket_id),
            "title": title,
            "owner_id": NOBODY_ID,
            "customer_id": customer_id,
            "note": None,
            "first_response_at": None,
            "first_response_escalation_at": None,
            "first_response_in_min": None,
            "first_response_diff_in_min": None,
            "close_at": None,
            "close_escalation_at": None,
            "close_in_min": None,
            "close_diff_in_min": None,
            "update_escalation_at": None,
            "update_in_min": None,
            "update_diff_in_min": None,
            "last_contact_at": at,
            "last_contact_agent_at": None,
            "last_contact_customer_at": at,
            "last_owner_update_at": None,
            "create_article_type_id": 1,
            "create_article_sender_id": 2,
            "article_count": 0,
            "escalation_at": None,
            "pending_time": None,
            "type": None,
            "time_unit": None,
            "preferences": {},
            "updated_by_id": customer_id,
            "created_by_id": customer_id,
            "created_at": at,
            "updated_at": at,
        }

    def _add_article(
        self,
        ticket_id: int,
        author_id: int,
        body: str,
        *,
        sender: str,
        kind: str,
        internal: bool,
        at: datetime,
        html_body: bool = True,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        author = self._users[author_id]
        name = f"{author['firstname']} {author['lastname']}".strip()
        ticket = self._tickets[ticket_id]
        article = {
            "id": next(self._ids),
            "ticket_id": ticket_id,
            "type_id": ARTICLE_TYPE_IDS[kind],
            "sender_id": SENDER_IDS[sender],
            "from": f"{name} <{author['email']}>" if author["email"] else name,
            "to": None,
            "cc": None,
            "subject": ticket["title"],
            "reply_to": None,
            "message_id": message_id,
            "message_id_md5": None,
            "in_reply_to": None,
            "content_type": "text/html" if html_body else "text/plain",
            "references": None,
            "body": _html(body) if html_body else body,
            "internal": internal,
            "preferences": {},
            "updated_by_id": author_id,
            "created_by_id": author_id,
            "origin_by_id": None,
            "created_at": _iso(at),
            "updated_at": _iso(at),
            "attachments": self._seed_attachments(body),
        }
        self._articles[ticket_id].append(article)
        ticket["article_count"] = len(self._articles[ticket_id])
        return article

    def _seed_attachments(self, body: str) -> list[dict[str, Any]]:
        if "破损" not in body:
            return []
        return [
            {
                "id": next(self._ids),
                "store_file_id": next(self._ids),
                "filename": "破损照片.jpg",
                "size": "1204551",
                "preferences": {"Mime-Type": "image/jpeg", "Content-Type": "image/jpeg"},
            }
        ]

    def _touch(self, ticket_id: int) -> datetime:
        moment = max(self.now(), self._last)
        self._last = moment
        self._tickets[ticket_id]["updated_at"] = _iso(moment)
        return moment

    # --------------------------------------------------------------------- test/demo helpers

    def ticket_ids(self) -> list[int]:
        """Every ticket id, oldest update first."""
        with self._lock:
            return sorted(self._tickets, key=lambda i: (self._tickets[i]["updated_at"], i))

    def raw_ticket(self, ticket_id: int) -> dict[str, Any]:
        """A copy of one ticket as stored (ids, not names)."""
        with self._lock:
            return dict(self._tickets[ticket_id])

    def state_of(self, ticket_id: int) -> str:
        """The state name of a ticket."""
        with self._lock:
            return STATES[self._tickets[ticket_id]["state_id"]]

    def articles_of(self, ticket_id: int) -> list[dict[str, Any]]:
        """The stored articles of a ticket (raw)."""
        with self._lock:
            return [dict(a) for a in self._articles[ticket_id]]

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """A colleague's change: ``state="pending reminder"``, ``priority="3 high"`` or raw
        fields; applied after ``updated_at`` is touched, so a test may also break them."""
        with self._lock:
            self._touch(ticket_id)
            ticket = self._tickets[ticket_id]
            if "state" in fields:
                ticket["state_id"] = STATE_IDS[fields.pop("state")]
            if "priority" in fields:
                ticket["priority_id"] = PRIORITY_IDS[fields.pop("priority")]
            ticket.update(fields)

    def add_customer_reply(self, ticket_id: int, body: str) -> int:
        """The customer answers by e-mail; a pending ticket reopens. The article id."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            at = self._touch(ticket_id)
            article = self._add_article(
                ticket_id,
                ticket["customer_id"],
                body,
                sender="Customer",
                kind="email",
                internal=False,
                at=at,
            )
            if STATES[ticket["state_id"]] in PENDING:
                ticket["state_id"], ticket["pending_time"] = STATE_IDS["open"], None
            return int(article["id"])

    def delete_ticket(self, ticket_id: int) -> None:
        """Remove a ticket the way Zammad hides it: state ``removed``."""
        with self._lock:
            self._touch(ticket_id)
            self._tickets[ticket_id]["state_id"] = STATE_IDS["removed"]

    def create_ticket(self, title: str, body: str, customer_id: int) -> int:
        """A new ticket from a customer e-mail; its id."""
        with self._lock:
            ticket_id = max(self._tickets, default=500) + 1
            group = min(self._groups.values(), default=1)
            self._tickets[ticket_id] = self._ticket_record(
                ticket_id, title, customer_id, group, self.now()
            )
            self._articles[ticket_id] = []
            self._tags[ticket_id] = []
            at = self._touch(ticket_id)
            self._add_article(
                ticket_id,
                customer_id,
                body,
                sender="Customer",
                kind="email",
                internal=False,
                at=at,
            )
            return ticket_id

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic remote change: a customer reply, a new ticket or a colleague's state."""
        with self._lock:
            live = [t for t in self._tickets.values() if t["state_id"] in (1, 2, 3)]
            opened = [t for t in live if t["state_id"] == 2]
            customers = [u for u in self._users.values() if u["id"] >= 100]
        kind = rng.choices(("reply", "new", "state"), (5, 2, 3))[0]
        if kind == "reply" and live:
            ticket = rng.choice(live)
            texts = FOLLOW_UPS_ZH if _has_cjk(ticket["title"]) else FOLLOW_UPS_EN
            self.add_customer_reply(ticket["id"], rng.choice(texts))
        elif kind == "state" and opened:
            ticket = rng.choice(opened)
            state = rng.choice(("pending reminder", "closed"))
            self.update_ticket(
                ticket["id"],
                state=state,
                pending_time=_iso(self.now()) if state in PENDING else None,
            )
        else:
            customer = rng.choice(customers)
            topics = TOPICS_ZH if _has_cjk(customer["firstname"]) else TOPICS_EN
            title, body, _reply, _tags = rng.choice(topics)
            order = rng.randrange(100000, 999999)
            self.create_ticket(title.format(n=order), body.format(n=order), customer["id"])

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``zammad`` adapter to this stand-in."""
        return {
            "adapter": "zammad",
            "title": "Zammad (sandbox)",
            "settings": {"base_url": base_url},
            "secrets": {"api_token": self.token},
            "naive_zone": "UTC",
        }

    # ------------------------------------------------------------------------------ HTTP

    def _starlette(self) -> Starlette:
        routes = [
            Route("/api/v1/tickets/search", self._search, methods=["GET"]),
            Route("/api/v1/tickets/{ticket_id:int}", self._show, methods=["GET"]),
            Route("/api/v1/tickets/{ticket_id:int}", self._update, methods=["PUT"]),
            Route(
                "/api/v1/ticket_articles/by_ticket/{ticket_id:int}",
                self._by_ticket,
                methods=["GET"],
            ),
            Route("/api/v1/ticket_articles", self._create_article, methods=["POST"]),
            Route("/api/v1/tags", self._tags_of, methods=["GET"]),
            Route("/api/v1/users/me", self._me, methods=["GET"]),
            Route("/api/v1/users/{user_id:int}", self._user, methods=["GET"]),
        ]
        inner = Starlette(routes=routes)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and not self._authorized(Request(scope, receive)):
                await _error(401, "Invalid token!")(scope, receive, send)
                return
            await inner(scope, receive, send)

        return app  # type: ignore[return-value]

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = ""
        if header.startswith("Token token="):
            token = header.removeprefix("Token token=").strip('"')
        elif header.startswith("Bearer "):
            token = header.removeprefix("Bearer ")
        return bool(token) and hmac.compare_digest(token.encode(), self.token.encode())

    def _expanded(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """``attributes_with_association_names``: ids plus the names they point to."""
        users = self._users
        group = next((n for n, i in self._groups.items() if i == ticket["group_id"]), None)
        return {
            **ticket,
            "group": group,
            "state": STATES[ticket["state_id"]],
            "priority": PRIORITIES.get(ticket["priority_id"]),
            "owner": users[ticket["owner_id"]]["login"],
            "customer": users[ticket["customer_id"]]["login"],
            "organization": None,
            "created_by": users[ticket["created_by_id"]]["login"],
            "updated_by": users[ticket["updated_by_id"]]["login"],
            "article_ids": [a["id"] for a in self._articles[ticket["id"]]],
            "ticket_time_accounting_ids": [],
            "mention_user_ids": [],
        }

    async def _search(self, request: Request) -> Response:
        query = request.query_params
        per_page, page = query.get("per_page", str(DEFAULT_PER_PAGE)), query.get("page", "1")
        if not per_page.isdigit() or not page.isdigit() or int(page) < 1:
            return _error(422, "Invalid pagination parameters")
        size = max(1, min(MAX_PER_PAGE, int(per_page)))
        text = query.get("query", "*").strip()
        since: datetime | None = None
        if text != "*":
            match = _RANGE.match(text)
            if match is None:
                return _error(422, f"Unsupported query in this stand-in: {text}")
            try:
                since = _parse(match.group(1))
            except ValueError:
                return _error(422, f"failed to parse date field [{match.group(1)}]")
        sort_by = query.get("sort_by", "updated_at")
        if sort_by not in ("updated_at", "created_at", "id"):
            return _error(422, f"Unsupported sort_by {sort_by}")
        descending = query.get("order_by", "desc") == "desc"
        with self._lock:
            rows = list(self._tickets.values())
            if since is not None:
                rows = [t for t in rows if self._stamp(t) >= since]
            rows.sort(key=lambda t: (str(t[sort_by]), t["id"]), reverse=descending)
            chunk = rows[(int(page) - 1) * size : int(page) * size]
            if query.get("expand") == "true":
                return JSONResponse([self._expanded(t) for t in chunk])
            return JSONResponse(
                {
                    "tickets": [t["id"] for t in chunk],
                    "tickets_count": len(chunk),
                    "assets": {"Ticket": {str(t["id"]): t for t in chunk}},
                }
            )

    @staticmethod
    def _stamp(ticket: dict[str, Any]) -> datetime:
        try:
            return _parse(str(ticket["updated_at"]))
        except ValueError:
            return datetime.max.replace(tzinfo=UTC)  # a broken value sorts (and matches) last

    async def _show(self, request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _error(404, f"Couldn't find Ticket with 'id'={ticket_id}")
            expand = request.query_params.get("expand") == "true"
            return JSONResponse(self._expanded(ticket) if expand else dict(ticket))

    async def _by_ticket(self, request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            if ticket_id not in self._tickets:
                return _error(404, f"Couldn't find Ticket with 'id'={ticket_id}")
            return JSONResponse([self._article_json(a) for a in self._articles[ticket_id]])

    def _article_json(self, article: dict[str, Any]) -> dict[str, Any]:
        return {
            **article,
            "type": ARTICLE_TYPES[article["type_id"]],
            "sender": SENDERS[article["sender_id"]],
            "created_by": self._users[article["created_by_id"]]["login"],
            "updated_by": self._users[article["updated_by_id"]]["login"],
            "time_unit": None,
        }

    async def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    async def _create_article(self, request: Request) -> Response:
        payload = await self._body(request)
        if payload is None:
            return _error(422, "Unable to process the request body")
        ticket_id = payload.get("ticket_id")
        body = payload.get("body")
        kind = payload.get("type", "note")
        sender = payload.get("sender", "Agent")
        with self._lock:
            if not isinstance(ticket_id, int) or ticket_id not in self._tickets:
                return _error(404, f"Couldn't find Ticket with 'id'={ticket_id}")
            if not isinstance(body, str) or not body.strip():
                return _error(422, "Need at least article: body")
            if kind not in ARTICLE_TYPE_IDS or sender not in SENDER_IDS:
                return _error(422, f"No lookup value found for 'type': {kind!r}")
            html_body = payload.get("content_type", "text/plain") == "text/html"
            at = self._touch(ticket_id)
            article = self._add_article(
                ticket_id,
                API_USER_ID,
                body,
                sender=sender,
                kind=kind,
                internal=bool(payload.get("internal", False)),
                at=at,
                html_body=False,
                message_id=payload.get("message_id"),
            )
            article["content_type"] = "text/html" if html_body else "text/plain"
            ticket = self._tickets[ticket_id]
            if not article["internal"] and STATES[ticket["state_id"]] == "new":
                ticket["state_id"] = STATE_IDS["open"]
            shown = self._article_json(article)
        if self.lose_next_answers > 0:
            self.lose_next_answers -= 1
            return Response("<html><body>502 Bad Gateway</body></html>", status_code=502)
        return JSONResponse(shown, status_code=201)

    async def _update(self, request: Request) -> Response:
        payload = await self._body(request)
        if payload is None:
            return _error(422, "Unable to process the request body")
        ticket_id = request.path_params["ticket_id"]
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return _error(404, f"Couldn't find Ticket with 'id'={ticket_id}")
            state = payload.get("state", STATES[ticket["state_id"]])
            if state not in STATE_IDS:
                return _error(422, f"No lookup value found for 'state': {state!r}")
            pending_time = payload.get("pending_time", ticket["pending_time"])
            if state in PENDING and not pending_time:
                return _error(422, "Missing required value for field 'pending_time'!")
            self._touch(ticket_id)
            ticket.update(
                state_id=STATE_IDS[state],
                pending_time=pending_time if state in PENDING else None,
                updated_by_id=API_USER_ID,
            )
            expand = request.query_params.get("expand") == "true"
            return JSONResponse(self._expanded(ticket) if expand else dict(ticket))

    async def _tags_of(self, request: Request) -> Response:
        query = request.query_params
        o_id = query.get("o_id", "")
        if query.get("object") != "Ticket" or not o_id.isdigit():
            return _error(422, "Need object and o_id")
        with self._lock:
            if int(o_id) not in self._tickets:
                return _error(404, f"Couldn't find Ticket with 'id'={o_id}")
            return JSONResponse({"tags": list(self._tags[int(o_id)])})

    async def _user(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return _error(404, f"Couldn't find User with 'id'={user_id}")
            return JSONResponse(dict(user))

    async def _me(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(dict(self._users[API_USER_ID]))
