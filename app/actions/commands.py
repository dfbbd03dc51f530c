"""The commands an agent can issue. The UI builds them; ``ActionService`` records them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.domain import Person, Status
from app.registry import ActionKind, Capability


@dataclass(frozen=True, slots=True)
class Reply:
    """A public reply (``public=True``) or an internal note on a cached ticket."""

    ticket_id: int
    body: str
    public: bool = True
    attachments: tuple[Path, ...] = ()  # files to attach, copied into the outbox on submit

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


@dataclass(frozen=True, slots=True)
class Assign:
    """Give a cached ticket to ``assignee`` (matched by e-mail or the system's id); None:
    unassign."""

    ticket_id: int
    assignee: Person | None

    @property
    def kind(self) -> ActionKind:
        return ActionKind.ASSIGN

    @property
    def capability(self) -> Capability:
        return Capability.ASSIGN


@dataclass(frozen=True, slots=True)
class ChangeTags:
    """Add and remove tags of a cached ticket (the others stay)."""

    ticket_id: int
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def kind(self) -> ActionKind:
        return ActionKind.SET_TAGS

    @property
    def capability(self) -> Capability:
        return Capability.TAGS


Command = Reply | ChangeStatus | Assign | ChangeTags
