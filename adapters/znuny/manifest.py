"""What the Znuny adapter is, can do and needs to be configured."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DEFAULT_WEBSERVICE = "GenericTicketConnectorSOAP"

MANIFEST = Manifest(
    name="znuny",
    version="1.0.0",
    title="Znuny / OTRS",
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
        ConfigField("base_url", str, title="Znuny address (https://helpdesk.example.com)"),
        ConfigField("username", str, title="Agent login"),
        ConfigField("password", str, title="Agent password", secret=True),
        ConfigField(
            "webservice",
            str,
            default=DEFAULT_WEBSERVICE,
            title="Web service name",
            required=False,
        ),
        ConfigField(
            "page_size", int, default=DEFAULT_PAGE_SIZE, title="Tickets per pull", required=False
        ),
    ),
)
