"""What the Zammad adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 200  # Zammad's ceiling for per_page on ticket search

MANIFEST = Manifest(
    name="zammad",
    version="1.0.0",
    title="Zammad",
    capabilities=frozenset(
        {
            Capability.FULL_SYNC,
            Capability.INCREMENTAL_SYNC,
            Capability.REPLY,
            Capability.INTERNAL_NOTE,
            Capability.STATUS,
        }
    ),
    config=(
        ConfigField("base_url", str, title="Zammad address (https://zammad.example.com)"),
        ConfigField("api_token", str, title="Access token (Profile → Token Access)", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Tickets per search page",
            required=False,
        ),
    ),
)
