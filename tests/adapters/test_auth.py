"""Every auth kind of ``adapters._auth`` over real HTTP on 127.0.0.1, against sandbox stand-ins.

Static kinds and JWT run against the in-house stand-in (which checks each kind); OAuth2 client
credentials and authorization code (PKCE, refresh-token rotation) against the Zendesk stand-in
with ``sandbox.oauth.AuthorizationServer`` mounted, through the real adapter, the real registry
wiring (``AdapterContext.store_secret``) and the real OS keyring. The sign-in's person and
browser are stood in by ``tests.app.test_oauth_login.Browser`` (httpx following redirects).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters._auth import (
    AuthorizationCodeAuth,
    ClientCredentialsAuth,
    HeaderAuth,
    JwtBearerAuth,
    LazyBasicAuth,
    QueryKeyAuth,
    bearer_auth,
)
from adapters.base import Adapter, CheckResult
from app.config import SystemEntry, load_config, save_user_config
from app.domain import AuthError, SecretError
from app.oauth_login import (
    ACCESS_TOKEN_KEY,
    EXPIRES_AT_KEY,
    REFRESH_TOKEN_KEY,
    SIGN_IN_EXPIRED,
    OAuthEndpoints,
    sign_in,
)
from app.registry import build_adapter
from app.runtime import open_workstation
from app.secrets import SecretStore
from app.timeutil import to_iso_z, utcnow
from sandbox import inhouse
from sandbox.inhouse import InhouseStandIn
from sandbox.oauth import s256
from sandbox.zendesk import ZendeskStandIn
from tests.app.test_oauth_login import Browser, keyring_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "declarative"


class FakeClock:
    """The authorization server's clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def secret_of(value: str, reads: list[str] | None = None) -> Callable[[], str]:
    def read() -> str:
        if reads is not None:
            reads.append(value)
        return value

    return read


async def get(url: str, path: str, auth: httpx.Auth) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, auth=auth, trust_env=False) as client:
        return await client.get(path)


# --- static kinds and JWT ---------------------------------------------------------------------

STATIC: dict[str, Callable[[Callable[[], str]], httpx.Auth]] = {
    "api_key_header": lambda s: HeaderAuth("X-Api-Key", s),
    "api_key_query": lambda s: QueryKeyAuth("api_key", s),
    "basic": lambda s: LazyBasicAuth(inhouse.DEMO_USERNAME, s),
    "bearer": bearer_auth,
    "jwt": lambda s: JwtBearerAuth(s, issuer=inhouse.JWT_ISSUER),
}
GOOD = {
    "api_key_header": inhouse.DEMO_API_KEY,
    "api_key_query": inhouse.DEMO_API_KEY,
    "basic": inhouse.DEMO_PASSWORD,
    "bearer": inhouse.DEMO_TOKEN,
    "jwt": inhouse.DEMO_JWT_KEY,
}


@pytest.mark.parametrize("kind", sorted(STATIC))
def test_each_static_kind_is_accepted_with_its_secret_and_refused_without(
    seed_tickets, serve, kind: str
) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="page", auth=kind)
    url = serve(stand.app)
    reads: list[str] = []
    good = STATIC[kind](secret_of(GOOD[kind], reads))
    assert reads == []  # nothing is read before the first request
    assert GOOD[kind] not in repr(good)
    bad = STATIC[kind](secret_of("wrong-secret-which-is-long-enough-for-hs256-keys"))

    async def scenario() -> tuple[int, int]:
        accepted = await get(url, "/api/tickets", good)
        refused = await get(url, "/api/tickets", bad)
        return accepted.status_code, refused.status_code

    assert asyncio.run(scenario()) == (200, 401)
    assert reads  # the secret was read when the request went out


def test_client_credentials_twenty_concurrent_requests_fetch_one_token(seed_tickets, serve) -> None:  # type: ignore[no-untyped-def]
    standin = ZendeskStandIn(seed_tickets)
    url = serve(standin.app)

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as token_client:
            auth = ClientCredentialsAuth(
                url + "/oauth/tokens",
                standin.client_id,
                secret_of(standin.client_secret),
                scope="read write",
                client=lambda: token_client,
                system="zd",
            )
            async with httpx.AsyncClient(base_url=url, auth=auth, trust_env=False) as client:
                answers = await asyncio.gather(
                    *(client.get("/api/v2/users/me.json") for _ in range(20))
                )
        return [a.status_code for a in answers]

    assert asyncio.run(scenario()) == [200] * 20
    assert standin.tokens_issued == 1


