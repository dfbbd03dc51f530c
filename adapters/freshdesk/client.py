"""The Freshdesk API v2 wire protocol: Basic auth with the API key, Link pagination, writes.

Returns decoded JSON; knows URLs, auth and pagination, nothing about the domain. Lists are
followed through their ``Link: <url>; rel="next"`` header only, never by counting pages, and
only while the link stays on the configured account (credentials never leave it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters._auth import KeyAsUserAuth
from adapters._http import HttpSettings, build_client, decode_json, raise_for_response, request
from app.domain import DecodeError, ErrorContext, RemoteError, UnreachableError

TICKETS_PATH = "/api/v2/tickets"
PER_PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class Page:
    """One list page: its rows, the ``rel="next"`` link and the server's clock."""

    rows: list[Any]
    next_url: str | None
    server_time: datetime | None


def server_time(response: httpx.Response) -> datetime | None:
    """The HTTP ``Date`` of an answer (aware UTC), None when absent or unreadable."""
    value = response.headers.get("date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def error_detail(response: httpx.Response) -> str:
    """Freshdesk's validation errors in words: ``status: It should be one of …``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return body_detail(body)


def body_detail(body: object) -> str:
    """The words of an error body: its field errors, else its ``message`` or ``description``."""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list):
        parts = [
            f"{item.get('field')}: {item.get('message')}"
            for item in errors
            if isinstance(item, dict)
        ]
        return "; ".join(parts)
    message = body.get("message") or body.get("description")
    return str(message) if message else ""


class FreshdeskClient:
    """One Freshdesk account over HTTP (one AsyncClient, Basic auth with the API key)."""

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        *,
        system: str,
        http: HttpSettings | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.http = http or HttpSettings()
        self._client = build_client(self.base_url, settings=self.http, auth=KeyAsUserAuth(api_key))

    def ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        """The error context of a request on ``stream``."""
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    def _own(self, url: str, ctx: ErrorContext) -> str:
        if not url.startswith(self.base_url + "/"):
            raise DecodeError(f"the next-page link leaves {self.base_url}: {url!r}", ctx)
        return url

    async def get(self, path: str, ctx: ErrorContext, **params: Any) -> Any:
        """``GET`` one object or list (retried on 429/5xx by the shared request helper)."""
        response = await request(
            self._client, "GET", path, context=ctx, settings=self.http, params=params or None
        )
        return await decode_json(response, ctx)

    async def page(self, url_or_path: str, ctx: ErrorContext, **params: Any) -> Page:
        """One page of a list: a path with ``params``, or the absolute ``rel="next"`` link."""
        absolute = url_or_path.startswith(("http://", "https://"))
        target = self._own(url_or_path, ctx) if absolute else url_or_path
        response = await request(
            self._client,
            "GET",
            target,
            context=ctx,
            settings=self.http,
            params=None if absolute else params,
        )
        rows = await decode_json(response, ctx)
        if not isinstance(rows, list):
            raise DecodeError("a list page is not a JSON array", ctx)
        link = response.links.get("next", {}).get("url")
        return Page(rows, link or None, server_time(response))

    async def every(self, path: str, ctx: ErrorContext, **params: Any) -> list[Any]:
        """Every row of a Link-paginated list."""
        rows: list[Any] = []
        target: str | None = path
        while target is not None:
            page = await self.page(target, ctx, **params)
            rows.extend(page.rows)
            target = page.next_url
        return rows

    async def tickets_page(
        self, next_url: str | None, *, since: str, per_page: int, deleted: bool
    ) -> Page:
        """A page of tickets changed since ``since``, oldest change first."""
        ctx = self.ctx("tickets")
        if next_url is not None:
            return await self.page(next_url, ctx)
        params: dict[str, Any] = {
            "updated_since": since,
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": per_page,
            "include": "requester,description",
        }
        if deleted:
            params["filter"] = "deleted"
        return await self.page(TICKETS_PATH, ctx, **params)

    async def conversations(self, ticket_id: str) -> list[Any]:
        """Every conversation (replies and notes) of a ticket, all pages."""
        return await self.every(
            f"{TICKETS_PATH}/{ticket_id}/conversations",
            self.ctx("conversations", ticket_id),
            per_page=PER_PAGE_MAX,
        )

    async def write(
        self, method: str, path: str, body: Mapping[str, Any], ctx: ErrorContext
    ) -> Any:
        """One write, sent once: Freshdesk has no idempotency keys, the caller decides retries.

        400s carry Freshdesk's field errors in the message.
        """
        try:
            response = await self._client.request(method, path, json=dict(body))
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise UnreachableError(
                f"the system is unreachable: {type(exc).__name__}",
                ErrorContext(system=ctx.system, stream=ctx.stream, record_id=ctx.record_id),
            ) from exc
        if response.status_code == 400:
            raise RemoteError(
                f"400 — Freshdesk refused it: {error_detail(response) or 'validation failed'}",
                ctx,
                status_code=400,
            )
        raise_for_response(response, ctx)
        return await decode_json(response, ctx)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
