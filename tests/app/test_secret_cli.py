"""``tabless secret`` and ``tabless doctor`` against the real keyring and a real config file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.secrets import SecretStore


def _tabless(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TABLESS_HOME": str(home),
        "TABLESS_KEYRING_SERVICE": "tabless-test",
        "TABLESS_SITE_CONFIG": str(home / "site.toml"),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.usefixtures("real_keyring")
def test_secret_set_from_stdin_then_doctor_is_satisfied(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(
        '[systems.helpdesk]\nadapter = "zendesk"\n[systems.helpdesk.settings]\n'
        'base_url = "https://helpdesk.example.com"\nclient_id = "desk"\n',
        encoding="utf-8",
    )
    store = SecretStore(service="tabless-test")
    store.delete("helpdesk", "client_secret")
    before = _tabless(tmp_path, "doctor")
    assert before.returncode == 1 and "MISSING SECRETS: client_secret" in before.stdout
    stored = _tabless(
        tmp_path, "secret", "set", "helpdesk", "client_secret", "--stdin", stdin="s3cr3t-from-it\n"
    )
    assert stored.returncode == 0, stored.stderr
    assert store.get("helpdesk", "client_secret") == "s3cr3t-from-it"
    after = _tabless(tmp_path, "doctor")
    assert after.returncode == 0 and "helpdesk (zendesk" in after.stdout
    assert "s3cr3t" not in after.stdout + after.stderr
    assert not any(b"s3cr3t" in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    store.delete("helpdesk", "client_secret")


def test_a_secret_in_the_site_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(
        '[systems.qa]\nadapter = "quality"\n[systems.qa.settings]\n'
        'base_url = "https://qa.example.com"\nclient_id = "x"\ntoken_lifetime_s = 120\n'
        'jwt_key = "oops"\n',
        encoding="utf-8",
    )
    result = _tabless(tmp_path, "doctor")
    assert result.returncode == 1
    assert "jwt_key" in result.stdout and "keyring" in result.stdout
