"""The Zammad REST API wire protocol: token auth, ticket search, articles, tags, users, writes.

Returns decoded JSON; knows URLs, auth and pagination, nothing about the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters._auth import HeaderAuth
from adapters._http import HttpSettings, build_client, decode_json, raise_for_response, request
from app.domain import DecodeError, ErrorContext, RemoteError, UnreachableError

SEARCH_PATH = "/api/v1/tickets/search"


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a ticket search and the server's clock when it was answered."""

    rows: list[Any]
    server_time: datetime | None


def server_time(response: httpx.Response) -> datetime | None:
    """The HTTP ``Date`` of an answer (aware UTC), None when absent or unreadable."""
    value = response.headers.get("date")
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def error_human(response: httpx.Response) -> str:
    """Zammad's ``error_human`` (or ``error``) of an error answer; empty when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    text = body.get("error_human") or body.get("error")
    return str(text) if text else ""


def range_query(since: str) -> str:
    """The search query for tickets changed at or after ``since`` (inclusive)."""
    return f"updated_at:[{since} TO *]"


class ZammadClient:
    """One Zammad instance over HTTP (one AsyncClient, token auth)."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        system: str,
        http: HttpSettings | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.http = http or HttpSettings()
        self._client = build_client(
            self.base_url,
            settings=self.http,
            auth=HeaderAuth("Authorization", token, "Token token="),
        )

    def ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        """The error context of a request on ``stream``."""
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    async def _get(self, path: str, ctx: ErrorContext, **params: Any) -> httpx.Response:
        return await request(
            self._client, "GET", path, context=ctx, settings=self.http, params=params or None
        )

    async def get(self, path: str, ctx: ErrorContext, **params: Any) -> Any:
        """``GET`` one object or list (retried on 429/5xx by the shared request helper)."""
        return await decode_json(await self._get(path, ctx, **params), ctx)

    async def search(self, *, since: str, page: int, per_page: int) -> SearchPage:
        """Tickets changed at or after ``since``, oldest change first, expanded."""
        ctx = self.ctx("tickets")
        response = await self._get(
            SEARCH_PATH,
            ctx,
            query=range_query(since),
            sort_by="updated_at",
            order_by="asc",
            expand="true",
            page=page,
            per_page=per_page,
        )
        rows = await decode_json(response, ctx)
        if not isinstance(rows, list):
            raise DecodeError("the expanded search answer is not a JSON array", ctx)
        return SearchPage(rows, server_time(response))

    async def articles(self, ticket_id: str) -> list[Any]:
        """Every article of a ticket."""
        ctx = self.ctx("articles", ticket_id)
        rows = await self.get(f"/api/v1/ticket_articles/by_ticket/{ticket_id}", ctx)
        if not isinstance(rows, list):
            raise DecodeError("the articles answer is not a JSON array", ctx)
        return rows

    async def tags(self, ticket_id: str) -> list[Any]:
        """The tags of a ticket."""
        ctx = self.ctx("tags", ticket_id)
        body = await self.get("/api/v1/tags", ctx, object="Ticket", o_id=ticket_id)
        tags = body.get("tags") if isinstance(body, dict) else None
        return tags if isinstance(tags, list) else []

    async def write(
        self, method: str, path: str, body: Mapping[str, Any], ctx: ErrorContext
    ) -> Any:
        """One write, sent once: the caller decides whether a retry is safe.

        4xx answers carry Zammad's ``error_human`` in the message.
        """
        try:
            response = await self._client.request(method, path, json=dict(body))
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise UnreachableError(
                f"the system is unreachable: {type(exc).__name__}",
                ErrorContext(system=ctx.system, stream=ctx.stream, record_id=ctx.record_id),
            ) from exc
        code = response.status_code
        if code in (400, 404, 422):
            detail = error_human(response) or "the request was refused"
            raise RemoteError(f"{code} — Zammad refused it: {detail}", ctx, status_code=code)
        raise_for_response(response, ctx)
        return await decode_json(response, ctx)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
