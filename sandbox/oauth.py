"""A stand-in OAuth2 authorization server: authorization code + PKCE and rotating refresh tokens.

Mounted by stand-ins whose product offers it (Zendesk: ``/oauth/authorizations/new`` and
``/oauth/tokens``), or served alone with :meth:`AuthorizationServer.app`. What it does, as real
providers do:

- ``GET /oauth/authorizations/new``: checks ``client_id`` and ``redirect_uri`` (a loopback
  ``http://127.0.0.1`` redirect matches on any port, RFC 8252 §7.3), requires an S256
  ``code_challenge`` and redirects back with ``code`` and ``state`` — or ``error=access_denied``.
  Consent: the query parameter ``consent=approve|deny`` (tests) or :attr:`auto_consent`;
  otherwise a small page with Approve / Deny buttons (a person in the demo).
- ``POST /oauth/tokens``: ``authorization_code`` (one-time code bound to client and redirect
  URI, verifier checked against the challenge; a second use revokes what the code issued) and
  ``refresh_token`` with rotation: each refresh token works once; presenting a rotated one again
  revokes the whole family (every access and refresh token of that sign-in).

Access tokens live ``access_ttl_s`` on ``clock`` (tests pass a fake one). Counters
(:attr:`refreshes`, :attr:`codes_issued`, :attr:`token_requests`, :attr:`reuse_detected`) let
tests assert what happened.
Imports none of Tabless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

AUTHORIZE_PATH = "/oauth/authorizations/new"
TOKEN_PATH = "/oauth/tokens"
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")


@dataclass
class AccessToken:
    """An issued access token (``expires_at`` on the server's clock)."""

    expires_at: float
    scopes: frozenset[str]
    family: int


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: frozenset[str]
    expires_at: float
    used: bool = False
    family: int | None = None


@dataclass
class _Refresh:
    family: int
    scopes: frozenset[str]
    used: bool = False


@dataclass
class _Family:
    """Everything one sign-in issued; revoked as a whole on code or refresh-token reuse."""

    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    revoked: bool = False


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (no multipart needed)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace")))


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


class AuthorizationServer:
    """One OAuth2 client's authorization server (thread-safe; counters for tests)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback",),
        scopes: frozenset[str] = frozenset({"read", "write"}),
        access_ttl_s: float = 300.0,
        code_ttl_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        auto_consent: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris
        self.scopes = scopes
        self.access_ttl_s = access_ttl_s
        self.code_ttl_s = code_ttl_s
        self.clock = clock
        self.auto_consent = auto_consent  # "approve", "deny" or None (show the page)
        self.codes_issued = 0
        self.token_requests = 0  # every authorization_code / refresh_token grant received
        self.code_exchanges = 0
        self.refreshes = 0
        self.reuse_detected = 0
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._families: dict[int, _Family] = {}
        self._family_ids = itertools.count(1)

    # ----------------------------------------------------------------------------- mounting

    def routes(self, *, token_endpoint: bool = True) -> list[Route]:
        """The authorization page (and the token endpoint unless the host serves its own)."""
        routes = [Route(AUTHORIZE_PATH, self.authorization, methods=["GET", "POST"])]
        if token_endpoint:
            routes.append(Route(TOKEN_PATH, self.token_endpoint, methods=["POST"]))
        return routes

    def app(self) -> Starlette:
        """The server alone (authorization page and token endpoint)."""
        return Starlette(routes=self.routes())

    def access_token(self, token: str) -> AccessToken | None:
        """The live access token ``token`` (None when unknown, expired or revoked)."""
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry.expires_at <= self.clock():
                return None
            if self._families[entry.family].revoked:
                return None
            return entry

    # ------------------------------------------------------------------------ authorization

    def _redirect_ok(self, redirect_uri: str) -> bool:
        given = urlsplit(redirect_uri)
        for registered in self.redirect_uris:
            want = urlsplit(registered)
            if redirect_uri == registered:
                return True
            loopback = want.hostname in LOOPBACK_HOSTS and want.scheme == "http"
            if (
                loopback
                and given.scheme == "http"
                and given.hostname == want.hostname
                and given.path == want.path
                and not given.query
                and not given.fragment
            ):
                return True  # RFC 8252 §7.3: any port on the loopback interface
        return False

    async def authorization(self, request: Request) -> Response:
        """``GET`` (or the consent page's ``POST``) ``/oauth/authorizations/new``."""
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id:
            return HTMLResponse("<h1>Unknown client</h1>", status_code=400)
        if not self._redirect_ok(redirect_uri):
            return HTMLResponse("<h1>The redirect_uri is not registered</h1>", status_code=400)
        state = params.get("state")

        def back(**answer: str) -> Response:
            if state is not None:
                answer["state"] = state
            return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or len(challenge) != 43:
            return back(error="invalid_request", error_description="PKCE S256 is required")
        scopes = frozenset((params.get("scope") or " ".join(sorted(self.scopes))).split())
        if not scopes <= self.scopes:
            return back(error="invalid_scope")
        decision = params.get("consent") or params.get("decision") or self.auto_consent
        if decision is None:
            return HTMLResponse(self._consent_page(params))
        if decision != "approve":
            return back(error="access_denied", error_description="The user denied access")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                self.client_id, redirect_uri, challenge, scopes, self.clock() + self.code_ttl_s
            )
            self.codes_issued += 1
        return back(code=code)

    @staticmethod
    def _consent_page(params: dict[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("consent", "decision")
        )
        return (
            "<!doctype html><title>Authorize Tabless</title><h1>Allow Tabless to use your "
            f"account?</h1><form method='post'>{hidden}"
            "<button name='decision' value='approve'>Allow</button> "
            "<button name='decision' value='deny'>Deny</button></form>"
        )

    # ------------------------------------------------------------------------------- tokens

    async def token_endpoint(self, request: Request) -> Response:
        """``POST /oauth/tokens`` (form-encoded)."""
        answer = self.token_grant(await _form(request))
        if answer is None:
            return _error(400, "unsupported_grant_type", "The grant type is not supported.")
        return answer

    def token_grant(self, params: dict[str, str]) -> Response | None:
        """Answer an ``authorization_code`` or ``refresh_token`` grant; None for other grants
        (the host's own, e.g. Zendesk's client credentials)."""
        grant = params.get("grant_type")
        if grant not in ("authorization_code", "refresh_token"):
            return None
        with self._lock:
            self.token_requests += 1
        if params.get("client_id") != self.client_id:
            return _error(401, "invalid_client", "Client authentication failed.")
        given_secret = params.get("client_secret")
        if given_secret is not None and not (
            self.client_secret is not None
            and hmac.compare_digest(given_secret.encode(), self.client_secret.encode())
        ):
            return _error(401, "invalid_client", "Client authentication failed.")
        with self._lock:
            if grant == "authorization_code":
                return self._exchange_code(params)
            return self._rotate(params)

    def _issue(self, family: int, scopes: frozenset[str]) -> JSONResponse:
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        self._access[access] = AccessToken(self.clock() + self.access_ttl_s, scopes, family)
        self._refresh[refresh] = _Refresh(family, scopes)
        self._families[family].access.add(access)
        self._families[family].refresh.add(refresh)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.access_ttl_s),
            "refresh_token": refresh,
            "scope": " ".join(sorted(scopes)),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, family: int) -> None:
        self._families[family].revoked = True

    def _exchange_code(self, params: dict[str, str]) -> JSONResponse:
        code = self._codes.get(params.get("code", ""))
        invalid = _error(400, "invalid_grant", "The authorization code is invalid or expired.")
        if code is None or code.expires_at <= self.clock():
            return invalid
        if code.used:  # RFC 6749 §4.1.2: revoke what the code issued
            if code.family is not None:
                self._revoke(code.family)
            return invalid
        code.used = True
        if params.get("redirect_uri") != code.redirect_uri:
            return _error(400, "invalid_grant", "The redirect_uri does not match.")
        verifier = params.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
            s256(verifier), code.challenge
        ):
            return _error(400, "invalid_grant", "The code_verifier does not match.")
        family = next(self._family_ids)
        self._families[family] = _Family()
        code.family = family
        self.code_exchanges += 1
        return self._issue(family, code.scopes)

    def _rotate(self, params: dict[str, str]) -> JSONResponse:
        entry = self._refresh.get(params.get("refresh_token", ""))
        invalid = _error(400, "invalid_grant", "The refresh token is invalid or revoked.")
        if entry is None or self._families[entry.family].revoked:
            return invalid
        if entry.used:  # a rotated token came back: someone copied it; revoke the sign-in
            self.reuse_detected += 1
            self._revoke(entry.family)
            return invalid
        entry.used = True
        self.refreshes += 1
        return self._issue(entry.family, entry.scopes)
