"""Auth flows as ``httpx.Auth`` subclasses; token refresh is shared under an ``asyncio.Lock``.

Concurrent requests that find an expired token wait for one refresh instead of each fetching
their own. Secrets arrive through the adapter context's getter (the keyring), never from config.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
import jwt

from app.domain import AuthError, ErrorContext, UnreachableError

# Renew a token this many seconds before the server says it expires.
RENEW_MARGIN_S = 30.0


class _RefreshingBearer(httpx.Auth):
    """Bearer auth whose token is fetched lazily and renewed before expiry (and on a 401)."""

    requires_response_body = True

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> tuple[str, float]:
        """Return a new token and its lifetime in seconds."""
        raise NotImplementedError

    def _valid(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires_at - RENEW_MARGIN_S

    async def _ensure(self, stale: str | None = None) -> str:
        async with self._lock:
            if not self._valid() or (stale is not None and self._token == stale):
                token, lifetime = await self._fetch()
                self._token, self._expires_at = token, time.monotonic() + lifetime
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
        form: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret(),
        }
        if self.scope:
            form["scope"] = self.scope
        ctx = ErrorContext(system=self._system, stream="oauth2", url=self.token_url)
        client = self._client_factory() if self._client_factory else httpx.AsyncClient()
        try:
            response = await client.post(self.token_url, data=form)
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"token endpoint unreachable: {type(exc).__name__}", ctx
            ) from exc
        finally:
            if self._client_factory is None:
                await client.aclose()
        if response.status_code in (400, 401, 403):
            raise AuthError(f"{response.status_code} — the client id or secret was rejected", ctx)
        if response.status_code >= 300:
            raise AuthError(f"{response.status_code} — the token endpoint failed", ctx)
        try:
            payload = response.json()
            token = str(payload["access_token"])
        except (ValueError, KeyError) as exc:
            raise AuthError("the token endpoint answered without an access_token", ctx) from exc
        return token, float(payload.get("expires_in") or 3600)


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
        return jwt.encode(claims, self._key(), algorithm=self.algorithm), self.lifetime_s


def basic_auth(username: str, password: Callable[[], str]) -> httpx.BasicAuth:
    """HTTP Basic auth; the password is read from the keyring when the client is built."""
    return httpx.BasicAuth(username, password())
