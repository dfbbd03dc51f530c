"""Wire protocol of the quality-inspection service: URLs, JWT bearer, keyset pages, errors.

Returns raw decoded JSON; the mapping to tickets lives in ``mapping.py``. Error answers are
read so that messages say what went wrong ("401 — the JWT signature was rejected…", "422 — the
service refused the request: status: Input should be …") instead of a bare status code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from adapters._auth import JwtBearerAuth
from adapters._http import HttpSettings, build_client, request
from app.domain import (
    AuthError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RemoteError,
)

AUDIENCE = "quality-api"
API = "api/v1"
STREAM = "inspections"

# Why the service refused a token, by the ``code`` of its 401 body.
REJECTIONS: Mapping[str, str] = {
    "bad_signature": "the JWT signature was rejected — check the shared key (jwt_key)",
    "token_expired": "the token was rejected as expired — check this computer's clock",
    "token_too_long": "the token lifetime exceeds the service's limit — lower token_lifetime_s",
    "invalid_issuer": "the client id (JWT issuer) is not known to the service",
    "invalid_audience": f"the service expects the token audience {AUDIENCE!r}",
    "missing_token": "no bearer token reached the service (a proxy may strip it)",
    "invalid_token": "the token was rejected as invalid",
}


@dataclass(frozen=True, slots=True)
class _ErrorAnswer:
    status: int
    detail: Any
    code: str | None


# The last error answer seen by the current task (set by a response hook, read on failure).
_LAST_ERROR: ContextVar[_ErrorAnswer | None] = ContextVar("quality_last_error", default=None)


async def _remember_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    await response.aread()
    detail: Any = None
    code: str | None = None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail")
        code = body.get("code") if isinstance(body.get("code"), str) else None
    _LAST_ERROR.set(_ErrorAnswer(response.status_code, detail, code))


def _describe_detail(detail: Any) -> str | None:
    """FastAPI's ``detail``: a string, or a list of ``{"loc", "msg"}`` validation errors."""
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query")]
                parts.append(f"{'.'.join(loc) or 'request'}: {item.get('msg', 'invalid')}")
        return "; ".join(parts) or None
    return None


@dataclass(frozen=True, slots=True)
class Page:
    """One listing page: raw items and the keyset position of the next page (or None)."""

    items: list[Any]
    next: tuple[str, int] | None


class QualityClient:
    """Talks to one quality-inspection service. One httpx client; close with :meth:`aclose`."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        key: Callable[[], str],
        system: str,
        token_lifetime_s: float = 300.0,
        http: HttpSettings | None = None,
    ) -> None:
        self.system = system
        self.auth = JwtBearerAuth(
            key, issuer=client_id, audience=AUDIENCE, lifetime_s=token_lifetime_s
        )
        self._settings = http or HttpSettings()
        self._http = build_client(
            base_url,
            settings=self._settings,
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        self._http.event_hooks = {"response": [_remember_error]}

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _context(self, record_id: str | None = None) -> ErrorContext:
        return ErrorContext(system=self.system, stream=STREAM, record_id=record_id)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        record_id: str | None = None,
        retry: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        context = self._context(record_id)
        _LAST_ERROR.set(None)
        try:
            return await request(
                self._http,
                method,
                path,
                context=context,
                settings=self._settings,
                retry=retry,
                **kwargs,
            )
        except RateLimitedError:
            raise
        except AuthError as exc:
            answer = _LAST_ERROR.get()
            reason = REJECTIONS.get(answer.code or "") if answer else None
            if answer is None or reason is None:
                raise
            raise AuthError(
                f"{answer.status} — {reason}", exc.context, details={"code": answer.code}
            ) from exc
        except RemoteError as exc:
            answer = _LAST_ERROR.get()
            said = _describe_detail(answer.detail) if answer else None
            if said is None or (exc.status_code or 0) >= 500:
                raise
            raise RemoteError(
                f"{exc.status_code} — the service refused the request: {said}",
                exc.context,
                status_code=exc.status_code,
            ) from exc

    async def _json(
        self, response: httpx.Response, record_id: str | None = None, *, off_loop: bool = False
    ) -> Any:
        try:
            if off_loop:
                return await asyncio.to_thread(json.loads, response.content)
            return json.loads(response.content)
        except ValueError as exc:
            raise DecodeError(
                f"the service answered with invalid JSON: {exc}", self._context(record_id)
            ) from exc

    async def me(self, *, retry: bool = True) -> dict[str, Any]:
        """``GET /api/v1/me``: who the service thinks we are."""
        body = await self._json(await self._send("GET", f"{API}/me", retry=retry))
        if not isinstance(body, dict):
            raise DecodeError("/me answered something other than an object", self._context())
        return body

    async def list_inspections(
        self, *, updated_after: str | None, after_id: int | None, limit: int
    ) -> Page:
        """One keyset page ordered by ``(updated_at, id)``; the first without a position."""
        params: dict[str, str | int] = {"limit": limit}
        if updated_after is not None:
            params["updated_after"] = updated_after
            if after_id is not None:
                params["after_id"] = after_id
        response = await self._send("GET", f"{API}/inspections", params=params)
        body = await self._json(response, off_loop=True)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise DecodeError("the inspection page has no 'items' list", self._context())
        return Page(items=body["items"], next=self._next_of(body.get("next")))

    def _next_of(self, raw: Any) -> tuple[str, int] | None:
        if raw is None:
            return None
        if isinstance(raw, dict):
            stamp, ident = raw.get("updated_after"), raw.get("after_id")
            if isinstance(stamp, str) and isinstance(ident, int) and not isinstance(ident, bool):
                return stamp, ident
        ctx = ErrorContext(system=self.system, stream=STREAM, field="next")
        raise DecodeError(f"the inspection page has an unreadable 'next': {raw!r}", ctx)

    async def get_inspection(self, inspection_id: str) -> Any:
        """``GET /api/v1/inspections/{id}`` (raw; tombstones included)."""
        response = await self._send(
            "GET", f"{API}/inspections/{quote(inspection_id, safe='')}", record_id=inspection_id
        )
        return await self._json(response, inspection_id)

    async def add_note(
        self, inspection_id: str, body: str, *, visibility: str, idempotency_key: str
    ) -> Any:
        """Add a note; the idempotency key makes retries (ours and the outbox's) safe."""
        response = await self._send(
            "POST",
            f"{API}/inspections/{quote(inspection_id, safe='')}/notes",
            record_id=inspection_id,
            retry=True,
            json={"body": body, "visibility": visibility},
            headers={"Idempotency-Key": idempotency_key},
        )
        return await self._json(response, inspection_id)

    async def set_status(self, inspection_id: str, native_status: str) -> Any:
        """Set the native status; answers the updated inspection. Repeating it is harmless."""
        response = await self._send(
            "PATCH",
            f"{API}/inspections/{quote(inspection_id, safe='')}",
            record_id=inspection_id,
            retry=True,
            json={"status": native_status},
        )
        return await self._json(response, inspection_id)
