"""Health of one system and its traffic light: green synced, amber slow or stale, red down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Light(StrEnum):
    """The status-bar light of a system."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"  # first sync still running


class Reason(StrEnum):
    """Why the light has its colour; the UI turns these into translated sentences."""

    SYNCED = "synced"
    FIRST_SYNC = "first_sync"
    SLOW = "slow"
    STALE = "stale"
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """Thresholds for amber."""

    stale_after_s: float = 300.0
    slow_after_ms: float = 2000.0


@dataclass(slots=True)
class Health:
    """What the coordinator knows about its system right now."""

    system_id: str
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    last_error_at: datetime | None = None
    last_latency_ms: float | None = None
    consecutive_failures: int = 0
    first_sync_done: bool = False
    syncing: bool = False
    tickets_cached: int = 0

    def assess(self, now: datetime, policy: HealthPolicy) -> tuple[Light, Reason]:
        """The light and its reason at ``now``."""
        failing = self.consecutive_failures > 0 and self.last_error is not None
        if failing:
            if self.last_error_code == "auth_rejected":
                return Light.RED, Reason.AUTH
            if self.last_error_code == "unreachable":
                return Light.RED, Reason.UNREACHABLE
            return Light.RED, Reason.ERROR
        if not self.first_sync_done:
            return Light.GREY, Reason.FIRST_SYNC
        if self.last_success_at and (now - self.last_success_at).total_seconds() > (
            policy.stale_after_s
        ):
            return Light.AMBER, Reason.STALE
        if self.last_latency_ms is not None and self.last_latency_ms > policy.slow_after_ms:
            return Light.AMBER, Reason.SLOW
        return Light.GREEN, Reason.SYNCED
