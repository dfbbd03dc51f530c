"""OAuth2 sign-in through the system browser (authorization code + PKCE, RFC 6749/7636/8252).

:func:`authorize` starts a one-shot HTTP server on ``127.0.0.1`` and an ephemeral port (RFC 8252
§7.3), opens the authorization page in the browser with ``state`` and an S256 code challenge,
waits for the redirect, checks ``state``, exchanges the code with the verifier and stores the
tokens in the keyring under the system id (:data:`ACCESS_TOKEN_KEY`, :data:`REFRESH_TOKEN_KEY`,
:data:`EXPIRES_AT_KEY`). Any failure (state mismatch, consent denied, timeout, rejected code)
raises :class:`~app.domain.AuthError` and stores nothing.

The token endpoint's protocol (:func:`token_request`, :class:`TokenSet`) lives here too and is
shared with the adapters' auth flows (``adapters._auth.AuthorizationCodeAuth``), which renew the
access token with the refresh token and store the rotated pair. Qt-free; PKCE and token
generation come from Authlib, the redirect's HTTP/1.1 from h11 (httpx's own parser).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from app.domain import (
    AuthError,
    ErrorContext,
    RemoteError,
    SecretError,
    TablessError,
    UnreachableError,
)
from app.secrets import SecretStore
from app.timeutil import parse_timestamp, to_iso_z, utcnow

# Keyring entries of a signed-in system (names, not secrets).
ACCESS_TOKEN_KEY = "oauth_access_token"  # noqa: S105
REFRESH_TOKEN_KEY = "oauth_refresh_token"  # noqa: S105
EXPIRES_AT_KEY = "oauth_expires_at"
TOKEN_KEYS = (ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, EXPIRES_AT_KEY)

CALLBACK_PATH = "/callback"
SIGN_IN_EXPIRED = "the sign-in expired — sign in again"
DEFAULT_TIMEOUT_S = 300.0
VERIFIER_CHARS = 64  # RFC 7636 §4.1: 43–128 unreserved characters
MAX_REQUEST_BYTES = 64 * 1024
log = logging.getLogger(__name__)

OpenBrowser = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class OAuthEndpoints:
    """Where a system signs in: what an adapter's ``oauth_endpoints()`` returns.

    ``client_secret_key`` names the keyring entry of a confidential client's secret; it is sent
    only when present (public clients rely on PKCE alone).
    """

    authorize_url: str
    token_url: str
    client_id: str
    scope: str | None = None
    client_secret_key: str | None = None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a token endpoint answered. Its repr never shows the tokens."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"TokenSet(<redacted>, expires_at={self.expires_at})"

    def lifetime_s(self, default: float = 3600.0) -> float:
        """Seconds until the access token expires (``default`` when the server did not say)."""
        if self.expires_at is None:
            return default
        return (self.expires_at - utcnow()).total_seconds()

    def entries(self) -> dict[str, str]:
        """The keyring entries to store (a missing refresh token is not written)."""
        entries = {ACCESS_TOKEN_KEY: self.access_token}
        if self.refresh_token:
            entries[REFRESH_TOKEN_KEY] = self.refresh_token
        if self.expires_at is not None:
            entries[EXPIRES_AT_KEY] = to_iso_z(self.expires_at)
        return entries


def stored_tokens(secret: Callable[[str], str]) -> TokenSet | None:
    """The tokens a system has in the keyring (``secret``: key -> value), or None."""
    try:
        access = secret(ACCESS_TOKEN_KEY)
    except SecretError:
        return None
    try:
        expires_at: datetime | None = parse_timestamp(secret(EXPIRES_AT_KEY))
    except (SecretError, ValueError):
        expires_at = None
    try:
        refresh: str | None = secret(REFRESH_TOKEN_KEY)
    except SecretError:
        refresh = None
    return TokenSet(access, refresh, expires_at)


def _oauth_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")[:200]


async def token_request(
    client: httpx.AsyncClient,
    token_url: str,
    form: dict[str, str],
    context: ErrorContext,
    *,
    invalid_grant: str = SIGN_IN_EXPIRED,
) -> TokenSet:
    """POST ``form`` to the token endpoint (RFC 6749 §5) and read the answer.

    ``invalid_grant`` is the message for a rejected code or refresh token; a rejected client
    says "the client id or secret was rejected"; 5xx is a ``RemoteError``, a dead endpoint an
    ``UnreachableError``. Never puts a token in an error.
    """
    try:
        response = await client.post(token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise UnreachableError(
            f"token endpoint unreachable: {type(exc).__name__}", context
        ) from exc
    status = response.status_code
    if status >= 500:
        raise RemoteError(f"{status} — the token endpoint failed", context, status_code=status)
    if status >= 300:
        error, description = _oauth_error(response)
        details = {"error": error, "error_description": description}
        if error == "invalid_grant":
            raise AuthError(invalid_grant, context, details=details)
        if status in (400, 401, 403) and error in ("invalid_client", "unauthorized_client", ""):
            raise AuthError(f"{status} — the client id or secret was rejected", context)
        raise AuthError(
            f"{status} — the token endpoint refused: {error} {description}".rstrip(),
            context,
            details=details,
        )
    try:
        payload = response.json()
        access = str(payload["access_token"])
        refresh = payload.get("refresh_token")
        expires_in = payload.get("expires_in")
        expires_at = utcnow() + timedelta(seconds=float(expires_in)) if expires_in else None
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("the token endpoint answered without an access_token", context) from exc
    return TokenSet(access, str(refresh) if refresh else None, expires_at)


def store_tokens(store: SecretStore, system_id: str, tokens: TokenSet) -> None:
    """Write the tokens to the keyring; drops a stale refresh token the answer did not renew."""
    entries = tokens.entries()
    for key, value in entries.items():
        store.set(system_id, key, value)
    for key in TOKEN_KEYS:
        if key not in entries:
            store.delete(system_id, key)


# ------------------------------------------------------------------------ loopback redirect

_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Tabless</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body></html>"
)


@dataclass(slots=True)
class _Exchange:
    """One browser connection: its h11 state, its writer and the query it brought."""

    conn: h11.Connection
    writer: asyncio.StreamWriter
    params: dict[str, str]

    async def answer(self, status: int, title: str, text: str) -> None:
        """Send a small HTML page and close the connection."""
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
        with contextlib.suppress(h11.LocalProtocolError, ConnectionError):
            for event in (
                h11.Response(status_code=status, headers=headers),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.writer.write(self.conn.send(event) or b"")
            await self.writer.drain()
        self.writer.close()


async def _read_request(reader: asyncio.StreamReader, conn: h11.Connection) -> h11.Request | None:
    """The request head of one connection (None when the peer sends nothing usable)."""
    received = 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None
        if isinstance(event, h11.Request):
            return event
        if event is not h11.NEED_DATA:
            return None
        data = await reader.read(8192)
        received += len(data)
        if not data or received > MAX_REQUEST_BYTES:
            return None
        conn.receive_data(data)


class _LoopbackServer:
    """Accepts connections until one GET ``/callback`` arrives (answered after the exchange)."""

    def __init__(self) -> None:
        self.redirect: asyncio.Future[_Exchange] = asyncio.get_running_loop().create_future()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen on 127.0.0.1 and a port the OS picks; returns the port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        request = await _read_request(reader, conn)
        if request is None:
            writer.close()
            return
        target = urlsplit(request.target.decode("latin-1"))
        exchange = _Exchange(conn, writer, dict(parse_qsl(target.query, keep_blank_values=True)))
        if request.method != b"GET" or target.path != CALLBACK_PATH or self.redirect.done():
            await exchange.answer(404, "Not found", "This address only receives a sign-in.")
            return
        self.redirect.set_result(exchange)

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _check_redirect(params: dict[str, str], state: str, ctx: ErrorContext) -> str:
    """The authorization code, or AuthError for a forged, denied or failed sign-in."""
    if not hmac.compare_digest(params.get("state", "").encode(), state.encode()):
        raise AuthError(
            "the sign-in answer does not belong to this sign-in (state mismatch); "
            "nothing was stored — sign in again",
            ctx,
        )
    error = params.get("error")
    if error == "access_denied":
        raise AuthError("access was denied on the sign-in page; nothing was stored", ctx)
    if error:
        description = params.get("error_description", "")[:200]
        raise AuthError(f"the sign-in failed: {error} {description}".rstrip(), ctx)
    code = params.get("code")
    if not code:
        raise AuthError("the sign-in answer carries no authorization code", ctx)
    return code


async def _open(open_browser: OpenBrowser, url: str) -> None:
    result = await asyncio.to_thread(open_browser, url)
    if isinstance(result, Awaitable):
        await result


async def authorize(
    system_id: str,
    *,
    authorize_url: str,
    token_url: str,
    client_id: str,
    scope: str | None,
    store: SecretStore,
    client_secret: str | None = None,
    open_browser: OpenBrowser = webbrowser.open,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    http: httpx.AsyncClient | None = None,
) -> None:
    """Sign ``system_id`` in through the browser and store its tokens in the keyring.

    ``open_browser`` receives the authorization URL (it runs in a worker thread);
    ``http`` sends the token request (default: a fresh client, TLS verified).
    Raises ``AuthError`` (nothing stored) on a state mismatch, denied consent, a rejected code
    or no answer within ``timeout_s``; ``SecretError`` when there is no usable keyring.
    """
    ctx = ErrorContext(system=system_id, stream="oauth2", url=authorize_url)
    store.ensure_available()  # before the browser opens: the tokens could not be kept
    server = _LoopbackServer()
    port = await server.start()
    redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    verifier = generate_token(VERIFIER_CHARS)
    state = generate_token(32)
    url = prepare_grant_uri(
        authorize_url,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    browser = asyncio.ensure_future(_open(open_browser, url))
    exchange: _Exchange | None = None
    page = (400, "Sign-in failed", "The sign-in was cancelled. You can close this tab.")
    try:
        try:
            async with asyncio.timeout(timeout_s):
                exchange = await server.redirect
        except TimeoutError:
            raise AuthError(
                f"no sign-in answer from the browser within {timeout_s:g} s; nothing was stored",
                ctx,
            ) from None
        code = _check_redirect(exchange.params, state, ctx)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        }
        if client_secret:
            form["client_secret"] = client_secret
        token_ctx = ErrorContext(system=system_id, stream="oauth2", url=token_url)
        async with contextlib.AsyncExitStack() as stack:
            client = http
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=30.0))
            tokens = await token_request(
                client,
                token_url,
                form,
                token_ctx,
                invalid_grant="the authorization code was refused; nothing was stored — "
                "sign in again",
            )
        store_tokens(store, system_id, tokens)
        page = (200, "Signed in", "Tabless is signed in. You can close this tab.")
    except TablessError as exc:
        page = (400, "Sign-in failed", f"{exc.message}. You can close this tab.")
        raise
    finally:
        if exchange is not None:
            await exchange.answer(*page)
        await server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(browser, timeout=5.0)
    log.info("signed in to %s (the tokens are in the keyring)", system_id)


async def sign_in(
    system_id: str,
    endpoints: OAuthEndpoints,
    store: SecretStore,
    **options: Any,
) -> None:
    """:func:`authorize` with an adapter's ``oauth_endpoints()``; reads the client secret."""
    secret = None
    if endpoints.client_secret_key and store.has(system_id, endpoints.client_secret_key):
        secret = store.get(system_id, endpoints.client_secret_key)
    await authorize(
        system_id,
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        client_id=endpoints.client_id,
        scope=endpoints.scope,
        store=store,
        client_secret=secret,
        **options,
    )