# --- OAuth2 authorization code (keyring) ------------------------------------------------------


class Signed:
    """A Zendesk stand-in in authorization-code mode, its system entry and keyring."""

    def __init__(self, standin: ZendeskStandIn, url: str, store: SecretStore) -> None:
        self.standin = standin
        self.url = url
        self.store = store
        self.clock: FakeClock = standin.clock  # type: ignore[assignment]
        self.entry = SystemEntry(
            "zd",
            "zendesk",
            "Zendesk",
            {"base_url": url, "client_id": standin.client_id, "auth": "authorization_code"},
        )

    def secret(self, key: str) -> str:
        return self.store.get("zd", key)

    def expire_on_server(self) -> None:
        self.clock.now += self.standin.oauth.access_ttl_s + 1

    def run(self, scenario: Callable[[Adapter], Any]) -> Any:
        """Build the adapter through the registry (as the workstation does) and run."""

        async def main() -> Any:
            adapter = build_adapter(self.entry, self.store)
            try:
                return await scenario(adapter)
            finally:
                await adapter.aclose()

        return asyncio.run(main())


@pytest.fixture
def signed(seed_tickets, serve, real_keyring) -> Iterator[Signed]:  # type: ignore[no-untyped-def]
    standin = ZendeskStandIn(seed_tickets, clock=FakeClock())
    standin.oauth.auto_consent = "approve"
    url = serve(standin.app)
    store = keyring_store()
    store.set("zd", "client_secret", standin.client_secret)
    signed = Signed(standin, url, store)

    async def login(adapter: Adapter) -> None:
        endpoints = adapter.oauth_endpoints()  # type: ignore[attr-defined]
        assert isinstance(endpoints, OAuthEndpoints)
        await sign_in("zd", endpoints, store, open_browser=Browser())

    signed.run(login)
    yield signed
    for key in (ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, EXPIRES_AT_KEY, "client_secret"):
        store.delete("zd", key)


def checks(count: int) -> Callable[[Adapter], Any]:
    async def scenario(adapter: Adapter) -> list[CheckResult]:
        return list(await asyncio.gather(*(adapter.check() for _ in range(count))))

    return scenario


@pytest.mark.keyring
def test_twenty_requests_with_an_expired_token_share_one_refresh(signed: Signed) -> None:
    first_access, first_refresh = signed.secret(ACCESS_TOKEN_KEY), signed.secret(REFRESH_TOKEN_KEY)
    first_expiry = signed.secret(EXPIRES_AT_KEY)
    assert signed.run(checks(1))[0].ok and signed.standin.oauth.refreshes == 0

    signed.expire_on_server()  # the client still believes its token is good: 20 × 401
    rejected = signed.standin.tokens_rejected
    results = signed.run(checks(20))
    assert [r.ok for r in results] == [True] * 20, results[0].message
    assert signed.standin.oauth.refreshes == 1
    assert signed.standin.tokens_rejected - rejected == 20

    # the rotated pair is in the keyring (read back through SecretStore) and is the live one
    access, refresh = signed.secret(ACCESS_TOKEN_KEY), signed.secret(REFRESH_TOKEN_KEY)
    assert access != first_access and refresh != first_refresh
    assert signed.standin.oauth.access_token(access) is not None
    assert signed.secret(EXPIRES_AT_KEY) >= first_expiry

    # the client knows the token expired: it renews once up front, no request is refused
    signed.store.set("zd", EXPIRES_AT_KEY, to_iso_z(utcnow() - timedelta(minutes=1)))
    rejected = signed.standin.tokens_rejected
    assert all(r.ok for r in signed.run(checks(20)))
    assert signed.standin.oauth.refreshes == 2
    assert signed.standin.tokens_rejected == rejected
    assert signed.secret(REFRESH_TOKEN_KEY) != refresh


