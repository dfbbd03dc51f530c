"""Status and priority vocabularies shared by every system."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Unified ticket status; each adapter maps its native values onto these."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def is_waiting(self) -> bool:
        """True while the ticket waits for an agent (counts toward the supervisor's backlog)."""
        return self in (Status.NEW, Status.OPEN)

    @property
    def is_active(self) -> bool:
        """True until the ticket is solved or closed."""
        return self not in (Status.SOLVED, Status.CLOSED)


class Priority(StrEnum):
    """Unified priority; unknown stays ``None`` on the ticket, never a guess."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MessageKind(StrEnum):
    """What a conversation entry is."""

    REPLY = "reply"  # public, visible to the customer
    NOTE = "note"  # internal, agents only
    EVENT = "event"  # system event (status change, assignment…)
