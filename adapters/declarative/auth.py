"""The auth a mapping file declares, as an ``httpx.Auth``; secrets are read from the keyring.

Every kind is built from :mod:`adapters._auth` (the one implementation of each): the static
kinds read their secret on the first request, so a missing secret surfaces as ``SecretError``
from ``check()`` or ``pull()``, never from the constructor. ``oauth2_code`` uses the tokens the
browser sign-in stored and stores the rotated ones through ``store``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from adapters._auth import (
    AuthorizationCodeAuth,
    ClientCredentialsAuth,
    HeaderAuth,
    JwtBearerAuth,
    LazyBasicAuth,
    QueryKeyAuth,
    bearer_auth,
)
from adapters.declarative.spec import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NoAuth,
    OAuth2Auth,
    OAuth2CodeAuth,
)
from app.oauth_login import OAuthEndpoints

AuthSpec = NoAuth | BasicAuth | ApiKeyAuth | BearerAuth | JwtAuth | OAuth2Auth | OAuth2CodeAuth
SecretGetter = Callable[[str], str]
TOKEN_AUTH = (OAuth2Auth, OAuth2CodeAuth)  # kinds whose token requests need their own client


class _Once:
    """A secret fetched on first use and kept for the life of the client."""

    def __init__(self, getter: SecretGetter, name: str) -> None:
        self._getter = getter
        self._name = name
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = self._getter(self._name)
        return self._value

    def __repr__(self) -> str:
        return f"<secret {self._name}: redacted>"


def _absolute(url: str, base_url: str) -> str:
    return base_url.rstrip("/") + url if url.startswith("/") else url


def oauth_endpoints(spec: AuthSpec, base_url: str) -> OAuthEndpoints | None:
    """Where ``kind = "oauth2_code"`` signs in (None for the other kinds)."""
    return _endpoints(spec, base_url) if isinstance(spec, OAuth2CodeAuth) else None


def _endpoints(spec: OAuth2CodeAuth, base_url: str) -> OAuthEndpoints:
    return OAuthEndpoints(
        authorize_url=_absolute(spec.authorize_url, base_url),
        token_url=_absolute(spec.token_url, base_url),
        client_id=spec.client_id,
        scope=spec.scope,
        client_secret_key=spec.secret,
    )


def build_auth(
    spec: AuthSpec,
    secret: SecretGetter,
    *,
    base_url: str,
    system: str,
    token_client: Callable[[], httpx.AsyncClient] | None,
    store: Callable[[str, str], None] | None = None,
) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``spec`` (None for ``kind = "none"``)."""
    if isinstance(spec, NoAuth):
        return None
    if isinstance(spec, OAuth2CodeAuth):
        return AuthorizationCodeAuth(
            _endpoints(spec, base_url), secret, store=store, client=token_client, system=system
        )
    value = _Once(secret, spec.secret)
    if isinstance(spec, BasicAuth):
        return LazyBasicAuth(spec.username, value)
    if isinstance(spec, ApiKeyAuth):
        if spec.query is not None:
            return QueryKeyAuth(spec.query, value)
        return HeaderAuth(spec.header or "X-Api-Key", value, spec.prefix)
    if isinstance(spec, BearerAuth):
        return bearer_auth(value)
    if isinstance(spec, JwtAuth):
        return JwtBearerAuth(
            value,
            issuer=spec.issuer,
            audience=spec.audience,
            subject=spec.subject,
            algorithm=spec.algorithm,
            lifetime_s=spec.lifetime_s,
        )
    return ClientCredentialsAuth(
        _absolute(spec.token_url, base_url),
        spec.client_id,
        value,
        scope=spec.scope,
        client=token_client,
        system=system,
    )
