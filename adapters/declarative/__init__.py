"""Adapters defined by a mapping file (TOML) instead of Python: see docs/declarative-adapters.md."""

from adapters.declarative.adapter import DeclarativeAdapter
from adapters.declarative.loader import load_spec
from adapters.declarative.manifest import MANIFEST

__all__ = ["MANIFEST", "DeclarativeAdapter", "load_spec"]
