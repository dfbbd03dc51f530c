"""Zendesk Support: OAuth2 client credentials, cursor-based incremental export, comments."""

from adapters.zendesk.adapter import ZendeskAdapter
from adapters.zendesk.manifest import MANIFEST

__all__ = ["MANIFEST", "ZendeskAdapter"]
