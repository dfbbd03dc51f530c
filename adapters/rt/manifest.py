"""What the Request Tracker adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100  # RT::REST2 caps per_page at 100

MANIFEST = Manifest(
    name="rt",
    version="1.0.0",
    title="Request Tracker",
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
        ConfigField("base_url", str, title="RT address (https://rt.example.com)"),
        ConfigField("username", str, title="RT user the token belongs to"),
        ConfigField("token", str, title="RT auth token (RT::Authen::Token)", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Tickets per search page",
            required=False,
        ),
    ),
)