@pytest.mark.keyring
def test_a_reused_refresh_token_revokes_the_sign_in_with_a_readable_error(
    signed: Signed,
) -> None:
    stale = signed.secret(REFRESH_TOKEN_KEY)
    signed.expire_on_server()
    assert signed.run(checks(1))[0].ok  # rotates: the keyring now holds the new token
    latest = signed.secret(REFRESH_TOKEN_KEY)
    assert latest != stale

    signed.store.set("zd", REFRESH_TOKEN_KEY, stale)  # e.g. a restored copy of the keyring
    signed.expire_on_server()

    async def twice(adapter: Adapter) -> tuple[CheckResult, AuthError]:
        result = await adapter.check()
        requests = signed.standin.oauth.token_requests
        with pytest.raises(AuthError) as caught:
            await adapter.pull(None)
        assert signed.standin.oauth.token_requests == requests  # the refused token: not resent
        return result, caught.value

    result, error = signed.run(twice)
    assert not result.ok and result.message == SIGN_IN_EXPIRED
    assert error.message == SIGN_IN_EXPIRED and error.code == "auth_rejected"  # health: AUTH
    assert signed.standin.oauth.reuse_detected == 1

    signed.store.set("zd", REFRESH_TOKEN_KEY, latest)  # the whole sign-in was revoked
    assert signed.run(checks(1))[0].message == SIGN_IN_EXPIRED


@pytest.mark.keyring
def test_without_a_sign_in_check_says_to_sign_in(signed: Signed) -> None:
    for key in (ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, EXPIRES_AT_KEY):
        signed.store.delete("zd", key)
    result = signed.run(checks(1))[0]
    assert not result.ok and result.message.startswith("not signed in to this system yet")


@pytest.mark.keyring
def test_tokens_never_reach_config_sqlite_or_logs(signed: Signed, tmp_path: Path) -> None:
    seen = {signed.secret(ACCESS_TOKEN_KEY), signed.secret(REFRESH_TOKEN_KEY)}
    config_file = tmp_path / "tabless.toml"
    save_user_config({}, {"zd": signed.entry}, user_file=config_file)
    log_file = tmp_path / "tabless.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)

    async def session() -> None:
        ws = open_workstation(
            config=load_config(site_file=config_file, user_file=config_file, environ={}),
            cache_path=tmp_path / "cache.sqlite3",
            secrets=signed.store,
        )
        try:
            ws.start()
            assert await ws.sync.wait_first_sync(60) == {}
            signed.expire_on_server()
            ws.sync.poke("zd")
            for _ in range(400):
                if signed.standin.oauth.refreshes:
                    break
                await asyncio.sleep(0.05)
            await ws.stop()
        finally:
            ws.close()

    try:
        asyncio.run(session())
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
    assert signed.standin.oauth.refreshes == 1
    seen |= {signed.secret(ACCESS_TOKEN_KEY), signed.secret(REFRESH_TOKEN_KEY)}
    assert len(seen) == 4
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert config_file in written and log_file in written
    assert any(p.name.startswith("cache.sqlite3") for p in written)
    assert "/oauth/tokens" in log_file.read_text(encoding="utf-8")  # the refresh was logged
    for path in written:
        data = path.read_bytes()
        for token in seen:
            assert token.encode() not in data, f"a token leaked into {path.name}"


# --- declarative kind = "oauth2_code" --------------------------------------------------------


@pytest.mark.keyring
def test_a_mapping_file_with_oauth2_code_signs_in_and_rotates(
    seed_tickets, serve, tmp_path: Path, real_keyring: str
) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="page", auth="oauth2_code")
    clock = FakeClock()
    stand.oauth.clock = clock
    url = serve(stand.app)
    text = (FIXTURES / "page.toml").read_text(encoding="utf-8")
    old = 'kind = "api_key"\nheader = "X-Api-Key"\nsecret = "api_key"'
    assert old in text
    mapping = tmp_path / "oauth2_code.toml"
    mapping.write_text(
        text.replace(
            old,
            'kind = "oauth2_code"\nauthorize_url = "/oauth/authorizations/new"\n'
            'token_url = "/oauth/tokens"\nclient_id = "tabless"\nscope = "read"',
        ),
        encoding="utf-8",
    )
    entry = SystemEntry(
        "inhouse", "declarative", "In-house", {"base_url": url, "mapping": str(mapping)}
    )
    store = keyring_store()

    async def scenario() -> tuple[int, int]:
        adapter = build_adapter(entry, store)
        try:
            endpoints = adapter.oauth_endpoints()  # type: ignore[attr-defined]
            assert endpoints == OAuthEndpoints(
                url + "/oauth/authorizations/new", url + "/oauth/tokens", "tabless", "read"
            )
            await sign_in("inhouse", endpoints, store, open_browser=Browser())
            first = await adapter.pull(None)
            clock.now += stand.oauth.access_ttl_s + 1
            second = await adapter.pull(None)
            return len(first.tickets), len(second.tickets)
        finally:
            await adapter.aclose()

    try:
        first, second = asyncio.run(scenario())
        assert first == second > 0  # the same first page, before and after the renewal
        assert stand.oauth.code_exchanges == 1 and stand.oauth.refreshes == 1
        assert stand.oauth.access_token(store.get("inhouse", ACCESS_TOKEN_KEY)) is not None
    finally:
        for key in (ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, EXPIRES_AT_KEY):
            store.delete("inhouse", key)


