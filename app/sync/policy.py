"""How often a system is pulled: quick while watched or busy, stretched while idle, backed off
(and the circuit opened) while failing."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Delays (seconds) and thresholds of one coordinator.

    An idle system's delay grows by ``stretch`` per pass without changes, from ``interval_s`` to
    ``idle_max_s``; any change resets it. While a push channel is connected polling is only a
    safety net (``push_interval_s``). ``failure_threshold`` consecutive failures open the
    circuit for ``cooldown_s`` (doubled per re-opening, capped at ``max_cooldown_s``); then one
    trial pull decides.
    """

    interval_s: float = 30.0
    focus_interval_s: float = 5.0
    idle_max_s: float = 600.0
    stretch: float = 2.0
    push_interval_s: float = 900.0
    failure_threshold: int = 5
    max_backoff_s: float = 300.0
    cooldown_s: float = 60.0
    max_cooldown_s: float = 900.0
    push_retry_s: float = 5.0
    push_retry_max_s: float = 300.0

    @classmethod
    def for_interval(cls, interval_s: float) -> PollPolicy:
        """The defaults scaled to a configured base interval (the ``sync_interval_s`` setting)."""
        return cls(
            interval_s=interval_s,
            focus_interval_s=min(5.0, interval_s),
            idle_max_s=max(interval_s, min(600.0, interval_s * 20)),
            push_interval_s=max(interval_s, min(900.0, interval_s * 30)),
            max_backoff_s=max(interval_s, min(300.0, interval_s * 10)),
            cooldown_s=max(interval_s, min(60.0, interval_s * 2)),
            max_cooldown_s=max(interval_s, min(900.0, interval_s * 30)),
        )

    def idle_delay(self, idle_passes: int) -> float:
        """Delay after ``idle_passes`` consecutive passes that found nothing new."""
        growth: float = self.stretch ** min(idle_passes, 30)
        return min(self.idle_max_s, self.interval_s * growth)

    def backoff(self, failures: int) -> float:
        """Jittered exponential delay after ``failures`` consecutive failures."""
        growth: float = 2.0 ** min(failures - 1, 20)
        ceiling = min(self.max_backoff_s, self.interval_s * growth)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    def cooldown(self, trips: int) -> float:
        """How long the circuit stays open after its ``trips``-th consecutive opening."""
        growth: float = 2.0 ** min(trips - 1, 20)
        return min(self.max_cooldown_s, self.cooldown_s * growth)
