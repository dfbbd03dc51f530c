"""The browser sign-in (``app.oauth_login``) against the stand-in authorization server.

Everything is real — the loopback server on 127.0.0.1, the authorization server over HTTP, PKCE,
the OS keyring — except the person and the browser: ``open_browser`` is replaced by
:class:`Browser`, which follows the authorization URL with httpx the way a browser follows its
redirects (and, on the stand-in, the consent is given by ``auto_consent``). It is the only
stand-in for the human.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from app import adapter_cli
from app.config import SystemEntry, save_user_config
from app.domain import AuthError
from app.oauth_login import (
    ACCESS_TOKEN_KEY,
    EXPIRES_AT_KEY,
    REFRESH_TOKEN_KEY,
    TOKEN_KEYS,
    authorize,
)
from app.secrets import SecretStore
from app.timeutil import parse_timestamp, utcnow
from sandbox.oauth import AuthorizationServer, s256
from sandbox.zendesk import ZendeskStandIn

CLIENT_ID = "tabless_desktop"


class Browser:
    """Stands in for the person and the browser: opens the URL and follows every redirect.

    ``tamper`` may rewrite the redirect back to Tabless (a forged answer). Keeps each page seen.
    """

    def __init__(self, tamper: Callable[[str], str] | None = None) -> None:
        self.tamper = tamper
        self.opened: list[str] = []
        self.pages: list[httpx.Response] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        with httpx.Client(trust_env=False, timeout=10.0) as client:
            response = client.get(url)
            while response.is_redirect:
                target = str(response.next_request.url) if response.next_request else ""
                if self.tamper and target.startswith("http://127.0.0.1:") and "/callback" in target:
                    target = self.tamper(target)
                response = client.get(target)
            self.pages.append(response)
        return True


def keyring_store() -> SecretStore:
    """A keyring service of its own, so tests never see each other's (or real) entries."""
    return SecretStore(service=f"tabless-test-oauth-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def store(real_keyring: str) -> Iterator[SecretStore]:
    secrets = keyring_store()
    yield secrets
    for system in ("zd", "inhouse"):
        for key in (*TOKEN_KEYS, "client_secret"):
            secrets.delete(system, key)


@pytest.fixture
def auth_server() -> AuthorizationServer:
    return AuthorizationServer(client_id=CLIENT_ID, auto_consent="approve")


def sign_in(
    url: str, store: SecretStore, browser: Callable[[str], object], **options: object
) -> None:
    asyncio.run(
        authorize(  # type: ignore[arg-type]
            "inhouse",
            authorize_url=url + "/oauth/authorizations/new",
            token_url=url + "/oauth/tokens",
            client_id=CLIENT_ID,
            scope="read write",
            store=store,
            open_browser=browser,
            **options,
        )
    )


def nothing_stored(store: SecretStore, system: str = "inhouse") -> bool:
    return not any(store.has(system, key) for key in TOKEN_KEYS)


@pytest.mark.keyring
def test_sign_in_with_pkce_stores_the_tokens_in_the_keyring(
    serve, auth_server: AuthorizationServer, store: SecretStore
) -> None:  # type: ignore[no-untyped-def]
    url = serve(auth_server.app())
    browser = Browser()
    sign_in(url, store, browser)

    sent = parse_qs(urlsplit(browser.opened[0]).query)
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert sent["response_type"] == ["code"] and sent["client_id"] == [CLIENT_ID]
    redirect = urlsplit(sent["redirect_uri"][0])
    assert redirect.hostname == "127.0.0.1" and redirect.port and redirect.path == "/callback"
    assert len(sent["state"][0]) >= 32
    page = browser.pages[-1]
    assert page.status_code == 200 and "You can close this tab" in page.text
    assert auth_server.codes_issued == 1 and auth_server.code_exchanges == 1

    access = store.get("inhouse", ACCESS_TOKEN_KEY)
    assert auth_server.access_token(access) is not None  # the server knows the stored token
    assert len(store.get("inhouse", REFRESH_TOKEN_KEY)) == 64
    expires = parse_timestamp(store.get("inhouse", EXPIRES_AT_KEY))
    assert 250 < (expires - utcnow()).total_seconds() <= 300
    with pytest.raises(httpx.ConnectError):  # the one-shot loopback server is gone
        httpx.get(sent["redirect_uri"][0], trust_env=False)


@pytest.mark.keyring
def test_a_forged_state_is_rejected_and_nothing_is_stored(
    serve, auth_server: AuthorizationServer, store: SecretStore
) -> None:  # type: ignore[no-untyped-def]
    url = serve(auth_server.app())

    def forge(target: str) -> str:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": "attacker"}
        return parts._replace(query=urlencode(query)).geturl()

    browser = Browser(tamper=forge)
    with pytest.raises(AuthError, match="state mismatch"):
        sign_in(url, store, browser)
    assert nothing_stored(store)
    assert auth_server.code_exchanges == 0  # the code was never exchanged
    assert browser.pages[-1].status_code == 400 and "state mismatch" in browser.pages[-1].text


@pytest.mark.keyring
def test_denied_consent_is_reported_and_nothing_is_stored(
    serve, auth_server: AuthorizationServer, store: SecretStore
) -> None:  # type: ignore[no-untyped-def]
    auth_server.auto_consent = "deny"
    url = serve(auth_server.app())
    browser = Browser()
    with pytest.raises(AuthError, match="access was denied"):
        sign_in(url, store, browser)
    assert nothing_stored(store) and auth_server.codes_issued == 0
    assert "access was denied" in browser.pages[-1].text


@pytest.mark.keyring
def test_no_answer_times_out_and_nothing_is_stored(
    serve, auth_server: AuthorizationServer, store: SecretStore
) -> None:  # type: ignore[no-untyped-def]
    url = serve(auth_server.app())
    opened: list[str] = []
    with pytest.raises(AuthError, match=r"no sign-in answer from the browser within 0\.5 s"):
        sign_in(url, store, opened.append, timeout_s=0.5)
    assert len(opened) == 1 and nothing_stored(store)


def test_the_server_checks_the_verifier_and_the_one_time_code(
    serve, auth_server: AuthorizationServer
) -> None:  # type: ignore[no-untyped-def]
    """The stand-in is what the client is tested against: its PKCE checks must be real."""
    url = serve(auth_server.app())
    verifier = "v" * 50
    redirect_uri = "http://127.0.0.1:5999/callback"
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": "s",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=url, trust_env=False) as client:
        answer = client.get("/oauth/authorizations/new", params=query)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
        }
        wrong = client.post("/oauth/tokens", data=form | {"code_verifier": "w" * 50})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        again = client.post("/oauth/tokens", data=form | {"code_verifier": verifier})
        assert again.status_code == 400  # the code was spent by the failed attempt

        answer = client.get("/oauth/authorizations/new", params=query)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        good = client.post("/oauth/tokens", data=form | {"code": code, "code_verifier": verifier})
        assert good.status_code == 200
        access = good.json()["access_token"]
        assert auth_server.access_token(access) is not None
        replay = client.post("/oauth/tokens", data=form | {"code": code, "code_verifier": verifier})
        assert replay.status_code == 400
        assert auth_server.access_token(access) is None  # code reuse revoked its tokens

        plain = client.get(
            "/oauth/authorizations/new", params=query | {"code_challenge_method": "plain"}
        )
        assert "error=invalid_request" in plain.headers["location"]
        elsewhere = client.get(
            "/oauth/authorizations/new", params=query | {"redirect_uri": "http://evil.test/cb"}
        )
        assert elsewhere.status_code == 400 and "location" not in elsewhere.headers


