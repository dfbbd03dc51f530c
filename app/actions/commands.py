"""The commands an agent can issue. The UI builds them; ``ActionService`` records them."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import Status
from app.registry import ActionKind, Capability


@dataclass(frozen=True, slots=True)
class Reply:
    """A public reply (``public=True``) or an internal note on a cached ticket."""

    ticket_id: int
    body: str
    public: bool = True

    @property
    def kind(self) -> ActionKind:
        return ActionKind.REPLY if self.public else ActionKind.NOTE

    @property
    def capability(self) -> Capability:
        return Capability.REPLY if self.public else Capability.INTERNAL_NOTE


@dataclass(frozen=True, slots=True)
class ChangeStatus:
    """Set a cached ticket's status."""

    ticket_id: int
    status: Status

    @property
    def kind(self) -> ActionKind:
        return ActionKind.SET_STATUS

    @property
    def capability(self) -> Capability:
        return Capability.STATUS


Command = Reply | ChangeStatus
