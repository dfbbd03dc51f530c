"""The auth a mapping file declares, as an ``httpx.Auth``; secrets are read from the keyring.

JWT and OAuth2 client credentials reuse :mod:`adapters._auth`; the static kinds (API key in a
header or the query, bearer token, Basic) are small ``httpx.Auth`` classes that read their secret
on the first request, so a missing secret surfaces as ``SecretError`` from ``check()`` or
``pull()``, never from the constructor.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx

from adapters._auth import ClientCredentialsAuth, JwtBearerAuth, basic_auth
from adapters.declarative.spec import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NoAuth,
    OAuth2Auth,
)

AuthSpec = NoAuth | BasicAuth | ApiKeyAuth | BearerAuth | JwtAuth | OAuth2Auth
SecretGetter = Callable[[str], str]


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


class HeaderAuth(httpx.Auth):
    """Sends ``header: prefix + secret`` (API keys, static bearer tokens)."""

    def __init__(self, header: str, secret: Callable[[], str], prefix: str = "") -> None:
        self.header = header
        self._secret = secret
        self.prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers[self.header] = self.prefix + self._secret()
        yield request


class QueryKeyAuth(httpx.Auth):
    """Adds the API key as a query parameter (``?api_key=…``)."""

    def __init__(self, param: str, secret: Callable[[], str]) -> None:
        self.param = param
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.url = request.url.copy_merge_params({self.param: self._secret()})
        yield request


class LazyBasicAuth(httpx.Auth):
    """HTTP Basic through :func:`adapters._auth.basic_auth`, built on the first request."""

    def __init__(self, username: str, password: Callable[[], str]) -> None:
        self.username = username
        self._password = password
        self._auth: httpx.BasicAuth | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if self._auth is None:
            self._auth = basic_auth(self.username, self._password)
        yield from self._auth.auth_flow(request)


def build_auth(
    spec: AuthSpec,
    secret: SecretGetter,
    *,
    base_url: str,
    system: str,
    token_client: Callable[[], httpx.AsyncClient] | None,
) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``spec`` (None for ``kind = "none"``)."""
    if isinstance(spec, NoAuth):
        return None
    value = _Once(secret, spec.secret)
    if isinstance(spec, BasicAuth):
        return LazyBasicAuth(spec.username, value)
    if isinstance(spec, ApiKeyAuth):
        if spec.query is not None:
            return QueryKeyAuth(spec.query, value)
        return HeaderAuth(spec.header or "X-Api-Key", value, spec.prefix)
    if isinstance(spec, BearerAuth):
        return HeaderAuth("Authorization", value, "Bearer ")
    if isinstance(spec, JwtAuth):
        return JwtBearerAuth(
            value,
            issuer=spec.issuer,
            audience=spec.audience,
            subject=spec.subject,
            algorithm=spec.algorithm,
            lifetime_s=spec.lifetime_s,
        )
    token_url = spec.token_url
    if token_url.startswith("/"):
        token_url = base_url.rstrip("/") + token_url
    return ClientCredentialsAuth(
        token_url, spec.client_id, value, scope=spec.scope, client=token_client, system=system
    )
