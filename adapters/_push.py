"""Push channels as async generators of "something changed" signals: SSE, long-poll, websocket.

Each generator yields ``None`` once per change notice and ends, or raises a typed error, when the
channel drops; :meth:`adapters.base.Adapter.listen` hands one to the sync engine, which pulls at
once on every signal and falls back to polling while the channel is down. The signal carries no
data on purpose: the pull from the committed cursor is what reads the change, so a lost or
repeated notice can never lose or duplicate a record.

SSE is parsed by ``httpx-sse`` and websockets spoken by ``websockets``; both reuse the system's
auth (the headers or query its ``httpx.Auth`` adds) and TLS settings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import websockets
from httpx_sse import SSEError, aconnect_sse
from websockets.asyncio.client import connect as ws_connect

from adapters._http import HttpSettings, _ssl_context, network_reason, raise_for_response, request
from app.domain import DecodeError, ErrorContext, RemoteError, UnreachableError

# A channel that stays silent this long is dead (servers send keep-alives well within it).
SILENCE_LIMIT_S = 90.0


def _stream_timeout(settings: HttpSettings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.connect_timeout,
        read=SILENCE_LIMIT_S,
        write=settings.read_timeout,
        pool=settings.pool_timeout,
    )


def _dropped(exc: BaseException, context: ErrorContext) -> UnreachableError:
    reason = network_reason(exc)
    return UnreachableError(
        f"the change channel dropped: {reason}", context, details={"reason": reason}
    )


async def sse_signals(
    client: httpx.AsyncClient,
    path: str,
    *,
    context: ErrorContext,
    settings: HttpSettings | None = None,
    event: str | None = None,
) -> AsyncIterator[None]:
    """One signal per Server-Sent Event (of type ``event``, or any type) from ``path``."""
    s = settings or HttpSettings()
    try:
        async with aconnect_sse(client, "GET", path, timeout=_stream_timeout(s)) as source:
            if source.response.status_code >= 300:
                await source.response.aread()
                raise_for_response(source.response, context)
                raise RemoteError(
                    f"{source.response.status_code} — the event stream did not open",
                    context,
                    status_code=source.response.status_code,
                )
            async for sse in source.aiter_sse():
                if event is None or sse.event == event:
                    yield None
    except SSEError as exc:  # answered, but not with text/event-stream
        raise DecodeError(f"the push endpoint is not an event stream: {exc}", context) from exc
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise _dropped(exc, context) from exc


async def long_poll_signals(
    client: httpx.AsyncClient,
    path: str,
    *,
    context: ErrorContext,
    settings: HttpSettings | None = None,
    param: str = "after",
    version_key: str = "version",
    wait_s: float = 25.0,
) -> AsyncIterator[None]:
    """Long-poll ``path?{param}=<last version>``; a signal whenever the answer's version moves.

    ``version_key`` is the answer's top-level JSON key holding the version. The first request
    learns the current version without signalling (the engine pulls on connect anyway); each
    later answer with a different version is one signal.
    """
    s = settings or HttpSettings()
    timeout = httpx.Timeout(
        connect=s.connect_timeout, read=wait_s + 15.0, write=s.read_timeout, pool=s.pool_timeout
    )
    last: Any = None
    while True:
        params: dict[str, Any] = {"timeout": wait_s}
        if last is not None:
            params[param] = last
        response = await request(
            client, "GET", path, context=context, settings=s, params=params, timeout=timeout
        )
        if response.status_code in (204, 304):
            continue
        try:
            body = json.loads(response.content)
            current = body[version_key] if isinstance(body, Mapping) else None
        except (ValueError, KeyError) as exc:
            what = f"the long-poll answer has no {version_key!r}: {exc}"
            raise DecodeError(what, context) from exc
        if last is not None and current != last:
            yield None
        last = current


async def _authenticated(client: httpx.AsyncClient, path: str) -> httpx.Request:
    """The GET request for ``path`` as the client's auth would send it (headers, query)."""
    prepared = client.build_request("GET", path)
    auth = client.auth
    if auth is None:
        return prepared
    flow = auth.async_auth_flow(prepared)
    try:
        return await flow.__anext__()
    finally:
        await flow.aclose()


async def websocket_signals(
    client: httpx.AsyncClient,
    path: str,
    *,
    context: ErrorContext,
    settings: HttpSettings | None = None,
) -> AsyncIterator[None]:
    """One signal per message on the websocket at ``path`` (``http`` → ``ws`` on the same host)."""
    s = settings or HttpSettings()
    prepared = await _authenticated(client, path)
    url = prepared.url.copy_with(scheme="wss" if prepared.url.scheme == "https" else "ws")
    headers = {
        key: value
        for key, value in prepared.headers.items()
        if key.lower() in ("authorization", "cookie") or key.lower().startswith("x-")
    }
    try:
        async with ws_connect(
            str(url),
            additional_headers=headers,
            ssl=_ssl_context(s.verify) if url.scheme == "wss" else None,
            proxy=s.proxy,
            open_timeout=s.connect_timeout,
            max_size=1 << 20,
        ) as socket:
            async for _message in socket:
                yield None
    except websockets.InvalidStatus as exc:
        code = exc.response.status_code
        if code in (401, 403):
            raise RemoteError(
                f"{code} — the websocket refused our credentials", context, status_code=code
            ) from exc
        raise RemoteError(
            f"{code} — the websocket did not open", context, status_code=code
        ) from exc
    except websockets.ConnectionClosedError as exc:
        raise _dropped(exc, context) from exc
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        raise _dropped(exc, context) from exc
