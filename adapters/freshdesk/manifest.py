"""What the Freshdesk adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # Freshdesk's ceiling for per_page

MANIFEST = Manifest(
    name="freshdesk",
    version="1.0.0",
    title="Freshdesk",
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
        ConfigField("base_url", str, title="Freshdesk address (https://<domain>.freshdesk.com)"),
        ConfigField("api_key", str, title="API key (Profile settings → API key)", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Tickets per list page",
            required=False,
        ),
    ),
)
