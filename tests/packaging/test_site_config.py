"""The IT site-config template: it loads, builds every built-in adapter and holds no secret."""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from app import paths
from app.config import Config, load_config
from app.registry import adapter_classes, build_adapter
from app.secrets import SecretStore

EXAMPLE = Path(__file__).resolve().parents[2] / "packaging" / "site-config.example.toml"
BUILT_IN = {"zendesk", "quality", "osticket", "csv"}
SECRET_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a JWT
    re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)\s*[:=]"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # A long opaque blob mixing cases and digits: a key or a token.
    re.compile(r"^(?=.*\d)(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/_=-]{20,}$"),
)


def looks_like_secret(value: str) -> bool:
    """True when ``value`` resembles a credential (or a URL carrying one)."""
    if any(pattern.search(value) for pattern in SECRET_PATTERNS):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc and parts.password)


def strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every (dotted key, string value) of a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{where}[{index}]")
    elif isinstance(node, str):
        yield where, node


@pytest.fixture
def raw() -> dict[str, Any]:
    with EXAMPLE.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(site_file=EXAMPLE, user_file=tmp_path / "absent.toml", environ={})


def test_every_system_parses_and_the_file_is_the_only_source(
    config: Config, raw: dict[str, Any]
) -> None:
    assert config.sources == [EXAMPLE]
    assert set(config.systems) == set(raw["systems"])
    assert {entry.adapter for entry in config.systems.values()} >= BUILT_IN
    for key, value in raw["settings"].items():
        assert config.get(key) == value, key


def test_every_system_names_an_installed_adapter_with_its_required_settings(
    config: Config,
) -> None:
    installed = adapter_classes()
    for system_id, entry in config.systems.items():
        assert entry.adapter in installed, f"{system_id}: no adapter {entry.adapter!r}"
        fields = {field.key: field for field in installed[entry.adapter].manifest.config}
        required = {
            key
            for key, field in fields.items()
            if field.required and not field.secret and field.default is None
        }
        missing = required - set(entry.settings)
        assert not missing, f"{system_id}: lacks the required settings {sorted(missing)}"
        for key, value in entry.settings.items():
            assert key in fields, f"{system_id}: {key!r} is not a setting of {entry.adapter}"
            assert not fields[key].secret, f"{system_id}: secret {key!r} in a config file"
            assert isinstance(value, fields[key].type), f"{system_id}.{key}: {value!r}"
        ZoneInfo(entry.naive_zone)  # a wrong zone name raises here


def test_every_system_builds_its_adapter_without_reading_a_secret(config: Config) -> None:
    # No keyring is touched: secrets are read only when a system connects.
    store = SecretStore(service="tabless-test-never-written")
    for system_id, entry in config.systems.items():
        adapter = build_adapter(entry, store)
        assert adapter.system_id == system_id
        asyncio.run(adapter.aclose())


def test_no_value_looks_like_a_secret_and_hosts_are_placeholders(raw: dict[str, Any]) -> None:
    for where, value in strings(raw):
        assert not looks_like_secret(value), f"{where} = {value!r} looks like a secret"
        host = urlsplit(value).hostname if "://" in value else None
        if host:
            assert host == "example.com" or host.endswith(".example.com"), f"{where}: {host}"


@pytest.mark.parametrize(
    "value",
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl",
        "https://svc:hunter2@portal.example.com",
        "password = hunter2",
        "Bearer abcdefghijklmnop",
        "q8Zr3kP0vX7mN2bL5cT9wY4hJ6gF1dS",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_the_secret_detector_catches_credentials(value: str) -> None:
    assert looks_like_secret(value)


@pytest.mark.parametrize(
    "value",
    [
        "https://support.example.com",
        "tabless-workstation",
        "/mnt/exports/tickets/nightly-exports",
        "Asia/Shanghai",
    ],
)
def test_the_secret_detector_passes_ordinary_values(value: str) -> None:
    assert not looks_like_secret(value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux location")
def test_the_documented_linux_location_and_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TABLESS_SITE_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    assert paths.site_config_file() == Path("/etc/xdg/Tabless/site.toml")
    assert "/etc/xdg/Tabless/site.toml" in EXAMPLE.read_text(encoding="utf-8")
    monkeypatch.setenv("TABLESS_SITE_CONFIG", str(tmp_path / "site.toml"))
    assert paths.site_config_file() == tmp_path / "site.toml"
