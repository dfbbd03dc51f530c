"""Declared settings and connected systems, read from layered sources.

Layers, lowest first: declared defaults < IT site config < user config < environment.
Secrets never appear here: a system entry names its secrets, ``app.secrets`` holds them.
"""

from app.config.schema import SETTINGS, Setting
from app.config.store import Config, SystemEntry, load_config, save_user_config

__all__ = ["SETTINGS", "Config", "Setting", "SystemEntry", "load_config", "save_user_config"]
