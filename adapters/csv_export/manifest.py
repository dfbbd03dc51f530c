"""What the ``csv`` adapter is: read-only, full and incremental sync of an export folder."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

MANIFEST = Manifest(
    name="csv",
    version="1.0.0",
    title="Nightly CSV export",
    capabilities=frozenset({Capability.FULL_SYNC, Capability.INCREMENTAL_SYNC}),
    config=(
        ConfigField("folder", str, title="Export folder (local path or mounted share)"),
        ConfigField("pattern", str, default="*.csv", title="File name pattern", required=False),
        ConfigField(
            "delimiter",
            str,
            default=None,
            title="Delimiter (empty: detect comma, tab or semicolon; 'tab' for a tab)",
            required=False,
        ),
    ),
)
