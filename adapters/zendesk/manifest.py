"""What the Zendesk adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # Zendesk's ceiling for the incremental export

MANIFEST = Manifest(
    name="zendesk",
    version="1.0.0",
    title="Zendesk Support",
    capabilities=frozenset(
        {
            Capability.FULL_SYNC,
            Capability.INCREMENTAL_SYNC,
            Capability.REPLY,
            Capability.INTERNAL_NOTE,
            Capability.STATUS,
            Capability.ASSIGN,
            Capability.TAGS,
            Capability.ATTACHMENTS,  # uploads with replies; fetch_attachment
        }
    ),
    config=(
        ConfigField("base_url", str, title="Zendesk address (https://<subdomain>.zendesk.com)"),
        ConfigField(
            "auth",
            str,
            default="client_credentials",
            title="Sign-in: client_credentials, or authorization_code (a person signs in "
            "through the browser)",
            required=False,
        ),
        ConfigField("client_id", str, title="OAuth client id"),
        ConfigField("client_secret", str, title="OAuth client secret", secret=True),
        ConfigField(
            "page_size",
            int,
            default=DEFAULT_PAGE_SIZE,
            title="Tickets per export page",
            required=False,
        ),
    ),
)
