"""The unified model: immutable values that adapters produce and the cache stores.

Adapters build these by the hundred thousand per sync, so they are ``msgspec`` structs rather
than dataclasses: one is built by C code in about a quarter of the time a frozen slots
dataclass's ``__init__`` takes, and with ``gc=False`` none is tracked by the cyclic garbage
collector, whose passes otherwise traverse every ticket of a large batch, and of the cache's
working set, again and again. They hold no reference cycles (values, tuples of values and one
``dict`` of strings), which is what ``gc=False`` requires. Semantics are a frozen dataclass's:
positional or keyword arguments in field order, defaults and default factories, equality and
hashing by value, ``repr``, pickling and copying; :func:`replace` is ``dataclasses.replace``.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct, field
from msgspec.structs import replace

from app.domain.vocab import MessageKind, Priority, Status

__all__ = ["Attachment", "Message", "Person", "Ticket", "TicketKey", "replace"]


class TicketKey(Struct, frozen=True, gc=False):
    """The one identity of a ticket: the system it lives in and its id there."""

    system_id: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.system_id}:{self.external_id}"


class Person(Struct, frozen=True, gc=False):
    """A requester or an assignee as one system knows them. Unknown fields stay ``None``."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None

    @property
    def display(self) -> str:
        """Best human-readable label."""
        return self.name or self.email or self.phone or self.external_id or ""


class Attachment(Struct, frozen=True, gc=False):
    """Metadata of an attachment; the bytes are fetched only on request."""

    filename: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


class Message(Struct, frozen=True, gc=False):
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


class Ticket(Struct, frozen=True, gc=False):
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
