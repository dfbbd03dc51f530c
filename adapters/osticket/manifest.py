"""What the ``osticket`` adapter is, can do, and needs to connect."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100  # the portal caps ``limit`` at 100

MANIFEST = Manifest(
    name="osticket",
    version="0.1.0",
    title="Customer portal (osTicket)",
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
        ConfigField("base_url", str, title="Portal address, e.g. https://portal.example.cn"),
        ConfigField("username", str, title="User name"),
        ConfigField("password", str, title="Password", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Tickets per page (1-100)",
            required=False,
        ),
    ),
)
"""Naive portal times are read in the system's configured zone (``AdapterContext.naive_zone``);
the portal writes Asia/Shanghai, so configure that zone for it."""
