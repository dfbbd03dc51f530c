"""Reading the layered configuration and writing the user's layer (TOML)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from app import paths
from app.config.schema import SETTINGS, SETTINGS_BY_KEY
from app.domain import ConfigError, ErrorContext

ENV_PREFIX = "TABLESS_"
# A settings key that names a secret value (``client_secret``, ``api_token``, ``password``…);
# ``token_lifetime_s`` or ``client_id`` are settings, not secrets.
SECRET_KEY = re.compile(r"(secret|password|passwd|passphrase|token|api_?key|private_?key)$", re.I)


@dataclass(frozen=True, slots=True)
class SystemEntry:
    """One connected system: which adapter, its non-secret settings and its naive-time zone."""

    id: str
    adapter: str
    title: str
    settings: dict[str, Any] = field(default_factory=dict)
    naive_zone: str = "UTC"
    enabled: bool = True

    def to_toml(self) -> dict[str, Any]:
        """The entry as written under ``[systems.<id>]``."""
        return {
            "adapter": self.adapter,
            "title": self.title,
            "naive_zone": self.naive_zone,
            "enabled": self.enabled,
            "settings": dict(self.settings),
        }


@dataclass(slots=True)
class Config:
    """The merged configuration."""

    values: dict[str, Any]
    systems: dict[str, SystemEntry]
    sources: list[Path]

    def get(self, key: str) -> Any:
        """A declared setting's effective value."""
        return self.values[key]


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", ErrorContext(url=str(path))) from exc


def _systems(raw: dict[str, Any], path: Path) -> dict[str, SystemEntry]:
    systems: dict[str, SystemEntry] = {}
    for system_id, entry in (raw.get("systems") or {}).items():
        where = ErrorContext(url=str(path), field=f"systems.{system_id}")
        if not isinstance(entry, dict) or "adapter" not in entry:
            raise ConfigError(f"{path}: [systems.{system_id}] needs an 'adapter' key", where)
        settings = dict(entry.get("settings") or {})
        for key in settings:
            if SECRET_KEY.search(key):
                raise ConfigError(
                    f"{path}: systems.{system_id}.settings.{key} looks like a secret; secrets "
                    "belong in the OS keyring, not in configuration files",
                    where,
                )
        systems[system_id] = SystemEntry(
            id=system_id,
            adapter=str(entry["adapter"]),
            title=str(entry.get("title") or system_id),
            settings=settings,
            naive_zone=str(entry.get("naive_zone") or "UTC"),
            enabled=bool(entry.get("enabled", True)),
        )
    return systems


def user_config_file() -> Path:
    """The user's own layer."""
    return paths.config_dir() / "config.toml"


def load_config(
    *,
    site_file: Path | None = None,
    user_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Merge defaults < site config < user config < ``TABLESS_<KEY>`` environment variables."""
    values = {item.key: item.default for item in SETTINGS}
    systems: dict[str, SystemEntry] = {}
    sources: list[Path] = []
    for path in (site_file or paths.site_config_file(), user_file or user_config_file()):
        raw = _read_toml(path)
        if not raw:
            continue
        sources.append(path)
        for key, value in (raw.get("settings") or {}).items():
            if key not in SETTINGS_BY_KEY:
                raise ConfigError(f"{path}: unknown setting {key!r}", ErrorContext(field=key))
            try:
                values[key] = SETTINGS_BY_KEY[key].coerce(value)
            except ValueError as exc:
                raise ConfigError(f"{path}: {exc}", ErrorContext(field=key)) from None
        systems.update(_systems(raw, path))
    env = os.environ if environ is None else environ
    for key, setting in SETTINGS_BY_KEY.items():
        name = ENV_PREFIX + key.upper()
        if name in env:
            values[key] = setting.coerce(env[name])
    return Config(values=values, systems=systems, sources=sources)


def save_user_config(
    values: dict[str, Any], systems: dict[str, SystemEntry], *, user_file: Path | None = None
) -> Path:
    """Write the user's layer atomically (temp file + rename)."""
    path = user_file or user_config_file()
    document = {
        "settings": {k: v for k, v in values.items() if k in SETTINGS_BY_KEY and v is not None},
        "systems": {sid: entry.to_toml() for sid, entry in systems.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(tomli_w.dumps(document).encode("utf-8"))
    tmp.replace(path)
    return path


def set_user_setting(key: str, value: Any, *, user_file: Path | None = None) -> Path:
    """Change one declared setting in the user's layer, keeping the rest of the file as it is."""
    if key not in SETTINGS_BY_KEY:
        raise ConfigError(f"unknown setting {key!r}", ErrorContext(field=key))
    path = user_file or user_config_file()
    document = _read_toml(path)
    document.setdefault("settings", {})[key] = SETTINGS_BY_KEY[key].coerce(value)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(tomli_w.dumps(document).encode("utf-8"))
    tmp.replace(path)
    return path
