"""The adapter contract: manifest, capabilities, config schema, check, pull and perform.

Pure dataclasses over :mod:`app.domain`, so the core (``app.registry``, the sync engine, the
outbox) depends on the contract without importing any adapter; adapters import it as
:mod:`adapters.base`, which re-exports it.

An adapter translates and keeps no state. The sync engine hands it a cursor (an opaque string
it returned before, or ``None`` for a full sync) and gets back records plus the next cursor.
It never touches SQLite, Qt or the UI.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

from app.domain import Attachment, Message, Person, RecordError, Status, Ticket


class Capability(StrEnum):
    """What an adapter can do; the UI enables actions from these."""

    FULL_SYNC = "full_sync"
    INCREMENTAL_SYNC = "incremental_sync"
    PUSH = "push"
    REPLY = "reply"
    INTERNAL_NOTE = "internal_note"
    STATUS = "status"
    ASSIGN = "assign"
    TAGS = "tags"
    ATTACHMENTS = "attachments"
    CUSTOMER_LOOKUP = "customer_lookup"


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One declared setting of an adapter. ``secret`` values live only in the keyring."""

    key: str
    type: type = str
    default: Any = None
    title: str = ""
    secret: bool = False
    required: bool = True


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an adapter is and can do."""

    name: str
    version: str
    title: str
    capabilities: frozenset[Capability]
    config: tuple[ConfigField, ...] = ()

    def field(self, key: str) -> ConfigField:
        """The declared field ``key``."""
        for item in self.config:
            if item.key == key:
                return item
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of ``Adapter.check()``, readable by a person ("401 — the API token was rejected")."""

    ok: bool
    message: str
    latency_ms: float | None = None


DriftKind = Literal["unknown_field", "missing_field", "new_value"]


@dataclass(frozen=True, slots=True)
class Drift:
    """Schema drift the adapter tolerated: a field it does not know, an expected field that was
    missing, or a value it has no mapping for. Stored per system and reported to IT."""

    stream: str
    field: str
    kind: DriftKind
    record_id: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class PullResult:
    """One page of a pull: records to upsert, records that failed, and the next cursor.

    ``cursor`` is committed by the sync engine in the same transaction as ``tickets``.
    ``has_more`` asks the engine to pull again right away with the new cursor.
    """

    tickets: list[Ticket]
    cursor: str | None
    has_more: bool = False
    quarantined: list[RecordError] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)


class ActionKind(StrEnum):
    """Agent actions an adapter may perform."""

    REPLY = "reply"
    NOTE = "note"
    SET_STATUS = "set_status"
    ASSIGN = "assign"
    SET_TAGS = "set_tags"


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file the agent attached to a reply or note, staged on disk until it is delivered."""

    path: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """An agent action to deliver to the system that owns ``external_id``."""

    kind: ActionKind
    external_id: str
    idempotency_key: str
    body: str | None = None
    status: Status | None = None
    assignee: Person | None = None
    """ASSIGN: who takes the ticket (matched by ``email`` or the system's ``external_id``);
    None unassigns it."""
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    """SET_TAGS: tags to add and to remove (others stay as the system has them)."""
    attachments: tuple[OutgoingFile, ...] = ()
    """REPLY/NOTE: files to attach (adapters with ``Capability.ATTACHMENTS`` upload them)."""


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What the system answered; ``ticket`` is the remote state after the action, when known."""

    ok: bool
    message: str = ""
    remote_id: str | None = None
    ticket: Ticket | None = None
    created_messages: tuple[Message, ...] = ()


SAVED_PART = "part"
"""``DecodeError.details`` key of ``Adapter.decode_saved``: the index of the unreadable body."""

SecretGetter = Callable[[str], str]
"""Returns the secret named by a config field key for this system; raises ``SecretError``."""


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """Everything an adapter instance needs: its system id, settings, secrets and zone."""

    system_id: str
    settings: Mapping[str, Any]
    secret: SecretGetter
    naive_zone: str = "UTC"
    store_secret: Callable[[str, str], None] | None = None
    """Writes a secret of this system to the keyring (renewed OAuth tokens); None: read-only."""


class Adapter(abc.ABC):
    """Base class of every adapter. Subclasses set ``manifest`` and implement the coroutines."""

    manifest: ClassVar[Manifest]

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @property
    def system_id(self) -> str:
        """The id of the connected system this instance talks to."""
        return self.context.system_id

    @abc.abstractmethod
    async def check(self) -> CheckResult:
        """Connect, authenticate and report in words a person can act on. Never raises."""

    @abc.abstractmethod
    async def pull(self, cursor: str | None) -> PullResult:
        """Fetch the next page after ``cursor`` (``None``: from the beginning)."""

    async def perform(self, action: ActionRequest) -> ActionOutcome:
        """Deliver ``action``; adapters without write capabilities keep this default."""
        return ActionOutcome(ok=False, message=f"{self.manifest.title} is read-only")

    def listen(self, cursor: str | None) -> AsyncIterator[None] | None:
        """Optional push channel (SSE, websocket, long-poll): yields when something changed.

        Implement it as an ``async def`` generator that yields once per "something changed,
        pull now" signal and raises a typed error (or ends) when the channel drops; the sync
        engine then pulls at once and falls back to polling until the channel is back. The
        default ``None`` means the system has no push channel: the engine only polls.
        """
        return None

    async def find_delivered(self, action: ActionRequest) -> ActionOutcome | None:
        """Optional read-back: the outcome of ``action`` if an earlier attempt reached the system.

        Called before re-sending an action whose previous attempt's outcome is unknown (timeout,
        5xx, crash) on systems without idempotency keys. ``None`` (the default): not found or
        cannot tell; the action is sent again (with its idempotency key).
        """
        return None

    async def fetch_attachment(self, attachment: Attachment) -> bytes:
        """Optional: the bytes of a cached attachment (the UI offers Save/Open where an adapter
        overrides this; ``Capability.ATTACHMENTS`` means uploading files with replies).

        Called only when the agent asks to save or open it. Raise a typed error (``AuthError``,
        ``RemoteError``…) naming the attachment when it cannot be fetched; the caller never
        executes what it gets. The default: this system cannot download attachments.
        """
        raise NotImplementedError(f"{self.manifest.title} cannot download attachments")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release network clients."""

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Map saved API responses (a page, a ticket, its comments…) with no network.

        For IT (``tabless adapter decode``): the bodies are given as saved, in any order; an
        adapter reads what it recognises and raises ``DecodeError`` naming the file's part it
        cannot read (its index in ``payloads`` as ``details[SAVED_PART]``, so the caller can
        name the file and decode the others). Adapters that do not override this cannot
        decode saved files.
        """
        raise NotImplementedError(f"adapter {cls.manifest.name!r} cannot decode saved files")
