"""Request Tracker (RT 5) over its REST2 API: token auth, TicketSQL search, history, ETags."""

from adapters.rt.adapter import RtAdapter
from adapters.rt.manifest import MANIFEST

__all__ = ["MANIFEST", "RtAdapter"]
