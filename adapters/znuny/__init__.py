"""Znuny / OTRS over the GenericInterface web service GenericTicketConnectorSOAP."""

from adapters.znuny.adapter import ZnunyAdapter
from adapters.znuny.manifest import MANIFEST

__all__ = ["MANIFEST", "ZnunyAdapter"]
