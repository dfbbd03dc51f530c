"""The wire side of a mapping file: URLs, auth, pagination and payload decoding.

Returns decoded payloads and raw records (JSON objects, XML elements, CSV rows); reading their
fields is :mod:`adapters.declarative.mapping`'s job. All traffic goes through
:func:`adapters._http.request`; XML through :mod:`adapters._formats.xml`, CSV through
:mod:`adapters._formats.tabular`. Decoding runs off the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from adapters._formats import tabular, xml
from adapters._http import HttpSettings, build_client, request
from adapters._push import long_poll_signals, sse_signals, websocket_signals
from adapters.declarative.auth import TOKEN_AUTH, build_auth
from adapters.declarative.select import compile_selector
from adapters.declarative.spec import (
    ActionEndpoint,
    ApiKeyAuth,
    CursorPagination,
    LinkHeaderPagination,
    NextLinkPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    Pagination,
    Push,
    Spec,
)
from app.domain import DecodeError, ErrorContext, RecordError

PageState = dict[str, Any]
MAX_MESSAGE_PAGES = 1000
VALIDATORS = (("ETag", "If-None-Match"), ("Last-Modified", "If-Modified-Since"))


@dataclass(slots=True)
class Page:
    """One list page: its records, the rows a CSV reader refused, and where the next one is."""

    records: list[Any]
    next_state: PageState | None
    bad_rows: list[RecordError] = field(default_factory=list)
    validators: dict[str, str] = field(default_factory=dict)  # ETag / Last-Modified answered
    not_modified: bool = False  # 304: nothing changed since ``validators`` were sent


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with ``{body}``, ``{status}``, ``{id}``… replaced (no other formatting)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def fill_body(body: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A write body: string values filled in, nested tables too, other values kept."""
    filled: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, str):
            filled[key] = fill(value, values)
        elif isinstance(value, Mapping):
            filled[key] = fill_body(value, values)
        else:
            filled[key] = value
    return filled


