"""Every auth kind adapters use, as ``httpx.Auth`` subclasses; one implementation each.

- static: :class:`HeaderAuth` (API key in a header, static bearer via :func:`bearer_auth`),
  :class:`QueryKeyAuth` (API key in the query), :class:`LazyBasicAuth` / :func:`basic_auth`;
- renewing: :class:`JwtBearerAuth` (HS256/RS256 assertion), :class:`ClientCredentialsAuth`
  (OAuth2 client credentials), :class:`AuthorizationCodeAuth` (OAuth2 authorization code with
  PKCE, signed in by ``app.oauth_login``; refresh-token rotation stored through a callback).

Token renewal is shared under an ``asyncio.Lock``: concurrent requests that find an expired
token wait for one refresh instead of each fetching their own. Secrets arrive through the
adapter context's getter (the keyring), never from config, and are read on first use so a
missing secret surfaces from ``check()`` or ``pull()``, never from a constructor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
import jwt

from app.domain import AuthError, ErrorContext, SecretError
from app.oauth_login import (
    REFRESH_TOKEN_KEY,
    SIGN_IN_EXPIRED,
    OAuthEndpoints,
    TokenSet,
    stored_tokens,
    token_request,
)

# Renew a token this many seconds before the server says it expires.
RENEW_MARGIN_S = 30.0
CLIENT_REJECTED = "the client id or secret was rejected"
log = logging.getLogger(__name__)


def _margin(lifetime_s: float) -> float:
    """How long before expiry to renew: 30 s, or a tenth of a short lifetime."""
    return min(RENEW_MARGIN_S, max(lifetime_s, 0.0) / 10)


class _RefreshingBearer(httpx.Auth):
    """Bearer auth whose token is fetched lazily and renewed before expiry (and on a 401)."""

    requires_response_body = True

    def __init__(self) -> None:
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> tuple[str, float]:
        """Return a new token and its lifetime in seconds."""
        raise NotImplementedError

    def _valid(self) -> bool:
        return self._token is not None and time.monotonic() < self._renew_at

    async def _ensure(self, stale: str | None = None) -> str:
        async with self._lock:
            if not self._valid() or (stale is not None and self._token == stale):
                token, lifetime = await self._fetch()
                self._token, self._renew_at = token, time.monotonic() + lifetime - _margin(lifetime)
            assert self._token is not None
            return self._token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("Tabless adapters use httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._ensure()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one renewal, one retry
            token = await self._ensure(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class ClientCredentialsAuth(_RefreshingBearer):
    """OAuth2 client-credentials grant (RFC 6749 §4.4) against ``token_url``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        scope: str | None = None,
        client: Callable[[], httpx.AsyncClient] | None = None,
        system: str | None = None,
    ) -> None:
        super().__init__()
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._client_factory = client
        self._system = system

    async def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": await asyncio.to_thread(self._secret),  # keyring: off-loop
        }
        if self.scope:
            form["scope"] = self.scope
        ctx = ErrorContext(system=self._system, stream="oauth2", url=self.token_url)
        async with _TokenClient(self._client_factory) as client:
            tokens = await token_request(
                client, self.token_url, form, ctx, invalid_grant=CLIENT_REJECTED
            )
        return tokens.access_token, tokens.lifetime_s()


class JwtBearerAuth(_RefreshingBearer):
    """A JWT signed by the client (HS256 or RS256), renewed before it expires."""

    def __init__(
        self,
        key: Callable[[], str],
        *,
        issuer: str,
        audience: str | None = None,
        subject: str | None = None,
        algorithm: str = "HS256",
        lifetime_s: float = 300.0,
    ) -> None:
        super().__init__()
        self._key = key
        self.issuer = issuer
        self.audience = audience
        self.subject = subject or issuer
        self.algorithm = algorithm
        self.lifetime_s = lifetime_s

    async def _fetch(self) -> tuple[str, float]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + int(self.lifetime_s),
            "jti": uuid.uuid4().hex,
        }
        if self.audience:
            claims["aud"] = self.audience
        key = await asyncio.to_thread(self._key)  # keyring: off-loop
        return jwt.encode(claims, key, algorithm=self.algorithm), self.lifetime_s


