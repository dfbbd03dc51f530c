"""Why the backend refuses a request, in the project's error tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.errors import TablessError


@dataclass(eq=False)
class BackendRefusal(TablessError):
    """A request the backend refuses on purpose; answered as ``status_code`` with :meth:`body`."""

    code: str = "refused"
    status_code: int = 400

    def body(self) -> dict[str, Any]:
        """The JSON error body: ``{"detail": {"error", "message", **details}}``."""
        return {"detail": {"error": self.code, "message": self.message, **self.details}}


@dataclass(eq=False)
class AuditRejected(BackendRefusal):
    """An upload that cannot be stored; nothing of its batch was.

    ``code`` says what is wrong (``chain_gap``, ``chain_fork``, ``hash_mismatch``,
    ``bad_signature``, ...), ``details`` names the device, seq and record.
    """

    code: str = "audit_rejected"
    status_code: int = 409


@dataclass(eq=False)
class AccessDenied(BackendRefusal):
    """The caller's role or permission groups do not allow the request (403)."""

    code: str = "forbidden"
    status_code: int = 403


@dataclass(eq=False)
class NotFound(BackendRefusal):
    """No such thing, or none the caller may see (404: existence is not revealed)."""

    code: str = "not_found"
    status_code: int = 404


@dataclass(eq=False)
class Conflict(BackendRefusal):
    """The request contradicts stored state (409)."""

    code: str = "conflict"
    status_code: int = 409


@dataclass(eq=False)
class StepUpRequired(BackendRefusal):
    """A sensitive operation without a valid step-up grant (403 ``step_up_required``).

    ``details``: ``operation`` and ``reason`` (``missing``, ``unknown``, ``other_operation``,
    ``used``, ``expired``).
    """

    code: str = "step_up_required"
    status_code: int = 403
