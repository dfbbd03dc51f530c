"""Sync: one coordinator per connected system, committing cursors; health per system."""

from app.sync.coordinator import SystemCoordinator
from app.sync.engine import SyncEngine
from app.sync.health import Breaker, Health, HealthPolicy, Light
from app.sync.policy import PollPolicy

__all__ = [
    "Breaker",
    "Health",
    "HealthPolicy",
    "Light",
    "PollPolicy",
    "SyncEngine",
    "SystemCoordinator",
]