class AuthorizationCodeAuth(_RefreshingBearer):
    """OAuth2 authorization code + PKCE: the tokens ``app.oauth_login.authorize`` stored.

    Uses the stored access token while it lasts, renews it with the refresh token before it
    expires and on a 401 (one refresh shared by concurrent requests), and hands the rotated
    tokens to ``store`` (``AdapterContext.store_secret``: key, value -> keyring). A refused
    refresh token (``invalid_grant``: expired, revoked or reused) raises ``AuthError``
    "the sign-in expired — sign in again" without asking the server twice for the same token.
    """

    def __init__(
        self,
        endpoints: OAuthEndpoints,
        secret: Callable[[str], str],
        *,
        store: Callable[[str, str], None] | None = None,
        client: Callable[[], httpx.AsyncClient] | None = None,
        system: str | None = None,
    ) -> None:
        super().__init__()
        self.endpoints = endpoints
        self._read = secret
        self._store = store
        self._client_factory = client
        self._system = system
        self._loaded = False
        self._refresh_token: str | None = None
        self._spent: set[str] = set()
        self._refused: tuple[str, AuthError] | None = None

    def _context(self) -> ErrorContext:
        return ErrorContext(system=self._system, stream="oauth2", url=self.endpoints.token_url)

    async def _fetch(self) -> tuple[str, float]:
        if not self._loaded:  # first use: the tokens of the last sign-in
            self._loaded = True
            stored = await asyncio.to_thread(stored_tokens, self._read)  # keyring: off-loop
            if stored is not None:
                self._refresh_token = stored.refresh_token
                if stored.lifetime_s() > 1.0:  # else renew it right away
                    return stored.access_token, stored.lifetime_s()
        return await self._renew()

    def _current_refresh_token(self) -> str:
        try:  # the keyring is the truth: a new sign-in may have replaced the token …
            stored = self._read(REFRESH_TOKEN_KEY)
            if stored not in self._spent or not self._refresh_token:
                return stored
            return self._refresh_token  # … unless storing our rotated one failed
        except SecretError as exc:
            if self._refresh_token:
                return self._refresh_token
            raise AuthError(
                "not signed in to this system yet — sign in first "
                "(Accounts → Re-authenticate, or `tabless adapter login SYSTEM`)",
                self._context(),
            ) from exc

    async def _renew(self) -> tuple[str, float]:
        refresh = await asyncio.to_thread(self._current_refresh_token)
        if self._refused is not None and self._refused[0] == refresh:
            raise self._refused[1]  # the same refused token is not sent again
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": self.endpoints.client_id,
        }
        if self.endpoints.client_secret_key:
            # Without it the client is a public one: PKCE and rotation protect it.
            with contextlib.suppress(SecretError):
                form["client_secret"] = await asyncio.to_thread(
                    self._read, self.endpoints.client_secret_key
                )
        async with _TokenClient(self._client_factory) as client:
            try:
                tokens = await token_request(
                    client,
                    self.endpoints.token_url,
                    form,
                    self._context(),
                    invalid_grant=SIGN_IN_EXPIRED,
                )
            except AuthError as exc:
                if exc.details.get("error") == "invalid_grant":
                    self._refused = (refresh, exc)
                raise
        if tokens.refresh_token is None:  # the server kept the refresh token (no rotation)
            tokens = TokenSet(tokens.access_token, refresh, tokens.expires_at)
        if tokens.refresh_token != refresh:
            self._spent.add(refresh)  # never to be sent again: that would be reuse
        self._refresh_token = tokens.refresh_token
        await asyncio.to_thread(self._persist, tokens)
        return tokens.access_token, tokens.lifetime_s()

    def _persist(self, tokens: TokenSet) -> None:
        """Store the renewed tokens; a failure is logged and the session goes on from memory
        (the next renewal stores again)."""
        if self._store is None:
            log.warning("%s: renewed tokens are kept in memory only (no store)", self._system)
            return
        try:
            for key, value in tokens.entries().items():
                self._store(key, value)
        except SecretError as exc:
            log.error("%s: the renewed sign-in could not be stored: %s", self._system, exc.message)


