"""Freshdesk: API key as Basic auth, Link-paginated tickets, conversations, custom statuses."""

from adapters.freshdesk.adapter import FreshdeskAdapter
from adapters.freshdesk.manifest import MANIFEST

__all__ = ["MANIFEST", "FreshdeskAdapter"]