def test_authorization_code_auth_never_shows_its_tokens() -> None:
    auth = AuthorizationCodeAuth(
        OAuthEndpoints("https://x.invalid/a", "https://x.invalid/t", "id"),
        lambda key: f"secret-{key}",
    )
    assert "secret-" not in repr(auth) and "secret-" not in repr(vars(auth))


def test_a_failed_store_keeps_the_session_on_the_rotated_token(seed_tickets, serve) -> None:  # type: ignore[no-untyped-def]
    """When the keyring refuses the rotated token, the stale one in it must not be sent again
    (that would be reuse and revoke the sign-in): the session goes on from memory."""
    standin = ZendeskStandIn(seed_tickets, clock=FakeClock())
    url = serve(standin.app)
    verifier = "k" * 60
    redirect_uri = "http://127.0.0.1:1/callback"
    with httpx.Client(base_url=url, trust_env=False) as client:
        answer = client.get(
            "/oauth/authorizations/new",
            params={
                "response_type": "code",
                "client_id": standin.client_id,
                "redirect_uri": redirect_uri,
                "code_challenge": s256(verifier),
                "code_challenge_method": "S256",
                "consent": "approve",
            },
        )
        code = httpx.URL(answer.headers["location"]).params["code"]
        tokens = client.post(
            "/oauth/tokens",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": standin.client_id,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        ).json()
    keyring = {ACCESS_TOKEN_KEY: tokens["access_token"], REFRESH_TOKEN_KEY: tokens["refresh_token"]}

    def refusing_store(key: str, value: str) -> None:
        raise SecretError("the keyring is locked")

    def read(key: str) -> str:
        if key not in keyring:
            raise SecretError(f"no secret {key!r}")
        return keyring[key]

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as token_client:
            auth = AuthorizationCodeAuth(
                OAuthEndpoints(
                    url + "/oauth/authorizations/new", url + "/oauth/tokens", standin.client_id
                ),
                read,
                store=refusing_store,
                client=lambda: token_client,
                system="zd",
            )
            codes = []
            async with httpx.AsyncClient(base_url=url, auth=auth, trust_env=False) as client:
                for _ in range(3):
                    standin.clock.now += standin.oauth.access_ttl_s + 1  # type: ignore[attr-defined]
                    codes.append((await client.get("/api/v2/users/me.json")).status_code)
        return codes

    assert asyncio.run(scenario()) == [200, 200, 200]
    assert standin.oauth.refreshes == 3 and standin.oauth.reuse_detected == 0
    assert keyring[REFRESH_TOKEN_KEY] == tokens["refresh_token"]  # nothing could be stored


def test_an_api_key_in_the_query_is_masked_in_httpx_logs(
    seed_tickets, serve, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    stand = InhouseStandIn(seed_tickets, style="page", auth="api_key_query")
    url = serve(stand.app)
    caplog.set_level(logging.INFO, logger="httpx")
    answer = asyncio.run(
        get(url, "/api/tickets", QueryKeyAuth("api_key", secret_of(GOOD["api_key_query"])))
    )
    assert answer.status_code == 200
    assert "api_key=<redacted>" in caplog.text  # the request was logged …
    assert GOOD["api_key_query"] not in caplog.text  # … without its key
