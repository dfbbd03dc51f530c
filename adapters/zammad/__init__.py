"""Zammad: token auth, ticket search by updated_at, articles (HTML to text), tags, states."""

from adapters.zammad.adapter import ZammadAdapter
from adapters.zammad.manifest import MANIFEST

__all__ = ["MANIFEST", "ZammadAdapter"]
