"""The Zammad adapter: glues the wire client to the pure mapping.

Pull — ``GET /api/v1/tickets/search?query=updated_at:[<since> TO *]&sort_by=updated_at&
order_by=asc&expand=true`` (``/api/v1/tickets`` lists by id only, so it cannot resume from a
change). Each page re-anchors the search at the newest ``updated_at`` it returned (keyset
pagination), so a ticket changed while a sync runs moves past the anchor and is read again
instead of shifting others out of view; ``page`` only advances when a whole page shares one
timestamp. Tickets read back at the anchor unchanged — same id, same ``updated_at``, already
older than the server clock when first read — are dropped. The cursor is JSON:
``{"since", "page", "skip"}``. Each ticket's articles and tags are fetched with bounded
concurrency; customers, owners and authors come from ``GET /api/v1/users/{id}``.

Known limits: Zammad's search reads its Elasticsearch index, which trails the database by
seconds; a ticket deleted outright (``DELETE``) leaves no trace to sync — Zammad's ``removed``
state is what comes back as a deletion.

Perform — articles have no idempotency keys: the article carries the action's key as its
``message_id``; before posting, the ticket's articles are searched for it, and after a lost
answer (5xx, timeout) they are read back before any new attempt, so one action is one article.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx

from adapters._http import HttpSettings
from adapters.base import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    CheckResult,
    PullResult,
)
from adapters.zammad import mapping
from adapters.zammad.client import ZammadClient
from adapters.zammad.manifest import DEFAULT_PAGE_SIZE, MANIFEST, MAX_PAGE_SIZE
from app.domain import (
    AdapterError,
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RemoteError,
    SecretError,
    Status,
    Ticket,
    UnreachableError,
)
from app.timeutil import parse_timestamp, utcnow

MAX_CONCURRENCY = 8
EPOCH = "1970-01-01T00:00:00.000Z"
WRITE_ATTEMPTS = 3
T = TypeVar("T")
R = TypeVar("R")
Key = tuple[str, str]  # ticket id, updated_at as Zammad wrote it


def _setting(context: AdapterContext, key: str) -> str:
    value = context.settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the setting {key!r} is missing", ErrorContext(system=context.system_id))
    return value.strip()


def _page_size(context: AdapterContext) -> int:
    value = context.settings.get("page_size", DEFAULT_PAGE_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ConfigError(
            f"page_size must be a number from 1 to {MAX_PAGE_SIZE}, not {value!r}",
            ErrorContext(system=context.system_id),
        )
    return value


def unreachable_reason(error: BaseException) -> str:
    """Why a connection failed, in words: ``connection refused``, ``host not found``…"""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, httpx.TimeoutException | TimeoutError):
            return "timed out"
        if isinstance(seen, socket.gaierror):
            return "host not found"
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed ({seen.reason or seen})"
        seen = seen.__cause__ or seen.__context__
    return str(error)


async def _bounded(func: Callable[[T], Awaitable[R]], args: Iterable[T]) -> list[R]:
    """``func`` over ``args`` with at most 8 in flight; the first failure is raised as itself."""
    gate = asyncio.Semaphore(MAX_CONCURRENCY)

    async def one(arg: T) -> R:
        async with gate:
            return await func(arg)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(arg)) for arg in args]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


@dataclass
class Cursor:
    """Where a pull stands; serialised as JSON into the opaque cursor string."""

    since: str = EPOCH
    page: int = 1
    skip: set[Key] = field(default_factory=set)

    def dumps(self) -> str:
        """The cursor string."""
        return json.dumps(
            {"since": self.since, "page": self.page, "skip": sorted(list(k) for k in self.skip)},
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None, system: str) -> Cursor:
        """The cursor a previous pull returned (None: a full sync from the beginning)."""
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
            since, page = str(raw["since"]), raw["page"]
            parse_timestamp(since)
            skip = {(str(i), str(u)) for i, u in raw.get("skip", [])}
        except (ValueError, TypeError, KeyError) as exc:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            ) from exc
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise DecodeError(
                "the saved sync cursor is unreadable",
                ErrorContext(system=system, stream=mapping.STREAM_TICKETS, field="cursor"),
            )
        return cls(since, page, skip)


def _key(raw: object) -> Key | None:
    ticket_id = mapping.record_id(raw)
    stamp = raw.get("updated_at") if isinstance(raw, Mapping) else None
    if ticket_id is None or not isinstance(stamp, str):
        return None
    try:
        parse_timestamp(stamp)
    except ValueError:
        return None
    return ticket_id, stamp


class ZammadAdapter(Adapter):
    """Zammad over its REST API (``Authorization: Token token=…``).

    Settings: ``base_url``, optional ``page_size`` (default 100, at most 200); secret:
    ``api_token``. ``http`` overrides the HTTP settings (timeouts, retries, TLS, proxy).
    """

    manifest = MANIFEST

    def __init__(self, context: AdapterContext, *, http: HttpSettings | None = None) -> None:
        super().__init__(context)
        self.base_url = _setting(context, "base_url").rstrip("/")
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"base_url must start with https:// (got {self.base_url!r})",
                ErrorContext(system=context.system_id),
            )
        self.page_size = _page_size(context)
        self.http = http or HttpSettings()
        self._client = ZammadClient(
            self.base_url, lambda: context.secret("api_token"), system=context.system_id, http=http
        )
        self._users: dict[int, Mapping[str, Any]] = {}  # a lookup cache, not sync state

    # ------------------------------------------------------------------------------ check

    async def check(self) -> CheckResult:
        """``GET /api/v1/users/me``; a readable verdict, never an exception."""
        started = time.perf_counter()
        try:
            me = await self._client.get("/api/v1/users/me", self._client.ctx("users"))
        except AuthError as exc:
            reason = "the access token was rejected" if "401" in exc.message else "access denied"
            return CheckResult(False, f"{exc.message[:3]} — {reason}")
        except UnreachableError as exc:
            return CheckResult(
                False, f"cannot connect to {self.base_url}: {unreachable_reason(exc)}"
            )
        except SecretError as exc:
            return CheckResult(False, f"the access token is not available: {exc.message}")
        except AdapterError as exc:
            return CheckResult(False, exc.message)
        except Exception as exc:  # never raise from check()
            return CheckResult(False, f"unexpected error: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        who = mapping.person(me) if isinstance(me, dict) else None
        label = (who.name or who.email) if who else None
        return CheckResult(
            True, f"connected to {self.base_url} as {label or 'the API user'}", latency
        )

    # ------------------------------------------------------------------------------- pull

    async def _details(self, ticket_id: str) -> tuple[str, list[Any] | None, list[Any]]:
        try:
            articles: list[Any] | None = await self._client.articles(ticket_id)
        except RemoteError as exc:
            if exc.status_code != 404:
                raise
            return ticket_id, None, []  # deleted outright since the search
        return ticket_id, articles, await self._client.tags(ticket_id)

    async def _user(self, user_id: int) -> None:
        try:
            user = await self._client.get(f"/api/v1/users/{user_id}", self._client.ctx("users"))
        except RemoteError as exc:
            if exc.status_code == 404:
                return
            raise
        if isinstance(user, dict):
            self._users[user_id] = user

    async def _load_users(self, wanted: set[int]) -> None:
        await _bounded(self._user, sorted(wanted - set(self._users)))

    async def pull(self, cursor: str | None) -> PullResult:
        """One search page, each ticket with all its articles and tags."""
        state = Cursor.loads(cursor, self.system_id)
        page = await self._client.search(
            since=state.since, page=state.page, per_page=self.page_size
        )
        keys = [_key(raw) for raw in page.rows]
        fresh = [raw for raw, key in zip(page.rows, keys, strict=True) if key not in state.skip]
        ids = [i for raw in fresh if (i := mapping.record_id(raw)) is not None]
        details = await _bounded(self._details, ids)
        articles = {ticket_id: found for ticket_id, found, _ in details}
        tags = {ticket_id: found for ticket_id, _, found in details}
        await self._load_users(
            mapping.user_ids(fresh, (rows for rows in articles.values() if rows))
        )
        tickets, quarantined = await asyncio.to_thread(
            mapping.map_page,
            fresh,
            articles,
            tags,
            self._users,
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
        )
        full = len(page.rows) >= self.page_size
        return PullResult(
            tickets=tickets,
            cursor=self._advance(state, keys, full, page.server_time).dumps(),
            has_more=full,
            quarantined=quarantined,
        )

    @staticmethod
    def _advance(
        state: Cursor, keys: list[Key | None], full: bool, read_at: datetime | None
    ) -> Cursor:
        """The cursor after a page: re-anchored at its newest change, or the next page."""
        readable = [k for k in keys if k is not None]
        if not readable:
            return Cursor(state.since, state.page + 1, state.skip) if full else state
        newest = max(readable, key=lambda k: parse_timestamp(k[1]))[1]
        settled = {
            k
            for k in readable
            if k[1] == newest and (read_at is None or parse_timestamp(k[1]) < read_at)
        }
        if parse_timestamp(newest) == parse_timestamp(state.since):
            if full:  # a whole page at one instant: move on within it
                return Cursor(state.since, state.page + 1, state.skip | settled)
            return Cursor(state.since, 1, state.skip | settled)
        return Cursor(newest, 1, settled)

    # ---------------------------------------------------------------------------- perform

    def _ticket_id(self, external_id: str) -> int:
        if not external_id.isdigit():
            raise AdapterError(
                f"{external_id!r} is not a Zammad ticket id",
                ErrorContext(
                    system=self.system_id, stream=mapping.STREAM_TICKETS, record_id=external_id
                ),
                code="invalid_action",
            )
        return int(external_id)

    async def fetch_ticket(self, external_id: str) -> Ticket:
        """One ticket's current remote state with its articles and tags."""
        ticket_id = str(self._ticket_id(external_id))
        raw = await self._client.get(
            f"/api/v1/tickets/{ticket_id}", self._client.ctx("tickets", ticket_id), expand="true"
        )
        _, articles, tags = await self._details(ticket_id)
        await self._load_users(mapping.user_ids([raw], [articles or []]))
        return mapping.map_ticket(
            raw,
            articles or [],
            tags,
            self._users,
            system_id=self.system_id,
            naive_zone=self.context.naive_zone,
            gone=articles is None,
        )

    async def _deliver_article(self, action: ActionRequest, ticket_id: int) -> Mapping[str, Any]:
        """Post an article once, however often it has to be attempted."""
        body = mapping.article_body(action, ticket_id)
        before = await self._client.articles(str(ticket_id))
        found = mapping.find_delivery(before, action.idempotency_key)
        if found is not None:  # delivered by an earlier attempt of this action
            return found
        known = frozenset(i for raw in before if (i := mapping.record_id(raw)) is not None)
        ctx = self._client.ctx("articles", str(ticket_id))
        for attempt in range(WRITE_ATTEMPTS):
            try:
                created = await self._client.write("POST", "/api/v1/ticket_articles", body, ctx)
            except RateLimitedError as exc:  # refused, not processed: wait and try again
                if attempt + 1 == WRITE_ATTEMPTS:
                    raise
                await asyncio.sleep(exc.retry_after or self.http.backoff_base)
                continue
            except (RemoteError, UnreachableError) as exc:
                if isinstance(exc, RemoteError) and (exc.status_code or 0) < 500:
                    raise
                # The answer was lost, not necessarily the article: look before trying again.
                after = await self._client.articles(str(ticket_id))
                found = mapping.find_delivery(
                    after,
                    action.idempotency_key,
                    text=action.body,
                    internal=body["internal"],
                    known_ids=known,
                )
                if found is not None:
                    return found
                if attempt + 1 == WRITE_ATTEMPTS:
                    raise
                await asyncio.sleep(self.http.backoff_base * 2**attempt)
                continue
            if isinstance(created, Mapping):
                return created
            raise DecodeError("the created article is not a JSON object", ctx)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _set_state(self, ticket_id: int, status: Status) -> None:
        change = mapping.state_change(status, utcnow())
        ctx = self._client.ctx("tickets", str(ticket_id))
        for attempt in range(WRITE_ATTEMPTS):  # PUT of a value: repeating it is harmless
            try:
                await self._client.write("PUT", f"/api/v1/tickets/{ticket_id}", change, ctx)
                return
            except (RemoteError, UnreachableError) as exc:
                code = exc.status_code if isinstance(exc, RemoteError) else 503
                if (code or 0) < 429 or attempt + 1 == WRITE_ATTEMPTS:
                    raise
                wait = exc.retry_after if isinstance(exc, RateLimitedError) else None
                await asyncio.sleep(wait or self.http.backoff_base * 2**attempt)

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Reply (public article), note (internal article) or state change; never twice."""
        ticket_id = self._ticket_id(action.external_id)
        remote_id: str | None = None
        try:
            if action.kind in (ActionKind.REPLY, ActionKind.NOTE):
                remote_id = mapping.record_id(await self._deliver_article(action, ticket_id))
            elif action.status is None:
                raise AdapterError(
                    "a status change needs a status",
                    ErrorContext(system=self.system_id, record_id=str(ticket_id)),
                    code="invalid_action",
                )
            if action.status is not None:
                await self._set_state(ticket_id, action.status)
        except RemoteError as exc:
            if exc.status_code == 404:
                raise RemoteError(
                    f"ticket {ticket_id} no longer exists in Zammad", exc.context, status_code=404
                ) from exc
            raise
        try:  # delivered; a failed refresh must not make the outbox retry it
            ticket: Ticket | None = await self.fetch_ticket(str(ticket_id))
        except AdapterError:
            ticket = None
        created = tuple(
            m for m in (ticket.messages if ticket else ()) if m.external_id == remote_id
        )
        return ActionOutcome(
            ok=True,
            message=f"{action.kind.value} delivered to Zammad ticket {ticket_id}",
            remote_id=remote_id or str(ticket_id),
            ticket=ticket,
            created_messages=created,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
