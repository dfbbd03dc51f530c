"""The Zendesk Support wire protocol: OAuth2 token, export pages, comments, ticket updates.

Returns decoded JSON objects; knows URLs, auth and pagination, nothing about the domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx
import orjson

from adapters._auth import AuthorizationCodeAuth, ClientCredentialsAuth
from adapters._http import HttpSettings, build_client, request
from app.domain import ConfigError, DecodeError, ErrorContext
from app.oauth_login import OAuthEndpoints

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
OAUTH_PATH = "/oauth/tokens"
AUTHORIZE_PATH = "/oauth/authorizations/new"
AUTH_KINDS = ("client_credentials", "authorization_code")
SCOPE = "read write"
COMMENTS_PER_PAGE = 100  # Zendesk's maximum for offset pagination
THREAD_DECODE_BYTES = 256 * 1024  # larger bodies are decoded off the event loop

Payload = dict[str, Any]


def load_json(content: bytes) -> Any:
    """The JSON value of a body: orjson, several times faster than ``json`` on export pages.

    Stricter than ``json`` where JSON itself is: NaN/Infinity, lone surrogates, invalid UTF-8
    and integers beyond 64 bits raise ``ValueError`` (``orjson.JSONDecodeError``).
    """
    return orjson.loads(content)


async def decode_object(response: httpx.Response, ctx: ErrorContext) -> Payload:
    """The response body as a JSON object; large bodies are parsed in a worker thread."""
    content = response.content
    try:
        if len(content) > THREAD_DECODE_BYTES:
            value = await asyncio.to_thread(load_json, content)
        else:
            value = load_json(content)
    except ValueError as exc:
        raise DecodeError("the answer is not valid JSON", _with_url(ctx, response)) from exc
    if not isinstance(value, dict):
        raise DecodeError("the answer is not a JSON object", _with_url(ctx, response))
    return value


def _with_url(ctx: ErrorContext, response: httpx.Response) -> ErrorContext:
    return ErrorContext(
        system=ctx.system,
        stream=ctx.stream,
        record_id=ctx.record_id,
        url=str(response.request.url.copy_with(query=None)),
    )


def items(payload: Mapping[str, Any], key: str) -> list[Any]:
    """``payload[key]`` when it is a list, else an empty list."""
    value = payload.get(key)
    return value if isinstance(value, list) else []


class ZendeskClient:
    """One Zendesk account over HTTP, authenticated with an OAuth2 grant.

    ``auth_kind`` ``client_credentials`` (default) or ``authorization_code`` (a person signed
    in through the browser with PKCE; the tokens are read with ``secret`` and the rotated ones
    written with ``store_secret``). Two httpx clients, both from :func:`build_client` with the
    same TLS, proxy and timeout settings: the API client carries the auth; a one-connection
    client without auth serves the token endpoint, because the auth flow cannot send its token
    request through the client it authenticates (it would wait on its own refresh lock).
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        system: str,
        http: HttpSettings | None = None,
        auth_kind: object = "client_credentials",
        secret: Callable[[str], str] | None = None,
        store_secret: Callable[[str, str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.http = http or HttpSettings()
        self._token_client = build_client(
            self.base_url, settings=replace(self.http, max_connections=1, max_keepalive=1)
        )
        self.oauth_endpoints: OAuthEndpoints | None = None
        self.auth: httpx.Auth
        if auth_kind == "authorization_code":
            if secret is None:
                raise ConfigError(
                    "authorization_code needs the keyring getter", self._ctx("oauth2")
                )
            self.oauth_endpoints = OAuthEndpoints(
                self.base_url + AUTHORIZE_PATH,
                self.base_url + OAUTH_PATH,
                client_id,
                SCOPE,
                client_secret_key="client_secret",  # noqa: S106 - a keyring entry name
            )
            self.auth = AuthorizationCodeAuth(
                self.oauth_endpoints,
                secret,
                store=store_secret,
                client=lambda: self._token_client,
                system=system,
            )
        elif auth_kind == "client_credentials":
            self.auth = ClientCredentialsAuth(
                self.base_url + OAUTH_PATH,
                client_id,
                client_secret,
                scope=SCOPE,
                client=lambda: self._token_client,
                system=system,
            )
        else:
            raise ConfigError(
                f"auth must be one of {', '.join(AUTH_KINDS)} (got {auth_kind!r})",
                ErrorContext(system=system, field="auth"),
            )
        self._client = build_client(self.base_url, settings=self.http, auth=self.auth)

    def _ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    async def _send(self, method: str, path: str, ctx: ErrorContext, **kwargs: Any) -> Payload:
        response = await request(
            self._client, method, path, context=ctx, settings=self.http, **kwargs
        )
        return await decode_object(response, ctx)

    async def export_page(self, *, cursor: str | None, start_time: int, per_page: int) -> Payload:
        """One page of the cursor-based incremental ticket export, users and groups sideloaded."""
        params: dict[str, str | int] = {"per_page": per_page, "include": "users,groups"}
        if cursor:
            params["cursor"] = cursor
        else:
            params["start_time"] = start_time
        return await self._send("GET", EXPORT_PATH, self._ctx("tickets"), params=params)

    async def comments(self, ticket_id: str) -> tuple[list[Any], list[Any]]:
        """Every comment of a ticket (all offset pages) and the sideloaded authors."""
        comments: list[Any] = []
        users: list[Any] = []
        ctx = self._ctx("comments", ticket_id)
        page = 1
        while True:
            body = await self._send(
                "GET",
                f"/api/v2/tickets/{ticket_id}/comments.json",
                ctx,
                params={"page": page, "per_page": COMMENTS_PER_PAGE, "include": "users"},
            )
            chunk = items(body, "comments")
            comments.extend(chunk)
            users.extend(items(body, "users"))
            if not chunk or not body.get("next_page"):
                return comments, users
            page += 1

    async def show_ticket(self, ticket_id: str) -> Payload:
        """One ticket with its requester, assignee and group sideloaded."""
        return await self._send(
            "GET",
            f"/api/v2/tickets/{ticket_id}.json",
            self._ctx("tickets", ticket_id),
            params={"include": "users,groups"},
        )

    async def update_ticket(
        self, ticket_id: str, change: Mapping[str, Any], *, idempotency_key: str
    ) -> Payload:
        """``PUT`` a change; safe to retry because Zendesk replays the same Idempotency-Key."""
        return await self._send(
            "PUT",
            f"/api/v2/tickets/{ticket_id}.json",
            self._ctx("tickets", ticket_id),
            retry=True,
            json={"ticket": dict(change)},
            headers={"Idempotency-Key": idempotency_key},
        )

    async def upload(self, data: bytes, filename: str, content_type: str) -> str:
        """``POST /api/v2/uploads.json``: one file; returns the token a comment attaches."""
        ctx = self._ctx("uploads", filename)
        body = await self._send(
            "POST",
            "/api/v2/uploads.json",
            ctx,
            params={"filename": filename},
            content=data,
            headers={"Content-Type": content_type or "application/binary"},
        )
        upload = body.get("upload")
        token = upload.get("token") if isinstance(upload, Mapping) else None
        if not isinstance(token, str) or not token:
            raise DecodeError("the upload answer has no token", ctx)
        return token

    async def download(self, url: str, ctx: ErrorContext) -> bytes:
        """The bytes at an attachment's ``content_url`` (same host only: checked by the caller)."""
        response = await request(self._client, "GET", url, context=ctx, settings=self.http)
        return response.content

    async def me(self) -> Payload:
        """The user behind the token (``GET /api/v2/users/me.json``)."""
        return await self._send("GET", "/api/v2/users/me.json", self._ctx("users"))

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self._client.aclose()
        await self._token_client.aclose()
