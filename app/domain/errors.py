"""The documented error tree. Every error carries a code, a message and its context.

TablessError
├── ConfigError            a setting or a system entry is wrong
├── SecretError            the keyring is missing, locked or lacks an entry
├── CacheError             the local database cannot be opened or migrated
└── AdapterError           something went wrong talking to an external system
    ├── AuthError          credentials rejected (401/403)
    ├── UnreachableError   connection refused, DNS, TLS, timeout
    ├── RemoteError        the system answered with an error (5xx, error envelope)
    ├── RateLimitedError   429; ``retry_after`` seconds
    └── DecodeError        the payload is malformed (bad XML/JSON/CSV, wrong encoding)
        └── RecordError    one record is bad; it is quarantined and the batch goes on
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """Where an error happened. Every field optional; filled as far as known."""

    system: str | None = None
    stream: str | None = None
    record_id: str | None = None
    field: str | None = None
    offset: int | None = None
    url: str | None = None

    def describe(self) -> str:
        """``system=zendesk stream=tickets record=42 field=updated_at``."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("system", self.system),
                ("stream", self.stream),
                ("record", self.record_id),
                ("field", self.field),
                ("offset", self.offset),
                ("url", self.url),
            )
            if value is not None
        ]
        return " ".join(parts)


@dataclass(eq=False)
class TablessError(Exception):
    """Base of every error Tabless raises on purpose."""

    message: str
    context: ErrorContext = field(default_factory=ErrorContext)
    code: str = "tabless_error"
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        where = self.context.describe()
        return f"{self.message} ({where})" if where else self.message


@dataclass(eq=False)
class ConfigError(TablessError):
    code: str = "config_error"


@dataclass(eq=False)
class SecretError(TablessError):
    code: str = "secret_error"


@dataclass(eq=False)
class CacheError(TablessError):
    code: str = "cache_error"


@dataclass(eq=False)
class AdapterError(TablessError):
    code: str = "adapter_error"


@dataclass(eq=False)
class AuthError(AdapterError):
    code: str = "auth_rejected"


@dataclass(eq=False)
class UnreachableError(AdapterError):
    code: str = "unreachable"


@dataclass(eq=False)
class RemoteError(AdapterError):
    code: str = "remote_error"
    status_code: int | None = None


@dataclass(eq=False)
class RateLimitedError(RemoteError):
    code: str = "rate_limited"
    retry_after: float | None = None


@dataclass(eq=False)
class DecodeError(AdapterError):
    code: str = "decode_error"


@dataclass(eq=False)
class RecordError(DecodeError):
    code: str = "bad_record"
