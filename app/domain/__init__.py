"""The unified domain model: tickets, messages, people; vocabularies; the error tree."""

from app.domain.errors import (
    AdapterError,
    AuthError,
    CacheError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RateLimitedError,
    RecordError,
    RemoteError,
    SecretError,
    TablessError,
    UnreachableError,
)
from app.domain.models import Attachment, Message, Person, Ticket, TicketKey, replace
from app.domain.vocab import MessageKind, Priority, Status

__all__ = [
    "AdapterError",
    "Attachment",
    "AuthError",
    "CacheError",
    "ConfigError",
    "DecodeError",
    "ErrorContext",
    "Message",
    "MessageKind",
    "Person",
    "Priority",
    "RateLimitedError",
    "RecordError",
    "RemoteError",
    "SecretError",
    "Status",
    "TablessError",
    "Ticket",
    "TicketKey",
    "UnreachableError",
    "replace",
]
