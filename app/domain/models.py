"""Frozen dataclasses of the unified model. Adapters produce them, the cache stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.vocab import MessageKind, Priority, Status


@dataclass(frozen=True, slots=True)
class TicketKey:
    """The one identity of a ticket: the system it lives in and its id there."""

    system_id: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.system_id}:{self.external_id}"


@dataclass(frozen=True, slots=True)
class Person:
    """A requester or an assignee as one system knows them. Unknown fields stay ``None``."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None

    @property
    def display(self) -> str:
        """Best human-readable label."""
        return self.name or self.email or self.phone or self.external_id or ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of an attachment; the bytes are fetched only on request."""

    filename: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One entry of a ticket's conversation."""

    external_id: str
    kind: MessageKind
    body_text: str
    created_at: datetime  # aware UTC
    author: Person | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def public(self) -> bool:
        """True for what the customer sees."""
        return self.kind is MessageKind.REPLY


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket of one system, normalized. ``messages`` may be empty when not fetched."""

    key: TicketKey
    subject: str
    status: Status
    native_status: str
    created_at: datetime  # aware UTC
    updated_at: datetime  # aware UTC
    priority: Priority | None = None
    requester: Person | None = None
    assignee: Person | None = None
    queue: str | None = None
    tags: tuple[str, ...] = ()
    deleted: bool = False
    messages: tuple[Message, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)  # system-specific facts worth showing
