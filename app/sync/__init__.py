"""Sync: one coordinator per connected system, committing cursors; health per system."""

from app.sync.coordinator import SystemCoordinator
from app.sync.engine import SyncEngine
from app.sync.health import Health, HealthPolicy, Light

__all__ = ["Health", "HealthPolicy", "Light", "SyncEngine", "SystemCoordinator"]
