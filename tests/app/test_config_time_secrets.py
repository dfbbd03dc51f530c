"""Layered config, aware-UTC time parsing, the keyring store and redaction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.config import SystemEntry, load_config, save_user_config
from app.domain import ConfigError, SecretError
from app.secrets import MASK, SecretStore, redact
from app.timeutil import iso_z_of, parse_timestamp, to_iso_z


def test_layers_site_then_user_then_environment(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[settings]\nsync_interval_s = 60\nagent_zone = "Asia/Shanghai"\n'
        '[systems.portal]\nadapter = "osticket"\ntitle = "客户门户"\nnaive_zone = "Asia/Shanghai"\n'
        '[systems.portal.settings]\nbase_url = "https://portal.example.cn"\nusername = "api"\n',
        encoding="utf-8",
    )
    user = tmp_path / "user.toml"
    user.write_text("[settings]\nsync_interval_s = 15\n", encoding="utf-8")
    config = load_config(site_file=site, user_file=user, environ={"TABLESS_AGENT_NAME": "li"})
    assert config.get("sync_interval_s") == 15.0
    assert config.get("agent_zone") == "Asia/Shanghai"
    assert config.get("agent_name") == "li"
    assert config.systems["portal"].title == "客户门户"
    assert config.systems["portal"].naive_zone == "Asia/Shanghai"


def test_a_secret_in_a_config_file_is_refused_with_its_location(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[systems.zd]\nadapter = "zendesk"\n[systems.zd.settings]\nclient_secret = "hunter2"\n',
        encoding="utf-8",
    )
    expected = r"systems\.zd\.settings\.client_secret looks like a secret"
    with pytest.raises(ConfigError, match=expected):
        load_config(site_file=site, user_file=tmp_path / "none.toml", environ={})


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "user.toml"
    bad.write_text("[settings\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.toml"):
        load_config(site_file=tmp_path / "none.toml", user_file=bad, environ={})


def test_user_config_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    entry = SystemEntry("zd", "zendesk", "Zendesk", {"base_url": "http://127.0.0.1:1"})
    save_user_config({"agent_name": "王"}, {"zd": entry}, user_file=path)
    config = load_config(site_file=tmp_path / "none.toml", user_file=path, environ={})
    assert config.systems["zd"] == entry
    assert config.get("agent_name") == "王"


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2026-12-03T08:00:00Z", "UTC", datetime(2026, 12, 3, 8, tzinfo=UTC)),
        ("2026-12-03T16:00:00+08:00", "UTC", datetime(2026, 12, 3, 8, tzinfo=UTC)),
        ("2026-12-03 16:00:00", "Asia/Shanghai", datetime(2026, 12, 3, 8, tzinfo=UTC)),
        (1764748800, "UTC", datetime(2025, 12, 3, 8, tzinfo=UTC)),
        (1764748800000, "UTC", datetime(2025, 12, 3, 8, tzinfo=UTC)),
        ("1764748800", "UTC", datetime(2025, 12, 3, 8, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(value: object, zone: str, expected: datetime) -> None:
    parsed = parse_timestamp(value, naive_zone=zone)  # type: ignore[arg-type]
    assert parsed == expected and parsed.tzinfo is UTC
    assert to_iso_z(parsed).endswith("Z")


def test_unreadable_timestamp_names_the_value() -> None:
    with pytest.raises(ValueError, match="'yesterday'"):
        parse_timestamp("yesterday")


def _general_parse(value: str, naive_zone: str) -> datetime:
    """The general path of ``parse_timestamp`` (no fast path): the reference it must match."""
    text = value.strip()
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(naive_zone))
    return parsed.astimezone(UTC)


TRICKY_TIMESTAMPS = [
    "2026-03-08 02:30:00",  # in New York's spring-forward gap
    "2026-11-01 01:30:00",  # in New York's fall-back fold
    "2026-11-01T01:30:00.250",
    "2026-11-04",  # a date only: fromisoformat("…+00:00") would silently drop the offset
    "2026-W45-1",
    "2026-11-04T17",
    "2026-11-04T17:10:17Z",
    "2026-11-04T17:10:17z",
    " 2026-11-04 17:10:17 ",
    "2026-11-04T17:10:17+05:45",
    "2026-11-04T17:10:17-0330",
    "2026-11-04 17:10:17Z",
    "0001-01-01 12:00:00",
]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Shanghai", "Etc/GMT+12"])
@pytest.mark.parametrize("value", TRICKY_TIMESTAMPS)
def test_fast_path_reads_like_the_general_path(value: str, zone: str) -> None:
    expected = _general_parse(value, zone)
    parsed = parse_timestamp(value, naive_zone=zone)
    assert parsed == expected and parsed.tzinfo is UTC and parsed.fold == expected.fold


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 3, 14, 51, 40, 999_999, tzinfo=UTC),
        datetime(2026, 12, 3, 22, 51, 40, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
)
def test_iso_z_is_the_strftime_format(moment: datetime) -> None:
    assert to_iso_z(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_secrets_round_trip_in_the_real_keyring(real_keyring: str) -> None:
    store = SecretStore(service="tabless-test")
    store.set("zd", "client_secret", "s3cr3t-值")
    assert store.get("zd", "client_secret") == "s3cr3t-值"
    assert "s3cr3t" not in repr(store.getter("zd"))
    store.delete("zd", "client_secret")
    with pytest.raises(SecretError, match="no secret 'client_secret'"):
        store.get("zd", "client_secret")


def test_redaction_masks_secrets_and_bearer_tokens() -> None:
    text = redact("token=abc123456 Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y", ["abc123456"])
    assert "abc123456" not in text and "eyJhbGci" not in text and MASK in text


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
@pytest.mark.parametrize(
    "value",
    [*TRICKY_TIMESTAMPS, "2026-11-04T17:10:17", "2026-13-04 17:10:17", "0999-01-01 00:00:00"],
)
def test_iso_z_of_text_is_to_iso_z_of_the_parsed_time(value: str, zone: str) -> None:
    try:
        expected: str | type[Exception] = to_iso_z(parse_timestamp(value, naive_zone=zone))
    except (ValueError, OverflowError) as exc:
        expected = type(exc)
    if isinstance(expected, str):
        assert iso_z_of(value, naive_zone=zone) == expected
    else:
        with pytest.raises(expected):
            iso_z_of(value, naive_zone=zone)
