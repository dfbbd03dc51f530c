"""Shared httpx machinery: one AsyncClient per system, error translation and polite retries.

Every adapter builds its client with :func:`build_client` and sends through :func:`request`,
so limits, timeouts, TLS, retries and error messages are the same everywhere. Saved answer
bodies (``Adapter.decode_saved``) are read with :func:`saved_json`; a body that cannot be read
is a :func:`saved_error` naming its place in the list (``details["part"]``), so the command line
can name the file and still decode the others.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import random
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import httpx

from adapters._formats.text import decode_bytes
from adapters.base import SAVED_PART, AdapterContext
from app.domain import (
    AuthError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RecordError,
    RemoteError,
    Ticket,
    UnreachableError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "Tabless/0.1 (+https://tabless.invalid)"
BODY_EXCERPT_CHARS = 300  # of an error answer, kept in ``details["body"]``
REMOTE_TEXT_CHARS = 200  # of the remote's own explanation, appended to the message
_MESSAGE_KEYS = ("message", "description", "error_description", "detail", "error")
SAVED_STREAM = "saved"
THREAD_DECODE_BYTES = 256 * 1024  # larger JSON bodies are decoded off the event loop
T = TypeVar("T")


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
    max_response_bytes: int = 64 * 1024 * 1024  # larger answers are refused while streaming


def text_setting(context: AdapterContext, key: str) -> str:
    """The required text setting ``key``, stripped; ConfigError naming it when missing."""
    value = context.settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"the setting {key!r} is missing", ErrorContext(system=context.system_id, field=key)
        )
    return value.strip()


def base_url_setting(context: AdapterContext) -> str:
    """The ``base_url`` setting without its trailing slash; ConfigError unless http(s)://."""
    base_url = text_setting(context, "base_url").rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError(
            f"base_url must start with https:// (got {base_url!r})",
            ErrorContext(system=context.system_id, field="base_url"),
        )
    return base_url


def page_size_setting(context: AdapterContext, default: int, maximum: int) -> int:
    """The ``page_size`` setting (``default`` when unset); ConfigError outside 1…maximum."""
    value = context.settings.get("page_size", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ConfigError(
            f"page_size must be a number from 1 to {maximum}, not {value!r}",
            ErrorContext(system=context.system_id, field="page_size"),
        )
    return value


def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    if verify is False:
        return False
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    return context


@cache
def http2_available() -> bool:
    """True when the ``h2`` package (``httpx[http2]``) is installed."""
    return importlib.util.find_spec("h2") is not None


TRANSPORT_MODULES = (
    "anyio._backends._asyncio",
    "anyio.lowlevel",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "anyio.to_thread",
)
"""What httpcore imports lazily on a client's first request (about 25 modules; imported then,
they stalled the loop for ~60 ms in the middle of the first sync)."""


@cache
def import_transport() -> None:
    """Import :data:`TRANSPORT_MODULES` now (once), where the clients are built — when the
    workstation opens — instead of on the event loop at the first request."""
    for name in TRANSPORT_MODULES:
        importlib.import_module(name)


def build_client(
    base_url: str,
    *,
    settings: HttpSettings | None = None,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one AsyncClient of a connected system. Reuse it: building one costs ~27 ms of TLS."""
    import_transport()
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


async def decode_json(response: httpx.Response, ctx: ErrorContext) -> Any:
    """The body as JSON; bodies over :data:`THREAD_DECODE_BYTES` are parsed in a worker thread
    (off the event loop). ``DecodeError`` naming the URL (without its query) when it is not."""
    content = response.content
    try:
        if len(content) > THREAD_DECODE_BYTES:
            return await asyncio.to_thread(json.loads, content)
        return json.loads(content)
    except ValueError as exc:
        url = str(response.request.url.copy_with(query=None))
        raise DecodeError(
            "the answer is not valid JSON",
            ErrorContext(system=ctx.system, stream=ctx.stream, record_id=ctx.record_id, url=url),
        ) from exc


def error_text(body: Mapping[str, Any]) -> str | None:
    """The explanation in an error body (``message``, ``description``, ``error``…), or None."""
    text = _explanation_in(body)
    return _squash(text, REMOTE_TEXT_CHARS) if text else None


def saved_error(part: int, message: str, system: str | None = None) -> DecodeError:
    """The error for saved body number ``part`` (0-based) of ``decode_saved``: ``message``
    says what is wrong with it; ``details["part"]`` lets the caller name the file."""
    return DecodeError(
        message, ErrorContext(system=system, stream=SAVED_STREAM), details={SAVED_PART: part}
    )


def saved_json(data: bytes, part: int, system: str | None = None) -> Any:
    """A saved answer body as JSON (declared charset unknown: BOM, UTF-8, then GB18030)."""
    try:
        return json.loads(decode_bytes(data))
    except DecodeError as exc:
        raise saved_error(part, f"not readable text: {exc.message}", system) from exc
    except ValueError as exc:
        raise saved_error(part, f"not JSON ({exc})", system) from exc


def map_saved(
    records: Iterable[tuple[int, T]],
    map_one: Callable[[T, int], Ticket],
    record_id: Callable[[T], str | None],
    system: str | None = None,
) -> list[Ticket]:
    """Map saved ``(part, raw)`` records with the adapter's own mapping, in order.

    The same ticket in several bodies (a list page and the ticket itself) is mapped once, from
    the last body that has it, in the place it first appeared. A record the mapping refuses is
    the :func:`saved_error` of its body, naming the record and the field.
    """
    chosen: dict[str, tuple[int, T]] = {}
    unnamed: list[tuple[int, T]] = []
    for part, raw in records:
        key = record_id(raw)
        if key is None:
            unnamed.append((part, raw))
        else:
            chosen[key] = (part, raw)  # the last body wins; the first one's place is kept
    tickets: list[Ticket] = []
    for offset, (part, raw) in enumerate([*chosen.values(), *unnamed]):
        try:
            tickets.append(map_one(raw, offset))
        except RecordError as exc:
            raise saved_error(part, f"{exc.message} ({exc.context.describe()})", system) from exc
    return tickets


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


async def _send_capped(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    limit: int,
    kwargs: dict[str, Any],
) -> httpx.Response:
    """Send and read the answer, refusing one larger than ``limit`` bytes before it is all in
    memory (a declared ``Content-Length`` over the limit is refused without reading)."""
    response = await client.send(client.build_request(method, url, **kwargs), stream=True)
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(int(declared), limit)
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > limit:
                raise ResponseTooLarge(received, limit)
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what aread() does, with the cap in between
    finally:
        await response.aclose()
    # httpx's stream wrapper points back at the response: without this cycle the body is freed
    # as soon as the adapter drops the response, instead of by a garbage collection that frees
    # many pages at once while every thread (the event loop's too) waits
    response.stream = httpx.ByteStream(response._content)
    return response


class ResponseTooLarge(Exception):
    """Raised inside :func:`request`; turned into a ``DecodeError`` naming the size."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size, self.limit = size, limit


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
            response = await _send_capped(client, method, url, s.max_response_bytes, kwargs)
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
        except ResponseTooLarge as exc:
            raise DecodeError(
                f"the answer is larger than the limit of {exc.limit:,} bytes "
                f"({exc.size:,} bytes declared or received); it was not read "
                "(raise max_response_bytes if the system really sends this much)",
                ErrorContext(system=context.system, stream=context.stream, url=url),
            ) from None
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
