"""Accounts core over a real stand-in (osTicket portal, HTTP Basic on 127.0.0.1) and a real keyring.

Nothing is written when the test connection fails; a passing one writes settings to the user's
TOML and the secret to the keyring; the same (URL, account) updates the first entry; removing
deletes the section and the keyring entries; IT's systems are listed but cannot be removed.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.accounts import Accounts, identity_of, normalise_location
from app.config import load_config
from app.domain import ConfigError
from app.secrets import SecretStore
from sandbox.inhouse import InhouseStandIn
from sandbox.osticket import OsTicketStandIn

SERVICE = "tabless-test"


@pytest.fixture
def portal(seed_tickets: Any, serve: Any) -> tuple[OsTicketStandIn, str]:
    stand_in = OsTicketStandIn(seed_tickets, username="agent.wang", password=f"pw-{uuid.uuid4()}")
    return stand_in, serve(stand_in.app)


@pytest.fixture
def accounts(tmp_path: Path, real_keyring: str) -> Accounts:
    return Accounts(
        SecretStore(service=SERVICE),
        user_file=tmp_path / "config.toml",
        site_file=tmp_path / "site.toml",
    )


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def files_text(tmp_path: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("*.toml"))


def test_identity_normalises_the_address_and_the_account() -> None:
    assert normalise_location("HTTPS://Help.Example.com:443/api/") == "https://help.example.com/api"
    assert normalise_location("http://h:8080") == "http://h:8080"
    assert identity_of({"base_url": "https://H.example/", "username": " Wang "}) == (
        "https://h.example",
        "wang",
    )


def test_bad_password_saves_nothing_then_a_good_one_saves(
    accounts: Accounts, portal: tuple[OsTicketStandIn, str], tmp_path: Path
) -> None:
    stand_in, url = portal
    settings = {"base_url": url, "username": stand_in.username}

    bad = run(accounts.save("osticket", settings, {"password": "wrong"}, title="Portal"))
    assert not bad.result.ok and bad.account is None
    assert bad.result.message.startswith("401"), bad.result.message
    assert not (tmp_path / "config.toml").exists()
    assert accounts.all() == []

    good = run(accounts.save("osticket", settings, {"password": stand_in.password}, title="门户"))
    assert good.result.ok, good.result.message
    assert good.account is not None and not good.updated
    system_id = good.account.system_id
    assert accounts.secrets.get(system_id, "password") == stand_in.password
    config = load_config(site_file=tmp_path / "site.toml", user_file=tmp_path / "config.toml")
    entry = config.systems[system_id]
    assert (entry.adapter, entry.title, entry.settings["base_url"]) == ("osticket", "门户", url)
    assert stand_in.password not in files_text(tmp_path)
    assert "password" not in files_text(tmp_path)

    try:
        # A failing test on an existing account changes neither the file nor the keyring.
        before = (tmp_path / "config.toml").read_bytes()
        again = run(accounts.save("osticket", settings, {"password": "nope"}, title="x"))
        assert not again.result.ok
        assert (tmp_path / "config.toml").read_bytes() == before
        assert accounts.secrets.get(system_id, "password") == stand_in.password
    finally:
        run(accounts.remove(system_id))


def test_same_url_and_account_updates_the_first_entry(
    accounts: Accounts, portal: tuple[OsTicketStandIn, str]
) -> None:
    stand_in, url = portal
    first = run(
        accounts.save(
            "osticket",
            {"base_url": url, "username": stand_in.username},
            {"password": stand_in.password},
            title="Portal",
        )
    )
    assert first.account is not None
    try:
        # The same system written differently (scheme case, trailing slash): the same account.
        second = run(
            accounts.save(
                "osticket",
                {"base_url": url.upper() + "/", "username": stand_in.username, "page_size": "7"},
                {"password": ""},  # empty: keep the stored password
                title="Portal (renamed)",
            )
        )
        assert second.result.ok, second.result.message
        assert second.updated and second.account is not None
        assert second.account.system_id == first.account.system_id
        listed = accounts.all()
        assert [a.system_id for a in listed] == [first.account.system_id]
        assert listed[0].entry.title == "Portal (renamed)"
        assert listed[0].entry.settings["page_size"] == 7
    finally:
        run(accounts.remove(first.account.system_id))


def test_remove_deletes_the_section_and_the_keyring_entries(
    accounts: Accounts, portal: tuple[OsTicketStandIn, str], tmp_path: Path
) -> None:
    stand_in, url = portal
    saved = run(
        accounts.save(
            "osticket",
            {"base_url": url, "username": stand_in.username},
            {"password": stand_in.password},
        )
    )
    assert saved.account is not None
    system_id = saved.account.system_id
    assert accounts.secrets.has(system_id, "password")
    assert run(accounts.remove(system_id)) == ["password"]
    assert not accounts.secrets.has(system_id, "password")
    assert accounts.all() == []
    assert system_id not in files_text(tmp_path)


def test_site_systems_are_listed_but_cannot_be_removed_or_overwritten(
    accounts: Accounts, portal: tuple[OsTicketStandIn, str], tmp_path: Path
) -> None:
    stand_in, url = portal
    (tmp_path / "site.toml").write_text(
        "[systems.portal]\n"
        'adapter = "osticket"\n'
        'title = "IT portal"\n'
        f'settings = {{ base_url = "{url}", username = "{stand_in.username}" }}\n',
        encoding="utf-8",
    )
    (listed,) = accounts.all()
    assert listed.read_only and listed.system_id == "portal"
    with pytest.raises(ConfigError, match="site configuration"):
        run(accounts.remove("portal"))
    with pytest.raises(ConfigError, match="only IT can change or remove it"):
        run(
            accounts.save(
                "osticket",
                {"base_url": url, "username": stand_in.username},
                {"password": stand_in.password},
            )
        )
    assert not (tmp_path / "config.toml").exists()
    # Its secret is the agent's: re-authenticating works, after a passing test only.
    assert not run(accounts.reauthenticate("portal", {"password": "bad"})).result.ok
    assert not accounts.secrets.has("portal", "password")
    done = run(accounts.reauthenticate("portal", {"password": stand_in.password}))
    try:
        assert done.result.ok and accounts.secrets.get("portal", "password") == stand_in.password
    finally:
        accounts.secrets.delete("portal", "password")


def test_mapping_file_adds_its_secret_field_and_reports_mistakes(
    accounts: Accounts, seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    stand_in = InhouseStandIn(seed_tickets, style="page")
    url = serve(stand_in.app)
    connection = stand_in.connection(url)
    fields = run(accounts.fields("declarative", connection["settings"]))
    secret = [f.key for f in fields if f.secret]
    assert secret == list(connection["secrets"]), secret
    result = run(accounts.test("declarative", connection["settings"], connection["secrets"]))
    assert result.ok, result.message

    broken = tmp_path / "crm.toml"
    broken.write_text('version = 1\n[source]\ntitle = "CRM"\nformat = "yaml"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        run(accounts.fields("declarative", {"mapping": str(broken)}))
    assert caught.value.details["line"] == 4 and caught.value.details["key"] == "source.format"
    failed = run(accounts.test("declarative", {"mapping": str(broken)}, {}))
    assert not failed.ok and "crm.toml, line 4" in failed.message


def test_secret_looking_settings_and_missing_fields_are_refused(accounts: Accounts) -> None:
    result = run(accounts.test("osticket", {"base_url": "http://127.0.0.1:9"}, {"password": "x"}))
    assert not result.ok and "User name is required" in result.message
    refused = run(
        accounts.test(
            "osticket",
            {"base_url": "http://127.0.0.1:9", "username": "u", "api_token": "abc"},
            {"password": "x"},
        )
    )
    assert not refused.ok and "keyring" in refused.message
    missing = run(
        accounts.test("osticket", {"base_url": "http://127.0.0.1:9", "username": "u"}, {})
    )
    assert not missing.ok and "not entered: Password" in missing.message


def test_browser_sign_in_keeps_tokens_in_memory_until_saved(
    accounts: Accounts, seed_tickets: Any, serve: Any, tmp_path: Path
) -> None:
    from app.oauth_login import ACCESS_TOKEN_KEY, TOKEN_KEYS
    from sandbox.zendesk import ZendeskStandIn
    from tests.app.test_oauth_login import Browser

    stand_in = ZendeskStandIn(seed_tickets)
    stand_in.oauth.auto_consent = "approve"
    url = serve(stand_in.app)
    settings = {"base_url": url, "client_id": stand_in.client_id, "auth": "authorization_code"}
    secrets = {"client_secret": stand_in.client_secret}
    browser = Browser()
    result, tokens = run(accounts.sign_in("zendesk", settings, secrets, open_browser=browser))
    assert result.ok, result.message
    assert browser.opened and set(tokens) <= set(TOKEN_KEYS) and ACCESS_TOKEN_KEY in tokens
    assert not (tmp_path / "config.toml").exists()  # nothing written by signing in

    saved = run(accounts.save("zendesk", settings, {**secrets, **tokens}, title="Zendesk"))
    assert saved.result.ok and saved.account is not None, saved.result.message
    system_id = saved.account.system_id
    assert accounts.secrets.get(system_id, ACCESS_TOKEN_KEY) == tokens[ACCESS_TOKEN_KEY]
    assert tokens[ACCESS_TOKEN_KEY] not in files_text(tmp_path)
    assert saved.account.browser_sign_in
    removed = run(accounts.remove(system_id))
    assert set(removed) == {"client_secret", *TOKEN_KEYS}
    assert not any(accounts.secrets.has(system_id, key) for key in removed)
