"""What the quality-inspection adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest
from adapters.quality.mapping import PASS_SCORE

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 200  # the service refuses larger pages
DEFAULT_TOKEN_LIFETIME_S = 300
MAX_TOKEN_LIFETIME_S = 300  # the service rejects longer-lived tokens
MIN_TOKEN_LIFETIME_S = 60  # tokens are renewed 30 s before expiry; shorter would renew per call

MANIFEST = Manifest(
    name="quality",
    version="0.1.0",
    title="Quality inspection",
    capabilities=frozenset(
        {
            Capability.FULL_SYNC,
            Capability.INCREMENTAL_SYNC,
            # REPLY is "feedback shared with the reviewed agent": a note with visibility
            # "agent". Nothing in QA reaches the customer.
            Capability.REPLY,
            Capability.INTERNAL_NOTE,
            Capability.STATUS,
        }
    ),
    config=(
        ConfigField("base_url", str, title="Service URL (e.g. https://qa.example.com)"),
        ConfigField("client_id", str, title="Client id (the JWT issuer)"),
        ConfigField("jwt_key", str, title="Shared signing key (HS256)", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Inspections per page",
            required=False,
        ),
        ConfigField(
            "token_lifetime_s",
            int,
            default=DEFAULT_TOKEN_LIFETIME_S,
            title="Token lifetime in seconds (60–300)",
            required=False,
        ),
        ConfigField(
            "pass_score",
            int,
            default=PASS_SCORE,
            title="Lowest score tagged qa:pass",
            required=False,
        ),
    ),
)
