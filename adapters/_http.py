"""Shared httpx machinery: one AsyncClient per system, error translation and polite retries.

Every adapter builds its client with :func:`build_client` and sends through :func:`request`,
so limits, timeouts, TLS, retries and error messages are the same everywhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import random
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from app.domain import (
    AuthError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RemoteError,
    UnreachableError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "Tabless/0.1 (+https://tabless.invalid)"
BODY_EXCERPT_CHARS = 300  # of an error answer, kept in ``details["body"]``
REMOTE_TEXT_CHARS = 200  # of the remote's own explanation, appended to the message
_MESSAGE_KEYS = ("message", "description", "error_description", "detail", "error")


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
    http2: bool = True  # offered through ALPN on TLS when the ``h2`` package is installed


def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is False:
        return False
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    return context


@cache
def http2_available() -> bool:
    """True when the ``h2`` package (``httpx[http2]``) is installed."""
    return importlib.util.find_spec("h2") is not None


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
        http2=s.http2 and http2_available(),
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


def _squash(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text_of(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, Mapping):  # {"error": {"message": "..."}}
        return _explanation_in(value)
    return None


def _explanation_in(body: Mapping[str, Any]) -> str | None:
    found = {key: text for key in _MESSAGE_KEYS if (text := _text_of(body.get(key)))}
    words = next((found[key] for key in _MESSAGE_KEYS[:-1] if key in found), None)
    code = found.get("error")
    if words and code and code != words and len(code) <= 60:
        return f"{code}: {words}"  # Zendesk: "RecordNotFound: Not found"
    return words or code


def _xml_explanation(content: bytes, charset: str | None, context: ErrorContext) -> str | None:
    from adapters._formats import xml  # lxml is loaded only when an XML error arrives

    try:
        root = xml.parse_xml(content, declared_charset=charset, context=context)
    except DecodeError:
        return None
    for name in ("message", "description", "error"):
        text = xml.findtext(root, f".//{name}") or (
            xml.findtext(root, ".") if xml.tag(root) == name else ""
        )
        if text:
            return text
    return None


def remote_explanation(response: httpx.Response, context: ErrorContext | None = None) -> str | None:
    """The system's own words for an error answer: the ``message`` / ``description`` /
    ``error`` field of a JSON or XML body, on one line; None when there is none."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    if not content:
        return None
    kind = response.headers.get("Content-Type", "").lower()
    if "xml" in kind or content.lstrip()[:1] == b"<":
        if "html" in kind:
            return None
        text = _xml_explanation(content, response.charset_encoding, context or ErrorContext())
    else:
        try:
            body = json.loads(content)
        except ValueError:
            return None
        text = _explanation_in(body) if isinstance(body, Mapping) else None
    return _squash(text, REMOTE_TEXT_CHARS) if text else None


def _body_excerpt(response: httpx.Response) -> str | None:
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    if not content:
        return None
    text = content[: BODY_EXCERPT_CHARS * 4].decode(
        response.charset_encoding or "utf-8", errors="replace"
    )
    return _squash(text, BODY_EXCERPT_CHARS)


def raise_for_response(response: httpx.Response, context: ErrorContext) -> None:
    """Translate an HTTP error status into the typed error tree (401 → AuthError, …).

    The message is ``"<code> — <what it means>"``, followed by the system's own explanation
    when its JSON or XML body has one (``": RecordNotFound: Not found"``). ``details["body"]``
    keeps the first 300 characters of the body (never headers) for IT.
    """
    code = response.status_code
    if code < 400:
        return
    ctx = ErrorContext(
        system=context.system,
        stream=context.stream,
        record_id=context.record_id,
        url=str(response.request.url.copy_with(query=None)),
    )
    said = remote_explanation(response, ctx)
    suffix = f": {said}" if said else ""
    excerpt = _body_excerpt(response)
    details: dict[str, Any] = {"body": excerpt} if excerpt else {}
    if code in (401, 403):
        what = "credentials were rejected" if code == 401 else "access is forbidden"
        raise AuthError(f"{code} — the {what}{suffix}", ctx, details=details)
    if code == 429:
        raise RateLimitedError(
            f"429 — rate limited by the system{suffix}",
            ctx,
            details=details,
            status_code=429,
            retry_after=_retry_after(response),
        )
    raise RemoteError(
        f"{code} — the system answered with an error{suffix}",
        ctx,
        details=details,
        status_code=code,
    )


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def network_reason(exc: BaseException) -> str:
    """Why a connection failed, in words an IT person can act on.

    ``"connection refused"``, ``"host not found"``, ``"TLS certificate verify failed"``,
    ``"TLS handshake failed (…)"``, ``"timed out"``, ``"connection reset"``; otherwise the
    lowest-level cause's text. Walks ``__cause__``/``__context__`` (httpx wraps OS errors).
    """
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return "timed out"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS certificate verify failed"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
    for cause in chain:  # httpx sometimes keeps only the text of the OS error
        text = str(cause).lower()
        if "certificate verify failed" in text:
            return "TLS certificate verify failed"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "host not found"
        if "refused" in text:
            return "connection refused"
    deepest = chain[-1]
    return str(deepest) or type(deepest).__name__


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
                reason = network_reason(exc)
                raise UnreachableError(
                    f"the system is unreachable: {reason}",
                    ErrorContext(system=context.system, stream=context.stream, url=url),
                    details={"reason": reason},
                ) from exc
            delay = _backoff(attempt, s)
        attempt += 1
        await asyncio.sleep(delay)
