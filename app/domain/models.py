"""Frozen dataclasses of the unified model. Adapters produce them, the cache stores them.

Adapters build these by the hundred thousand per sync, and a frozen dataclass's generated
``__init__`` writes every field through ``object.__setattr__``, several times the cost of a
plain assignment. :func:`_direct_init` gives each class an ``__init__`` with the same
signature, defaults and default factories that writes the slots through their descriptors
instead; instances stay frozen (``__setattr__`` and ``__delattr__`` still raise).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from app.domain.vocab import MessageKind, Priority, Status

_C = TypeVar("_C", bound=type)


class _Factory:
    """Default of a field with a default factory in a generated signature (as dataclasses)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _direct_init(cls: _C) -> _C:
    """Replace the generated ``__init__`` of frozen slots dataclass ``cls`` (see the docstring)."""
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    params: list[str] = []
    body: list[str] = []
    for item in fields(cls):
        if not item.init or item.kw_only:
            raise TypeError(f"{cls.__name__}.{item.name}: only plain init fields are supported")
        name = item.name
        namespace[f"_set_{name}"] = vars(cls)[name].__set__  # the slot's member descriptor
        if item.default is not MISSING:
            namespace[f"_default_{name}"] = item.default
            params.append(f"{name}=_default_{name}")
        elif item.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = item.default_factory
            params.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _factory_{name}()\n")
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {name})\n")
    source = f"def __init__(self, {', '.join(params)}):\n{''.join(body)}"
    exec(source, namespace)  # noqa: S102 - generated from the field names above, like dataclasses
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    generated = vars(cls)["__init__"]
    init.__doc__ = generated.__doc__
    init.__annotations__ = dict(generated.__annotations__)
    cls.__init__ = init  # type: ignore[misc]
    return cls


@_direct_init
@dataclass(frozen=True, slots=True)
class TicketKey:
    """The one identity of a ticket: the system it lives in and its id there."""

    system_id: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.system_id}:{self.external_id}"


@_direct_init
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


@_direct_init
@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of an attachment; the bytes are fetched only on request."""

    filename: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


@_direct_init
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


@_direct_init
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