class DeclarativeClient:
    """Talks to the system a mapping file describes."""

    def __init__(
        self,
        spec: Spec,
        base_url: str,
        secret: Callable[[str], str],
        *,
        system: str,
        http: HttpSettings | None = None,
        store_secret: Callable[[str, str], None] | None = None,
    ) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.http = http or HttpSettings()
        self.format = spec.source.format
        self._token_client: httpx.AsyncClient | None = None
        if isinstance(spec.auth, TOKEN_AUTH):  # the token request cannot go through its own auth
            self._token_client = build_client(
                self.base_url, settings=replace(self.http, max_connections=1, max_keepalive=1)
            )
        token_client = self._token_client
        auth = build_auth(
            spec.auth,
            secret,
            base_url=self.base_url,
            system=system,
            token_client=(lambda: token_client) if token_client is not None else None,
            store=store_secret,
        )
        self._client = build_client(self.base_url, settings=self.http, auth=auth)

    def _ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    # --- decoding -------------------------------------------------------------------------

    def _decode(self, response: httpx.Response, ctx: ErrorContext) -> tuple[Any, list[RecordError]]:
        """The payload's root (JSON value, XML element, list of CSV rows) and refused rows."""
        data = response.content
        charset = self.spec.source.charset or response.charset_encoding
        if self.format == "xml":
            return xml.parse_xml(data, declared_charset=charset, context=ctx), []
        if self.format == "csv":
            bad: list[RecordError] = []
            reader = tabular.read_rows(
                data,
                declared_charset=charset,
                context=ctx,
                delimiter=self.spec.source.csv_delimiter,
                on_bad_row=bad.append,
            )
            return list(reader), bad
        try:
            return json.loads(data.decode(charset or "utf-8")), []
        except (ValueError, LookupError) as exc:
            raise DecodeError(f"the response is not JSON: {exc}", ctx) from exc

    async def _get(
        self,
        url: str,
        ctx: ErrorContext,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, Any, list[RecordError]]:
        # params=None keeps a next-link's own query; an empty dict would wipe it (httpx)
        response = await request(
            self._client,
            "GET",
            url,
            context=ctx,
            settings=self.http,
            params=params or None,
            headers=headers or None,
        )
        if response.status_code == 304:
            return response, None, []
        root, bad = await asyncio.to_thread(self._decode, response, ctx)
        return response, root, bad

    def _single(self, root: Any) -> Any:
        """The one record of a detail or write answer (a CSV answer: its first row)."""
        if self.format == "csv" and isinstance(root, list):
            return root[0] if root else None
        return root

    def _records(self, root: Any, expression: str | None) -> list[Any]:
        if expression is None:  # CSV: every row is a record
            return list(root) if isinstance(root, list) else [root]
        return compile_selector(expression, self.format).nodes(root)

    # --- pagination -----------------------------------------------------------------------

    def _request_for(
        self, pagination: Pagination, state: PageState | None, params: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        """The absolute next-link URL (or None) and the parameters of the next request."""
        if not isinstance(pagination, NoPagination) and pagination.size_param and pagination.size:
            params[pagination.size_param] = pagination.size
        if isinstance(pagination, PagePagination):
            params[pagination.param] = (state or {}).get("page", pagination.start)
        elif isinstance(pagination, OffsetPagination):
            params[pagination.param] = (state or {}).get("offset", 0)
        elif isinstance(pagination, CursorPagination) and state:
            params[pagination.param] = state["cursor"]
        elif isinstance(pagination, NextLinkPagination | LinkHeaderPagination) and state:
            return str(state["url"]), {}
        return None, params

    def _next_state(
        self,
        pagination: Pagination,
        state: PageState | None,
        response: httpx.Response,
        root: Any,
        count: int,
        ctx: ErrorContext,
    ) -> PageState | None:
        short = count == 0 or (
            not isinstance(pagination, NoPagination)
            and pagination.size is not None
            and count < pagination.size
        )
        if isinstance(pagination, PagePagination):
            page = int((state or {}).get("page", pagination.start))
            return None if short else {"page": page + 1}
        if isinstance(pagination, OffsetPagination):
            offset = int((state or {}).get("offset", 0))
            return None if short else {"offset": offset + count}
        if isinstance(pagination, CursorPagination):
            cursor = compile_selector(pagination.cursor, self.format).first(root)
            return {"cursor": str(cursor)} if cursor not in (None, "") else None
        link: Any = None
        if isinstance(pagination, NextLinkPagination):
            link = compile_selector(pagination.next, self.format).first(root)
        elif isinstance(pagination, LinkHeaderPagination):
            link = response.links.get("next", {}).get("url")
        if link in (None, ""):
            return None
        url = response.request.url.join(str(link))
        if (url.scheme, url.host, url.port) != (
            response.request.url.scheme,
            response.request.url.host,
            response.request.url.port,
        ):
            raise DecodeError(
                f"the next-page link leaves the system ({url.host}); it is not followed", ctx
            )
        auth = self.spec.auth
        if isinstance(auth, ApiKeyAuth) and auth.query:  # the cursor is stored: keep keys out
            url = url.copy_remove_param(auth.query)
        return {"url": str(url)}

    async def _page(
        self,
        path: str,
        records: str | None,
        pagination: Pagination,
        state: PageState | None,
        params: dict[str, Any],
        ctx: ErrorContext,
        validators: Mapping[str, str] | None = None,
    ) -> Page:
        link, query = self._request_for(pagination, state, params)
        known = validators or {}
        conditions = {ask: known[got] for got, ask in VALIDATORS if got in known}
        response, root, bad = await self._get(link or path, ctx, query, conditions)
        answered = {got: response.headers[got] for got, _ in VALIDATORS if got in response.headers}
        if response.status_code == 304:
            return Page([], None, validators=answered or dict(known), not_modified=True)
        found = self._records(root, records)
        next_state = self._next_state(pagination, state, response, root, len(found), ctx)
        return Page(found, next_state, bad, validators=answered)

    async def list_page(
        self,
        state: PageState | None,
        since: str | None,
        validators: Mapping[str, str] | None = None,
    ) -> Page:
        """One page of the ticket list after ``state`` (None: the first), changed ``since``.

        ``validators`` (the ETag / Last-Modified of the last first page) make the request
        conditional when the file sets ``conditional``; a ``304`` gives an empty page with
        ``not_modified`` set.
        """
        endpoint = self.spec.endpoints.list_
        params: dict[str, Any] = dict(endpoint.params)
        if since is not None and endpoint.incremental is not None:
            params[endpoint.incremental.param] = since
        conditional = endpoint.conditional and state is None
        return await self._page(
            endpoint.path,
            endpoint.records,
            endpoint.pagination,
            state,
            params,
            self._ctx("tickets"),
            validators if conditional else None,
        )

    def listen(self, push: Push) -> AsyncIterator[None]:
        """The change channel ``[push]`` declares, as signals (see :mod:`adapters._push`)."""
        ctx = ErrorContext(system=self.system, stream="push", url=self.base_url + push.path)
        if push.kind == "sse":
            return sse_signals(
                self._client, push.path, context=ctx, settings=self.http, event=push.event
            )
        if push.kind == "long_poll":
            return long_poll_signals(
                self._client,
                push.path,
                context=ctx,
                settings=self.http,
                param=push.param,
                version_key=push.version_key,
                wait_s=push.wait_s,
            )
        return websocket_signals(self._client, push.path, context=ctx, settings=self.http)

    async def messages(self, ticket_id: str) -> list[Any]:
        """Every message record of a ticket from the messages endpoint (all pages)."""
        endpoint = self.spec.endpoints.messages
        assert endpoint is not None and endpoint.path is not None
        path = fill(endpoint.path, {"id": quote(ticket_id, safe="")})
        ctx = self._ctx("messages", ticket_id)
        found: list[Any] = []
        state: PageState | None = None
        for _ in range(MAX_MESSAGE_PAGES):
            page = await self._page(
                path, endpoint.records, endpoint.pagination, state, dict(endpoint.params), ctx
            )
            found.extend(page.records)
            if page.next_state is None:
                return found
            state = page.next_state
        raise DecodeError(
            f"ticket {ticket_id} has more than {MAX_MESSAGE_PAGES} message pages", ctx
        )

    async def detail(self, ticket_id: str) -> Any:
        """The ticket record from the detail endpoint."""
        endpoint = self.spec.endpoints.detail
        assert endpoint is not None
        ctx = self._ctx("tickets", ticket_id)
        _response, root, _bad = await self._get(
            fill(endpoint.path, {"id": quote(ticket_id, safe="")}), ctx
        )
        if endpoint.record is None:
            if (single := self._single(root)) is None:
                raise DecodeError(f"the detail of ticket {ticket_id} holds no record", ctx)
            return single
        found = compile_selector(endpoint.record, self.format).nodes(root)
        if not found:
            raise DecodeError(f"the detail of ticket {ticket_id} holds no record", ctx)
        return found[0]

    async def write(
        self,
        endpoint: ActionEndpoint,
        ticket_id: str,
        values: Mapping[str, str],
        *,
        idempotency_key: str,
        stream: str,
    ) -> str | None:
        """Send a write; returns the created id read with ``result_id`` (when declared)."""
        ctx = self._ctx(stream, ticket_id)
        filled = {**values, "id": ticket_id}
        path = fill(endpoint.path, {**filled, "id": quote(ticket_id, safe="")})
        body = fill_body(endpoint.body, filled)
        headers = {}
        if endpoint.idempotency_header:
            headers[endpoint.idempotency_header] = idempotency_key
        payload: dict[str, Any] = {"json": body} if endpoint.encoding == "json" else {"data": body}
        response = await request(
            self._client,
            endpoint.method,
            path,
            context=ctx,
            settings=self.http,
            retry=bool(endpoint.idempotency_header),
            headers=headers,
            **payload,
        )
        if endpoint.result_id is None or not response.content.strip():
            return None
        root, _bad = await asyncio.to_thread(self._decode, response, ctx)
        value = compile_selector(endpoint.result_id, self.format).first(self._single(root))
        return None if value in (None, "") else str(value)

    async def aclose(self) -> None:
        """Close the HTTP client(s)."""
        await self._client.aclose()
        if self._token_client is not None:
            await self._token_client.aclose()
