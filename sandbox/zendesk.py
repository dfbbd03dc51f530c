"""Zendesk Support stand-in: the parts of the Support API v2 Tabless uses, in their wire shapes.

- ``POST /oauth/tokens``: OAuth2 client-credentials grant (form or JSON, or HTTP Basic client
  authentication); tokens expire after ``token_ttl_s``. The ``authorization_code`` (PKCE) and
  rotating ``refresh_token`` grants and ``/oauth/authorizations/new`` come from
  :class:`sandbox.oauth.AuthorizationServer` (``self.oauth``).
- ``GET /api/v2/incremental/tickets/cursor.json``: cursor-based incremental ticket export with
  ``start_time`` or ``cursor``, ``per_page`` and ``include=users,groups`` sideloads.
- ``GET /api/v2/tickets/{id}/comments.json``: offset pagination (``page``, ``per_page``,
  ``next_page``, ``previous_page``, ``count``), ``include=users``.
- ``GET``/``PUT /api/v2/tickets/{id}.json``: show and update (status + comment) honouring an
  ``Idempotency-Key`` header (``x-idempotency-lookup: miss|hit``).
- ``GET /api/v2/users/me.json``: the user behind the token.

Errors use Zendesk's bodies (``RecordNotFound``, ``RecordInvalid`` with ``details``,
``invalid_client``, ``invalid_token``). Deliberate simplifications: the export's ``per_page``
defaults to 100 (Zendesk: 1000) and changes of the last minute are not withheld. The export
cursor encodes a change sequence number, so a ticket changed after a cursor was handed out is
always returned after it — never skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.dataset import AGENTS, TOPICS_EN, TOPICS_ZH, Entry, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan
from sandbox.oauth import AuthorizationServer

DEMO_CLIENT_ID = "tabless_desktop"
DEMO_CLIENT_SECRET = "zd-demo-secret-8c1f4e2a"
API_USER_ID = 9000
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
SEED_STATUS = {"on_hold": "hold"}  # dataset vocabulary -> Zendesk's
SCOPES = frozenset({"read", "write"})
AUDIT_COMMENT_KEYS = (
    "id",
    "type",
    "author_id",
    "body",
    "html_body",
    "plain_body",
    "public",
    "attachments",
    "audit_id",
)
MAX_EXPORT_PAGE = 1000
MAX_COMMENT_PAGE = 100
INVALID_TOKEN = (
    "The access token provided is expired, revoked, malformed or invalid for other reasons."
)
FOLLOW_UPS_ZH = ("请问现在处理得怎么样了？", "我刚才又试了一次，还是不行。", "收到，谢谢！")
FOLLOW_UPS_EN = (
    "Any update on this?",
    "I tried again just now and it still fails.",
    "Thanks, that worked!",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _html_body(body: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n")
    )
    return f'<div class="zd-comment" dir="auto">{paragraphs}</div>'


def _error(status: int, error: str, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "description": description, **extra}, status_code=status)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _invalid(field: str, description: str, code: str = "InvalidValue") -> JSONResponse:
    return _error(
        422,
        "RecordInvalid",
        "Record validation errors",
        details={field: [{"description": description, "error": code}]},
    )


@dataclass
class _Token:
    expires_at: float
    scopes: frozenset[str]


@dataclass
class _Stored:
    """A response remembered under an idempotency key, with the request it answered."""

    fingerprint: str
    status: int
    body: dict[str, Any]


class ZendeskStandIn:
    """A Zendesk Support account holding the ``zendesk`` tickets of the shared data set.

    ``clock`` (seconds, monotonic) decides token expiry; tests pass a fake one to expire tokens
    without waiting. ``per_page`` is the export's default page size.
    """

    name = "zendesk"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        token_ttl_s: float = 300.0,
        per_page: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_s = token_ttl_s
        self.per_page = per_page
        self.clock = clock
        self.plan = FaultPlan()
        self.tokens_issued = 0
        self.tokens_rejected = 0
        self._lock = threading.RLock()
        self._tokens: dict[str, _Token] = {}
        self._idempotent: dict[str, _Stored] = {}
        self._files: dict[str, bytes] = {}  # attachment content token -> bytes (uploaded ones)
        self._uploads: dict[str, dict[str, Any]] = {}  # upload token -> attachment, until used
        self._users: dict[int, dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self._seq: dict[int, int] = {}
        self._counter = itertools.count(1)
        self._last_change = 0
        self._last_ts = 0
        self._ids = itertools.count(7_000_000)  # comments, audits, attachments, new tickets
        self._seed(by_system(tickets, self.name))
        # Authorization code + PKCE with rotating refresh tokens (Zendesk offers both).
        self.oauth = AuthorizationServer(
            client_id=client_id,
            client_secret=client_secret,
            scopes=SCOPES,
            access_ttl_s=token_ttl_s,
            clock=clock,
        )
        self.app: ASGIApp = FaultMiddleware(self._starlette(), self.plan)

    # ----------------------------------------------------------------------------- seeding

    def _seed(self, seeds: list[SeedTicket]) -> None:
        oldest = _iso(min((s.created_at for s in seeds), default=_now()))
        self._add_user(
            API_USER_ID,
            "Tabless Integration",
            "tabless-api@support.example.com",
            None,
            "admin",
            oldest,
        )
        for agent in AGENTS:
            self._add_user(agent.id, agent.name, agent.email, None, "agent", oldest)
        for seed in seeds:
            customer = seed.customer
            self._add_user(
                customer.id, customer.name, customer.email, customer.phone, "end-user", oldest
            )
        for index, queue in enumerate(sorted({s.queue for s in seeds}), start=1):
            self._groups[queue] = {
                "id": 360_000 + index,
                "name": queue,
                "description": "",
                "default": index == 1,
                "deleted": False,
                "created_at": oldest,
                "updated_at": oldest,
            }
        by_email = {u["email"]: u["id"] for u in self._users.values()}
        for seed in seeds:  # by_system: oldest update first, so sequence follows time
            ticket = self._ticket_record(
                seed.id,
                seed.subject,
                seed.entries[0].body if seed.entries else "",
                seed.customer.id,
                created_at=seed.created_at,
                # untriaged tickets often have no priority in Zendesk
                priority=None if seed.status == "new" and seed.id % 2 == 0 else seed.priority,
                tags=seed.tags,
                group_id=self._groups[seed.queue]["id"],
            )
            ticket.update(
                status=SEED_STATUS.get(seed.status, seed.status),
                assignee_id=seed.assignee.id if seed.assignee else None,
                updated_at=_iso(seed.updated_at),
                generated_timestamp=int(seed.updated_at.timestamp()),
                is_public=any(e.public for e in seed.entries),
            )
            self._tickets[seed.id] = ticket
            self._comments[seed.id] = [self._seed_comment(e, by_email) for e in seed.entries]
            self._bump(seed.id, ticket["generated_timestamp"])

    def _ticket_record(
        self,
        ticket_id: int,
        subject: str,
        description: str,
        requester_id: int,
        *,
        created_at: datetime,
        priority: str | None,
        tags: Iterable[str],
        group_id: int | None,
    ) -> dict[str, Any]:
        """A new ticket as Zendesk stores it (status ``new``, unassigned)."""
        at = _iso(created_at)
        return {
            "id": ticket_id,
            "external_id": None,
            "via": {"channel": "email"},
            "created_at": at,
            "updated_at": at,
            "generated_timestamp": int(created_at.timestamp()),
            "type": None,
            "subject": subject,
            "raw_subject": subject,
            "description": description,
            "priority": priority,
            "status": "new",
            "recipient": "support@tabless-demo.zendesk.com",
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": None,
            "organization_id": None,
            "group_id": group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(tags),
            "custom_fields": [],
            "satisfaction_rating": None,
            "ticket_form_id": 360_000_010,
            "brand_id": 360_000_020,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }

    def _add_user(
        self, user_id: int, name: str, email: str, phone: str | None, role: str, at: str
    ) -> None:
        self._users[user_id] = {
            "id": user_id,
            "name": name,
            "email": email,
            "phone": phone,
            "role": role,
            "active": True,
            "verified": True,
            "time_zone": "Beijing" if _has_cjk(name) else "UTC",
            "locale": "zh-cn" if _has_cjk(name) else "en-US",
            "created_at": at,
            "updated_at": at,
        }

    def _seed_comment(self, entry: Entry, by_email: dict[str, int]) -> dict[str, Any]:
        attachments = []
        if "attached" in entry.body:
            attachments.append(self._attachment("invoice-corrected.pdf", "application/pdf", 48213))
        elif entry.author_kind == "customer" and "破损" in entry.body:
            attachments.append(self._attachment("破损照片.jpg", "image/jpeg", 1_204_551))
        return self._comment(
            by_email[entry.author_email], entry.body, entry.public, entry.created_at, attachments
        )

    def _attachment(
        self, file_name: str, content_type: str, size: int, data: bytes | None = None
    ) -> dict[str, Any]:
        attachment_id = next(self._ids)
        token = secrets.token_hex(12)
        if data is not None:
            self._files[token] = data
        return {
            "id": attachment_id,
            "file_name": file_name,
            "content_type": content_type,
            "size": size,
            "inline": False,
            "deleted": False,
            "thumbnails": [],
            "content_path": f"/attachments/token/{token}/?name={file_name}",
            "content_token": token,
        }

    def _comment(
        self,
        author_id: int,
        body: str,
        public: bool,
        at: datetime,
        attachments: list[dict[str, Any]] | None = None,
        channel: str = "email",
    ) -> dict[str, Any]:
        return {
            "id": next(self._ids),
            "type": "Comment",
            "author_id": author_id,
            "body": body,
            "html_body": _html_body(body),
            "plain_body": body,
            "public": public,
            "attachments": attachments or [],
            "audit_id": next(self._ids),
            "via": {"channel": channel},
            "created_at": _iso(at),
            "metadata": {"system": {}, "custom": {}},
        }

    # ------------------------------------------------------------------------ change clock

    def _bump(self, ticket_id: int, ts: int | None = None) -> datetime:
        """Record a change: next sequence number; timestamps never go backwards."""
        moment = _now()
        stamp = max(ts if ts is not None else int(moment.timestamp()), self._last_ts)
        self._last_ts = stamp
        self._last_change = next(self._counter)
        self._seq[ticket_id] = self._last_change
        if ts is None:
            ticket = self._tickets[ticket_id]
            ticket["generated_timestamp"] = stamp
            ticket["updated_at"] = _iso(datetime.fromtimestamp(stamp, UTC))
        return datetime.fromtimestamp(stamp, UTC)

    # --------------------------------------------------------------------- test/demo helpers

    def ticket_ids(self) -> list[int]:
        """Every ticket id, deleted ones included, in change order."""
        with self._lock:
            return sorted(self._tickets, key=self._seq.__getitem__)

    def raw_ticket(self, ticket_id: int) -> dict[str, Any]:
        """A copy of one ticket as stored (Zendesk field names), for assertions."""
        with self._lock:
            return dict(self._tickets[ticket_id])

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """A colleague's change: set raw Zendesk fields (``status="hold"``, ``priority``…).

        Fields are applied after ``updated_at`` is touched, so a test may also break them.
        """
        with self._lock:
            self._bump(ticket_id)
            self._tickets[ticket_id].update(fields)

    def add_comment(
        self, ticket_id: int, body: str, public: bool = True, author: int | None = None
    ) -> int:
        """Append a comment (by the requester unless ``author`` is a user id); its id."""
        with self._lock:
            ticket = self._tickets[ticket_id]
            author_id = author if author is not None else ticket["requester_id"]
            at = self._bump(ticket_id)
            comment = self._comment(author_id, body, public, at)
            self._comments[ticket_id].append(comment)
            if author_id == ticket["requester_id"] and ticket["status"] in ("pending", "solved"):
                ticket["status"] = "open"  # a requester's reply reopens, as in Zendesk
            return int(comment["id"])

    def delete_ticket(self, ticket_id: int) -> None:
        """Soft-delete: the export then returns the ticket with status ``deleted``."""
        with self._lock:
            self._bump(ticket_id)
            self._tickets[ticket_id]["status"] = "deleted"

    def create_ticket(
        self,
        subject: str,
        body: str,
        requester_id: int,
        *,
        priority: str | None = None,
        tags: Iterable[str] = (),
    ) -> int:
        """A new ticket from a customer e-mail; its id."""
        with self._lock:
            ticket_id = next(self._ids)
            group = next(iter(self._groups.values()), None)
            self._tickets[ticket_id] = self._ticket_record(
                ticket_id,
                subject,
                body,
                requester_id,
                created_at=_now(),
                priority=priority,
                tags=tags,
                group_id=group["id"] if group else None,
            )
            self._comments[ticket_id] = [self._comment(requester_id, body, True, _now())]
            self._bump(ticket_id)
            return ticket_id

    def comments_of(self, ticket_id: int) -> list[dict[str, Any]]:
        """The stored comments of a ticket (raw), for assertions."""
        with self._lock:
            return [dict(c) for c in self._comments[ticket_id]]

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic remote change: a customer reply, a new ticket or a colleague's status."""
        with self._lock:
            live = [t for t in self._tickets.values() if t["status"] != "deleted"]
            waiting = [t for t in live if t["status"] in ("open", "pending")]
            opened = [t for t in live if t["status"] == "open"]
            customers = [u for u in self._users.values() if u["role"] == "end-user"]
        kind = rng.choices(("reply", "new", "status"), (5, 2, 3))[0]
        if kind == "reply" and waiting:
            ticket = rng.choice(waiting)
            texts = FOLLOW_UPS_ZH if _has_cjk(ticket["subject"]) else FOLLOW_UPS_EN
            self.add_comment(ticket["id"], rng.choice(texts))
        elif kind == "status" and opened:
            ticket = rng.choice(opened)
            agent = rng.choice(AGENTS)
            self.update_ticket(
                ticket["id"],
                status=rng.choice(("pending", "solved")),
                assignee_id=ticket["assignee_id"] or agent.id,
            )
        else:
            customer = rng.choice(customers)
            topics = TOPICS_ZH if _has_cjk(customer["name"]) else TOPICS_EN
            subject, body, _reply, tags = rng.choice(topics)
            order = rng.randrange(100000, 999999)
            self.create_ticket(
                subject.format(n=order),
                body.format(n=order),
                customer["id"],
                priority=rng.choice(("low", "normal", "high", None)),
                tags=tags,
            )

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``zendesk`` adapter to this stand-in."""
        return {
            "adapter": "zendesk",
            "title": "Zendesk Support (sandbox)",
            "settings": {"base_url": base_url, "client_id": self.client_id},
            "secrets": {"client_secret": self.client_secret},
            "naive_zone": "UTC",
        }

    # -------------------------------------------------------------------------- rendering

    def _ticket_json(self, ticket: dict[str, Any], base: str) -> dict[str, Any]:
        return {"url": f"{base}/api/v2/tickets/{ticket['id']}.json", **ticket}

    def _user_json(self, user: dict[str, Any], base: str) -> dict[str, Any]:
        return {"url": f"{base}/api/v2/users/{user['id']}.json", **user}

    def _group_json(self, group: dict[str, Any], base: str) -> dict[str, Any]:
        return {"url": f"{base}/api/v2/groups/{group['id']}.json", **group}

    @staticmethod
    def _attachment_json(item: dict[str, Any], base: str) -> dict[str, Any]:
        shown = {k: v for k, v in item.items() if k not in ("content_path", "content_token")}
        shown["url"] = f"{base}/api/v2/attachments/{item['id']}.json"
        shown["content_url"] = shown["mapped_content_url"] = base + item["content_path"]
        return shown

    def _comment_json(self, comment: dict[str, Any], base: str) -> dict[str, Any]:
        attachments = [self._attachment_json(item, base) for item in comment["attachments"]]
        return {**comment, "attachments": attachments}

    def _sideloads(
        self,
        include: str | None,
        user_ids: Iterable[int | None],
        group_ids: Iterable[int | None],
        base: str,
    ) -> dict[str, Any]:
        wanted = {part.strip() for part in (include or "").split(",") if part.strip()}
        extra: dict[str, Any] = {}
        if "users" in wanted:
            ids = sorted({i for i in user_ids if i is not None and i in self._users})
            extra["users"] = [self._user_json(self._users[i], base) for i in ids]
        if "groups" in wanted:
            gids = {i for i in group_ids if i is not None}
            extra["groups"] = [
                self._group_json(g, base) for g in self._groups.values() if g["id"] in gids
            ]
        return extra

    # ------------------------------------------------------------------------------ HTTP

    def _starlette(self) -> Starlette:
        routes = [
            Route("/oauth/tokens", self._token, methods=["POST"]),
            Route("/api/v2/incremental/tickets/cursor.json", self._export, methods=["GET"]),
            Route("/api/v2/tickets/{ticket_id:int}.json", self._show, methods=["GET"]),
            Route("/api/v2/tickets/{ticket_id:int}.json", self._update, methods=["PUT"]),
            Route(
                "/api/v2/tickets/{ticket_id:int}/comments.json",
                self._list_comments,
                methods=["GET"],
            ),
            Route("/api/v2/users/me.json", self._me, methods=["GET"]),
            Route("/api/v2/uploads.json", self._upload, methods=["POST"]),
            Route("/attachments/token/{token}/", self._content, methods=["GET"]),
            *self.oauth.routes(token_endpoint=False),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            code = exc.status_code if isinstance(exc, HTTPException) else 500
            if code == 405:
                return _error(405, "MethodNotAllowed", "Method not allowed")
            return _error(code, "InvalidEndpoint", "Not found")

        return Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def _token(self, request: Request) -> Response:
        raw = await request.body()
        params: dict[str, str]
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                decoded = json.loads(raw or b"{}")
            except ValueError:
                return _oauth_error(400, "invalid_request", "The request body is not JSON.")
            params = {k: str(v) for k, v in decoded.items()} if isinstance(decoded, dict) else {}
        else:
            params = dict(parse_qsl(raw.decode("utf-8", "replace")))
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":  # client_secret_basic
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            params.setdefault("client_id", user)
            params.setdefault("client_secret", password)
        answer = self.oauth.token_grant(params)  # authorization_code and refresh_token
        if answer is not None:
            return answer
        if params.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        client_ok = params.get("client_id") == self.client_id and hmac.compare_digest(
            params.get("client_secret", "").encode(), self.client_secret.encode()
        )
        if not client_ok:
            return _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client "
                "authentication included, or unsupported authentication method.",
            )
        scopes = frozenset((params.get("scope") or "read write").split())
        if not scopes <= SCOPES:
            return _oauth_error(400, "invalid_scope", "The requested scope is invalid.")
        token = secrets.token_hex(32)
        with self._lock:
            self._tokens[token] = _Token(self.clock() + self.token_ttl_s, scopes)
            self.tokens_issued += 1
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "scope": " ".join(sorted(scopes)),
                "expires_in": int(self.token_ttl_s),
            }
        )

    def _authorize(self, request: Request, *, write: bool = False) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        with self._lock:
            entry = self._tokens.get(token) or self.oauth.access_token(token)
            if entry is None or entry.expires_at <= self.clock():
                self.tokens_rejected += 1
                return JSONResponse(
                    {"error": "invalid_token", "error_description": INVALID_TOKEN},
                    status_code=401,
                    headers={
                        "WWW-Authenticate": f'Bearer realm="Zendesk", error="invalid_token", '
                        f'error_description="{INVALID_TOKEN}"'
                    },
                )
        if write and "write" not in entry.scopes:
            return _error(
                403,
                "Forbidden",
                "You do not have access to this page. Please contact "
                "the account owner of this help desk for further help.",
            )
        return None

    @staticmethod
    def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
        value = request.query_params.get(name)
        if value is None:
            return default
        if not value.isdigit():
            raise ValueError(name)
        return max(low, min(high, int(value)))

    @staticmethod
    def _encode_cursor(seq: int) -> str:
        return base64.urlsafe_b64encode(f"{seq}.0||zd|".encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        padded = cursor + "=" * (-len(cursor) % 4)
        try:
            text = base64.urlsafe_b64decode(padded.encode()).decode()
            return int(text.split(".", 1)[0])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError("cursor") from None

    async def _export(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        query = request.query_params
        try:
            per_page = self._int_param(request, "per_page", self.per_page, 1, MAX_EXPORT_PAGE)
            cursor = query.get("cursor")
            after = self._decode_cursor(cursor) if cursor else None
            start = None if cursor else int(query["start_time"])
        except (KeyError, ValueError):
            return _error(
                400,
                "InvalidPaginationParameter",
                "Invalid or missing pagination parameter: start_time or cursor",
            )
        base = self._base(request)
        with self._lock:
            ordered = sorted(self._tickets.values(), key=lambda t: self._seq[t["id"]])
            if after is not None:
                matching = [t for t in ordered if self._seq[t["id"]] > after]
            else:
                matching = [t for t in ordered if int(t["generated_timestamp"]) >= (start or 0)]
            page = matching[:per_page]
            if page:
                last, first = self._seq[page[-1]["id"]], self._seq[page[0]["id"]] - 1
            else:
                last = after if after is not None else self._last_change
                first = last
            body: dict[str, Any] = {"tickets": [self._ticket_json(t, base) for t in page]}
            body.update(
                self._sideloads(
                    query.get("include"),
                    itertools.chain.from_iterable(
                        (t["requester_id"], t["submitter_id"], t["assignee_id"]) for t in page
                    ),
                    (t["group_id"] for t in page),
                    base,
                )
            )
        after_cursor = self._encode_cursor(last)
        export = f"{base}/api/v2/incremental/tickets/cursor.json"
        suffix = f"&per_page={per_page}" + (
            f"&include={query['include']}" if "include" in query else ""
        )
        body.update(
            {
                "after_url": f"{export}?cursor={after_cursor}{suffix}",
                "after_cursor": after_cursor,
                "before_url": f"{export}?cursor={self._encode_cursor(first)}{suffix}"
                if page
                else None,
                "before_cursor": self._encode_cursor(first) if page else None,
                "end_of_stream": len(matching) <= per_page,
            }
        )
        return JSONResponse(body)

    def _live_ticket(self, ticket_id: int) -> dict[str, Any] | None:
        ticket = self._tickets.get(ticket_id)
        return ticket if ticket is not None and ticket["status"] != "deleted" else None

    async def _show(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        base = self._base(request)
        with self._lock:
            ticket = self._live_ticket(request.path_params["ticket_id"])
            if ticket is None:
                return _error(404, "RecordNotFound", "Not found")
            body = {"ticket": self._ticket_json(ticket, base)}
            body.update(
                self._sideloads(
                    request.query_params.get("include"),
                    (ticket["requester_id"], ticket["submitter_id"], ticket["assignee_id"]),
                    (ticket["group_id"],),
                    base,
                )
            )
        return JSONResponse(body)

    async def _list_comments(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        ticket_id = request.path_params["ticket_id"]
        try:
            page = self._int_param(request, "page", 1, 1, 10**6)
            per_page = self._int_param(request, "per_page", MAX_COMMENT_PAGE, 1, MAX_COMMENT_PAGE)
        except ValueError:
            return _error(400, "InvalidPaginationParameter", "page and per_page must be numbers")
        base = self._base(request)
        with self._lock:
            if self._live_ticket(ticket_id) is None:
                return _error(404, "RecordNotFound", "Not found")
            every = self._comments[ticket_id]
            chunk = every[(page - 1) * per_page : page * per_page]
            link = f"{base}/api/v2/tickets/{ticket_id}/comments.json?per_page={per_page}&page="
            body: dict[str, Any] = {"comments": [self._comment_json(c, base) for c in chunk]}
            body.update(
                self._sideloads(
                    request.query_params.get("include"), (c["author_id"] for c in chunk), (), base
                )
            )
        body.update(
            {
                "next_page": f"{link}{page + 1}" if page * per_page < len(every) else None,
                "previous_page": f"{link}{page - 1}" if page > 1 else None,
                "count": len(every),
            }
        )
        return JSONResponse(body)

    async def _me(self, request: Request) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        with self._lock:
            return JSONResponse(
                {"user": self._user_json(self._users[API_USER_ID], self._base(request))}
            )

    async def _upload(self, request: Request) -> Response:
        """``POST /api/v2/uploads.json?filename=…``: the raw bytes become an attachment."""
        if (denied := self._authorize(request, write=True)) is not None:
            return denied
        name = request.query_params.get("filename", "").strip()
        if not name:
            return _error(400, "InvalidValue", "filename is required")
        data = await request.body()
        if len(data) > MAX_UPLOAD_BYTES:
            return _error(413, "PayloadTooLarge", "File size exceeds the 50 MB limit")
        kind = request.headers.get("content-type", "application/binary")
        with self._lock:
            attachment = self._attachment(name, kind, len(data), data)
            token = secrets.token_urlsafe(18)
            self._uploads[token] = attachment
            shown = self._attachment_json(attachment, self._base(request))
        body = {"upload": {"token": token, "attachment": shown, "attachments": [shown]}}
        return JSONResponse(body, status_code=201)

    async def _content(self, request: Request) -> Response:
        """An attachment's bytes (uploaded ones as sent; seeded ones filled to their size)."""
        token = request.path_params["token"]
        with self._lock:
            data = self._files.get(token)
            if data is None:
                found = [
                    a
                    for comments in self._comments.values()
                    for c in comments
                    for a in c["attachments"]
                    if a.get("content_token") == token
                ]
                if not found:
                    return _error(404, "RecordNotFound", "Not found")
                data = (b"%PDF-1.4 stand-in attachment\n" * (found[0]["size"] // 29 + 1))[
                    : found[0]["size"]
                ]
        return Response(data, media_type="application/octet-stream")

    async def _update(self, request: Request) -> Response:
        if (denied := self._authorize(request, write=True)) is not None:
            return denied
        raw = await request.body()
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(request.url.path.encode() + b"\n" + raw).hexdigest()
        with self._lock:
            if key is not None and (stored := self._idempotent.get(key)) is not None:
                if stored.fingerprint != fingerprint:
                    return _error(
                        400,
                        "IdempotentRequestError",
                        "Request parameters do not "
                        "match the previous request with the same idempotency key",
                    )
                return JSONResponse(
                    stored.body, status_code=stored.status, headers={"x-idempotency-lookup": "hit"}
                )
            response = self._apply_update(request, raw)
            if key is not None and response.status_code < 300:
                self._idempotent[key] = _Stored(
                    fingerprint, response.status_code, json.loads(bytes(response.body))
                )
                response.headers["x-idempotency-lookup"] = "miss"
            return response

    def _field_changes(
        self, ticket: dict[str, Any], change: dict[str, Any]
    ) -> tuple[dict[str, Any], JSONResponse | None]:
        """Assignee (``assignee_id`` / ``assignee_email``) and tag (``tags``,
        ``additional_tags``, ``remove_tags``) changes of an update, validated as Zendesk does."""
        fields: dict[str, Any] = {}
        if "assignee_email" in change:
            email = str(change["assignee_email"] or "").lower()
            found = [u for u in self._users.values() if u["email"].lower() == email]
            if not found or found[0]["role"] == "end-user":
                return fields, _invalid("assignee", "Assignee: is invalid")
            fields["assignee_id"] = found[0]["id"]
        elif "assignee_id" in change:
            user = self._users.get(change["assignee_id"]) if change["assignee_id"] else None
            if change["assignee_id"] is not None and (user is None or user["role"] == "end-user"):
                return fields, _invalid("assignee", "Assignee: is invalid")
            fields["assignee_id"] = change["assignee_id"]
        tags = list(ticket["tags"])
        if isinstance(change.get("tags"), list):
            tags = [str(tag) for tag in change["tags"]]
        for tag in change.get("additional_tags") or ():
            if str(tag) not in tags:
                tags.append(str(tag))
        removed = {str(tag) for tag in change.get("remove_tags") or ()}
        tags = [tag for tag in tags if tag not in removed]
        if any(not tag or " " in tag for tag in tags):
            return fields, _invalid("tags", "Tags: a tag cannot contain spaces")
        if tags != ticket["tags"]:
            fields["tags"] = tags
        return fields, None

    def _apply_update(self, request: Request, raw: bytes) -> JSONResponse:
        try:
            payload = json.loads(raw)
            change = payload["ticket"]
            if not isinstance(change, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(400, "InvalidJSON", 'The body must be a JSON object {"ticket": {...}}')
        ticket = self._live_ticket(request.path_params["ticket_id"])
        if ticket is None:
            return _error(404, "RecordNotFound", "Not found")
        if ticket["status"] == "closed":
            return _invalid("status", "Status: closed prevents ticket update", "ClosedTicket")
        status = change.get("status")
        if status is not None and status not in STATUSES:
            return _invalid("status", f"Status: {status} is not valid")
        if status == "new" and ticket["status"] != "new":
            return _invalid("status", "Status: new is not valid once a ticket was opened")
        comment = change.get("comment")
        if comment is not None:
            if not isinstance(comment, dict) or not str(comment.get("body") or "").strip():
                return _invalid("comment", "Comment: body cannot be blank", "BlankValue")
            author_id = comment.get("author_id", API_USER_ID)
            if author_id not in self._users:
                return _invalid("comment", f"Comment: author {author_id} does not exist")
        fields, refused = self._field_changes(ticket, change)
        if refused is not None:
            return refused
        tokens = comment.get("uploads") if isinstance(comment, dict) else None
        if tokens is not None and (
            not isinstance(tokens, list) or any(t not in self._uploads for t in tokens)
        ):
            return _invalid("comment", "Uploads: token is invalid or expired", "InvalidValue")
        events: list[dict[str, Any]] = []
        audit_id = next(self._ids)
        at = self._bump(ticket["id"])
        base = self._base(request)
        if comment is not None:
            created = self._comment(
                author_id,
                str(comment["body"]),
                bool(comment.get("public", True)),
                at,
                [self._uploads.pop(t) for t in tokens or ()],
                channel="api",
            )
            created["audit_id"] = audit_id
            self._comments[ticket["id"]].append(created)
            shown = self._comment_json(created, base)
            events.append({key: shown[key] for key in AUDIT_COMMENT_KEYS})
            if status is None and ticket["status"] == "new":
                status = "open"  # an agent's update opens a new ticket
        if status is not None and status != ticket["status"]:
            events.append(
                {
                    "id": next(self._ids),
                    "type": "Change",
                    "field_name": "status",
                    "value": status,
                    "previous_value": ticket["status"],
                }
            )
            ticket["status"] = status
        for name, value in fields.items():
            if value != ticket[name]:
                events.append(
                    {
                        "id": next(self._ids),
                        "type": "Change",
                        "field_name": name,
                        "value": value,
                        "previous_value": ticket[name],
                    }
                )
                ticket[name] = value
        audit = {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": _iso(at),
            "author_id": API_USER_ID,
            "via": {"channel": "api"},
            "metadata": {"system": {"client": request.headers.get("user-agent", "")}, "custom": {}},
            "events": events,
        }
        return JSONResponse({"ticket": self._ticket_json(ticket, base), "audit": audit})
