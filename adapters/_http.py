"""Shared httpx machinery: one AsyncClient per system, error translation and polite retries.

Every adapter builds its client with :func:`build_client` and sends through :func:`request`,
so limits, timeouts, TLS, retries and error messages are the same everywhere.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from app.domain import (
    AuthError,
    ErrorContext,
    RateLimitedError,
    RemoteError,
    UnreachableError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "Tabless/0.1 (+https://tabless.invalid)"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Per-system HTTP settings; the defaults suit a system 50 ms–3 s away."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    pool_timeout: float = 30.0
    max_connections: int = 8
    max_keepalive: int = 4
    verify: bool | str = True  # True: OS trust store via certifi/ssl; str: a CA bundle path
    proxy: str | None = None
    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 20.0


def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is False:
        return False
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    return context


def build_client(
    base_url: str,
    *,
    settings: HttpSettings | None = None,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one AsyncClient of a connected system. Reuse it: building one costs ~27 ms of TLS."""
    s = settings or HttpSettings()
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=httpx.Timeout(
            connect=s.connect_timeout,
            read=s.read_timeout,
            write=s.read_timeout,
            pool=s.pool_timeout,
        ),
        limits=httpx.Limits(
            max_connections=s.max_connections, max_keepalive_connections=s.max_keepalive
        ),
        verify=_ssl_context(s.verify),
        proxy=s.proxy,
        follow_redirects=False,
        trust_env=False,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _backoff(attempt: int, settings: HttpSettings) -> float:
    ceiling = min(settings.backoff_max, settings.backoff_base * (2**attempt))
    return random.uniform(0, ceiling)  # noqa: S311 - full jitter, not crypto


def raise_for_response(response: httpx.Response, context: ErrorContext) -> None:
    """Translate an HTTP error status into the typed error tree (401 → AuthError, …)."""
    code = response.status_code
    if code < 400:
        return
    ctx = ErrorContext(
        system=context.system,
        stream=context.stream,
        record_id=context.record_id,
        url=str(response.request.url.copy_with(query=None)),
    )
    if code in (401, 403):
        what = "credentials were rejected" if code == 401 else "access is forbidden"
        raise AuthError(f"{code} — the {what}", ctx)
    if code == 429:
        raise RateLimitedError(
            "429 — rate limited by the system",
            ctx,
            status_code=429,
            retry_after=_retry_after(response),
        )
    raise RemoteError(f"{code} — the system answered with an error", ctx, status_code=code)


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    context: ErrorContext,
    settings: HttpSettings | None = None,
    retry: bool | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request with typed errors; retries 429/5xx/timeouts only for idempotent calls.

    ``retry`` overrides the idempotency rule (e.g. a POST carrying an idempotency key).
    429 honours ``Retry-After``; other retries use full-jitter exponential backoff.
    """
    s = settings or HttpSettings()
    may_retry = retry if retry is not None else method.upper() in IDEMPOTENT_METHODS
    attempt = 0
    while True:
        try:
            response = await client.request(method, url, **kwargs)
            raise_for_response(response, context)
            return response
        except RateLimitedError as exc:
            if not may_retry or attempt >= s.retries:
                raise
            delay = exc.retry_after if exc.retry_after is not None else _backoff(attempt, s)
        except RemoteError as exc:
            if not may_retry or attempt >= s.retries or (exc.status_code or 0) < 500:
                raise
            delay = _backoff(attempt, s)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if not may_retry or attempt >= s.retries:
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
                raise UnreachableError(
                    f"the system is {kind}: {type(exc).__name__}",
                    ErrorContext(system=context.system, stream=context.stream, url=url),
                ) from exc
            delay = _backoff(attempt, s)
        attempt += 1
        await asyncio.sleep(delay)
