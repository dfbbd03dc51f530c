"""Why the backend refuses a request, in the project's error tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.errors import TablessError


@dataclass(eq=False)
class AuditRejected(TablessError):
    """An upload that cannot be stored; nothing of its batch was.

    ``code`` says what is wrong (``chain_gap``, ``chain_fork``, ``hash_mismatch``, ...),
    ``details`` names the device, seq and record.
    """

    code: str = "audit_rejected"
    status_code: int = 409

    def body(self) -> dict[str, Any]:
        """The JSON error body: ``{"detail": {"error", "message", "device_id", "seq", ...}}``."""
        return {"detail": {"error": self.code, "message": self.message, **self.details}}