class _TokenClient:
    """``async with``: the client for token requests — the factory's (it must not be the client
    the auth flow authenticates) or a fresh one closed afterwards."""

    def __init__(self, factory: Callable[[], httpx.AsyncClient] | None) -> None:
        self._factory = factory
        self._own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._factory is not None:
            return self._factory()
        self._own = httpx.AsyncClient()
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()


class _SecretAuth(httpx.Auth):
    """An auth that needs one secret: read on the first request — off the event loop for async
    clients (a keyring read is a D-Bus round trip) — and kept for the life of the client."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret
        self._value: str | None = None

    def _apply(self, request: httpx.Request, value: str) -> None:
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if self._value is None:
            self._value = self._secret()
        self._apply(request, self._value)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._value is None:
            self._value = await asyncio.to_thread(self._secret)
        self._apply(request, self._value)
        yield request


class HeaderAuth(_SecretAuth):
    """Sends ``header: prefix + secret`` (API keys, static bearer tokens); read on first use."""

    def __init__(self, header: str, secret: Callable[[], str], prefix: str = "") -> None:
        super().__init__(secret)
        self.header = header
        self.prefix = prefix

    def _apply(self, request: httpx.Request, value: str) -> None:
        request.headers[self.header] = self.prefix + value

    def __repr__(self) -> str:
        return f"HeaderAuth({self.header}: <redacted>)"


class _MaskQueryKeys(logging.Filter):
    """Masks query-string API keys in httpx's request log lines (``api_key=<redacted>``)."""

    def __init__(self) -> None:
        super().__init__()
        self._pattern: re.Pattern[str] | None = None
        self._params: set[str] = set()

    def add(self, param: str) -> None:
        self._params.add(param)
        names = "|".join(re.escape(p) for p in sorted(self._params))
        self._pattern = re.compile(rf"([?&](?:{names})=)[^&#\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            message = record.getMessage()
            masked = self._pattern.sub(r"\1<redacted>", message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


_QUERY_KEYS = _MaskQueryKeys()
logging.getLogger("httpx").addFilter(_QUERY_KEYS)  # httpx logs every URL at INFO


class QueryKeyAuth(_SecretAuth):
    """Adds the API key as a query parameter (``?api_key=…``); read on first use.

    httpx logs request URLs, so the parameter is masked in its log lines.
    """

    def __init__(self, param: str, secret: Callable[[], str]) -> None:
        super().__init__(secret)
        self.param = param
        _QUERY_KEYS.add(param)

    def _apply(self, request: httpx.Request, value: str) -> None:
        request.url = request.url.copy_merge_params({self.param: value})

    def __repr__(self) -> str:
        return f"QueryKeyAuth({self.param}=<redacted>)"


def bearer_auth(token: Callable[[], str]) -> HeaderAuth:
    """A static bearer token (``Authorization: Bearer …``)."""
    return HeaderAuth("Authorization", token, "Bearer ")


class LazyBasicAuth(_SecretAuth):
    """HTTP Basic whose password is read from the keyring on the first request."""

    def __init__(self, username: str, password: Callable[[], str]) -> None:
        super().__init__(password)
        self.username = username

    def _apply(self, request: httpx.Request, value: str) -> None:
        next(httpx.BasicAuth(self.username, value).auth_flow(request))  # sets Authorization

    def __repr__(self) -> str:
        return f"LazyBasicAuth({self.username}:<redacted>)"


class KeyAsUserAuth(_SecretAuth):
    """HTTP Basic with the API key as the user name and a fixed password (Freshdesk: ``X``)."""

    def __init__(self, api_key: Callable[[], str], password: str = "X") -> None:  # noqa: S107
        super().__init__(api_key)
        self.password = password

    def _apply(self, request: httpx.Request, value: str) -> None:
        next(httpx.BasicAuth(value, self.password).auth_flow(request))  # sets Authorization

    def __repr__(self) -> str:
        return "KeyAsUserAuth(<redacted>)"


def basic_auth(username: str, password: Callable[[], str]) -> httpx.BasicAuth:
    """HTTP Basic auth; the password is read from the keyring when the client is built."""
    return httpx.BasicAuth(username, password())
