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


class Breaker(StrEnum):
    """Circuit-breaker state: closed (calling), open (cooling down), half-open (one trial)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


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
    stale_since: datetime | None = None  # first failure after the last success
    breaker: Breaker = Breaker.CLOSED
    breaker_open_until: datetime | None = None
    breaker_trips: int = 0  # consecutive openings; each one doubles the cool-down
    next_pull_at: datetime | None = None
    poll_interval_s: float | None = None  # the delay chosen after the last pass
    focused: bool = False
    push_supported: bool = False
    push_connected: bool = False
    requests_skipped: int = 0  # pokes refused while backing off or open

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