@pytest.mark.keyring
def test_tabless_adapter_login_signs_a_zendesk_system_in(
    serve, seed_tickets, store: SecretStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    standin = ZendeskStandIn(seed_tickets)
    standin.oauth.auto_consent = "approve"
    url = serve(standin.app)
    config = tmp_path / "tabless.toml"
    entry = SystemEntry(
        "zd",
        "zendesk",
        "Zendesk",
        {"base_url": url, "client_id": standin.client_id, "auth": "authorization_code"},
    )
    save_user_config({}, {"zd": entry}, user_file=config)
    store.set("zd", "client_secret", standin.client_secret)
    monkeypatch.setenv("TABLESS_KEYRING_SERVICE", store.service)
    browser = Browser()
    monkeypatch.setattr(adapter_cli.webbrowser, "open", browser)  # the person + the browser
    out: list[str] = []
    err: list[str] = []
    code = adapter_cli.adapter_command(
        ["login", "zd", "--config", str(config)], out=out.append, err=err.append
    )
    assert (code, err) == (0, []), err
    assert browser.opened[0] in "".join(out)
    assert out[-1] == "ok: zd (zendesk) is signed in; the tokens are in the OS keyring\n"
    assert standin.oauth.code_exchanges == 1
    assert standin.oauth.access_token(store.get("zd", ACCESS_TOKEN_KEY)) is not None
    assert store.get("zd", ACCESS_TOKEN_KEY) not in config.read_text(encoding="utf-8")

    entry.settings["auth"] = "client_credentials"
    save_user_config({}, {"zd": entry}, user_file=config)
    code = adapter_cli.adapter_command(
        ["login", "zd", "--config", str(config)], out=out.append, err=err.append
    )
    assert code == 1 and "does not sign in through the browser" in err[-1]
