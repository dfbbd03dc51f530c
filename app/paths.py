"""Where Tabless keeps its files on each OS (platformdirs), overridable with TABLESS_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Tabless"


def _home_override() -> Path | None:
    value = os.environ.get("TABLESS_HOME")
    return Path(value) if value else None


def data_dir() -> Path:
    """User data: the cache database, the demo's sandbox files."""
    base = _home_override()
    path = base / "data" if base else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """User configuration (``config.toml``)."""
    base = _home_override()
    path = (
        base / "config" if base else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def site_config_file() -> Path:
    """IT's site configuration: Linux ``/etc/xdg/Tabless/site.toml``, macOS
    ``/Library/Application Support/Tabless/site.toml``, Windows
    ``C:\\ProgramData\\Tabless\\site.toml``. ``TABLESS_SITE_CONFIG`` overrides."""
    override = os.environ.get("TABLESS_SITE_CONFIG")
    if override:
        return Path(override)
    # XDG_CONFIG_DIRS may list several folders (Ubuntu: /etc/xdg/xdg-ubuntu:/etc/xdg): the first
    # that holds a site.toml wins, else the first folder.
    folders = platformdirs.site_config_dir(APP_NAME, appauthor=False, multipath=True)
    candidates = [Path(folder) / "site.toml" for folder in folders.split(os.pathsep) if folder]
    return next((path for path in candidates if path.exists()), candidates[0])
