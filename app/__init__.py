"""Tabless core: domain, cache, sync, actions, audit and config. Never imports Qt."""

__version__ = "0.1.0"
