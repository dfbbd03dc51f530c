"""The RT REST2 wire protocol: token auth, TicketSQL search pages, records, history, writes.

Returns decoded JSON; knows URLs, auth, pagination and HTTP caching, nothing about the domain.
Ticket records are fetched conditionally (``If-None-Match`` with the ETag last seen; ``304``
re-uses the cached body). Transactions and attachments never change in RT, so what was read
once is kept (bounded) and never downloaded again by this instance.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from adapters._auth import HeaderAuth
from adapters._http import HttpSettings, build_client, decode_json, request
from app.domain import DecodeError, ErrorContext, RemoteError

API = "/REST/2.0"
HISTORY_FIELDS = "Type,Created,Creator,Field,OldValue,NewValue"
SEARCH_FIELDS = "Subject,Status,LastUpdated"
ATTACHMENT_FIELDS = "Filename,ContentType,Parent,Subject"
MAX_CONCURRENCY = 8
PAGE = 100  # RT::REST2's maximum per_page
K = TypeVar("K")
V = TypeVar("V")

Payload = dict[str, Any]


class Lru(Generic[K, V]):
    """A small least-recently-used map (per-instance HTTP cache; never persisted)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now most recent), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def pop(self, key: K) -> None:
        """Forget ``key``."""
        self._items.pop(key, None)

    def put(self, key: K, value: V) -> None:
        """Remember ``value``; forgets the least recent entry past ``size``."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _object(value: Any, ctx: ErrorContext) -> Payload:
    if not isinstance(value, dict):
        raise DecodeError("the answer is not a JSON object", ctx)
    return value


def items(payload: Mapping[str, Any]) -> list[Any]:
    """The ``items`` of a collection, or an empty list."""
    value = payload.get("items")
    return value if isinstance(value, list) else []


def quote_sql(value: str) -> str:
    """``value`` as a TicketSQL string literal (backslash-escaped single quotes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RtClient:
    """One RT instance over HTTP; every call goes through ``adapters._http.request``."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        system: str,
        http: HttpSettings | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.http = http or HttpSettings()
        self._client = build_client(
            self.base_url + API,
            settings=self.http,
            auth=HeaderAuth("Authorization", token, "token "),
            headers={"Accept": "application/json"},
        )
        self._tickets: Lru[str, tuple[str, Payload]] = Lru(cache_size)
        # attachments, users, queues: futures, so concurrent callers share one request
        self._static: Lru[str, asyncio.Future[Any]] = Lru(cache_size)
        self._lists: Lru[str, list[Any]] = Lru(cache_size)  # attachment lists of transactions
        self._gate = asyncio.Semaphore(MAX_CONCURRENCY)
        self.not_modified = 0  # 304 answers received (for health figures and tests)

    def ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        """Error context naming this system."""
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    async def _send(
        self, method: str, path: str, ctx: ErrorContext, **kwargs: Any
    ) -> httpx.Response:
        async with self._gate:  # at most MAX_CONCURRENCY requests in flight per instance
            return await request(
                self._client, method, path, context=ctx, settings=self.http, **kwargs
            )

    async def _get(self, path: str, ctx: ErrorContext, **params: Any) -> Any:
        response = await self._send("GET", path, ctx, params=params)
        return await decode_json(response, ctx)

    async def _cached(self, key: str, path: str, ctx: ErrorContext, **params: Any) -> Any:
        """GET once per instance; concurrent callers share the request in flight."""
        found = self._static.get(key)
        if found is None:
            found = asyncio.ensure_future(self._get(path, ctx, **params))
            self._static.put(key, found)
        try:
            return await asyncio.shield(found)
        except BaseException:
            if found.done():
                self._static.pop(key)
            raise

    async def _collection(self, path: str, ctx: ErrorContext, **params: Any) -> list[Any]:
        """Every item of a collection, page after page."""
        out: list[Any] = []
        page = 1
        while True:
            body = _object(await self._get(path, ctx, page=page, per_page=PAGE, **params), ctx)
            chunk = items(body)
            out.extend(chunk)
            if not chunk or not body.get("next_page"):
                return out
            page += 1

    async def system_info(self) -> Payload:
        """``GET /rt``: version and plugins."""
        ctx = self.ctx("rt")
        return _object(await self._get("/rt", ctx), ctx)

    async def search(self, query: str, *, page: int, per_page: int) -> Payload:
        """One page of a TicketSQL search ordered by ``LastUpdated``, then ``id``."""
        ctx = self.ctx("tickets")
        params = httpx.QueryParams(
            [
                ("query", query),
                ("orderby", "LastUpdated"),
                ("order", "ASC"),
                ("orderby", "id"),
                ("order", "ASC"),
                ("page", page),
                ("per_page", per_page),
                ("fields", SEARCH_FIELDS),
            ]
        )
        response = await self._send("GET", "/tickets", ctx, params=params)
        return _object(await decode_json(response, ctx), ctx)

    async def ticket(self, ticket_id: str) -> tuple[str | None, Payload]:
        """The ticket record and its ETag, revalidated with ``If-None-Match`` when cached."""
        ctx = self.ctx("tickets", ticket_id)
        cached = self._tickets.get(ticket_id)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = await self._send("GET", f"/ticket/{ticket_id}", ctx, headers=headers)
        if response.status_code == 304 and cached is not None:
            self.not_modified += 1
            return cached
        body = _object(await decode_json(response, ctx), ctx)
        etag = response.headers.get("ETag")
        if etag:
            self._tickets.put(ticket_id, (etag, body))
        return etag, body

    async def history(self, ticket_id: str) -> list[Any]:
        """Every transaction of a ticket (id plus :data:`HISTORY_FIELDS`), oldest first."""
        return await self._collection(
            f"/ticket/{ticket_id}/history", self.ctx("history", ticket_id), fields=HISTORY_FIELDS
        )

    async def transaction_attachments(self, txn_id: str) -> list[Any]:
        """The attachments of a transaction without their content (cached: never changes)."""
        ctx = self.ctx("attachments", txn_id)
        key = f"txn-attachments:{txn_id}"
        found = self._lists.get(key)
        if found is None:
            found = await self._collection(
                f"/transaction/{txn_id}/attachments", ctx, fields=ATTACHMENT_FIELDS
            )
            self._lists.put(key, found)
        return list(found)

    async def attachment(self, attachment_id: str) -> Payload:
        """One attachment with its base64 ``Content`` (cached: never changes)."""
        ctx = self.ctx("attachments", attachment_id)
        return _object(
            await self._cached(f"attachment:{attachment_id}", f"/attachment/{attachment_id}", ctx),
            ctx,
        )

    async def user(self, name: str) -> Payload | None:
        """A user record by name; None when RT does not know it (cached)."""
        ctx = self.ctx("users", name)
        try:
            found = await self._cached(f"user:{name}", f"/user/{quote(name, safe='@')}", ctx)
        except RemoteError as exc:
            if exc.status_code == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    async def queue_name(self, queue_id: str) -> str | None:
        """A queue's name (cached)."""
        ctx = self.ctx("queues", queue_id)
        try:
            found = await self._cached(f"queue:{queue_id}", f"/queue/{queue_id}", ctx)
        except RemoteError as exc:
            if exc.status_code == 404:
                return None
            raise
        name = found.get("Name") if isinstance(found, dict) else None
        return name if isinstance(name, str) and name else None

    async def post_message(self, ticket_id: str, kind: str, content: str) -> Any:
        """``POST /ticket/{id}/correspond`` or ``/comment``; never retried here (not idempotent)."""
        ctx = self.ctx("actions", ticket_id)
        response = await self._send(
            "POST",
            f"/ticket/{ticket_id}/{kind}",
            ctx,
            retry=False,
            json={"Content": content, "ContentType": "text/plain"},
        )
        return await decode_json(response, ctx)

    async def update_ticket(
        self, ticket_id: str, change: Mapping[str, Any], *, if_match: str | None
    ) -> Any:
        """``PUT /ticket/{id}`` guarded by ``If-Match`` (412 when the ticket changed meanwhile)."""
        ctx = self.ctx("actions", ticket_id)
        response = await self._send(
            "PUT",
            f"/ticket/{ticket_id}",
            ctx,
            json=dict(change),
            headers={"If-Match": if_match} if if_match else {},
        )
        return await decode_json(response, ctx)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
