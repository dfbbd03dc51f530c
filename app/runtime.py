"""The workstation core, assembled: config, cache, adapters, sync, actions, audit upload.

The Qt window is one client of this object; tests and scripts drive it without a display.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__, paths
from app.actions import ActionService, Identity, OutboxDelivery
from app.audit.uploader import AuditUploader
from app.cache import Cache, CacheWriter, open_cache, retention  # not on the loop later
from app.config import Config, SystemEntry, load_config
from app.domain import TablessError
from app.events import EventBus
from app.registry import Adapter, Capability, build_adapter
from app.secrets import SecretStore
from app.sync import HealthPolicy, SyncEngine

if TYPE_CHECKING:
    from app.audit.journal import EventKind

log = logging.getLogger(__name__)
BACKEND_TOKEN_KEY = "backend_token"  # noqa: S105 - a keyring entry name, not a secret
BACKEND_SECRET_OWNER = "backend"  # noqa: S105 - the keyring owner of that entry
HOUSEKEEPING_EVERY_S = 3600.0


@dataclass
class Workstation:
    """Everything the agent's session runs, without Qt."""

    config: Config
    cache: Cache
    secrets: SecretStore
    bus: EventBus = field(default_factory=EventBus)
    adapters: dict[str, Adapter] = field(default_factory=dict)
    failed_systems: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.writer = CacheWriter(self.cache)
        for system_id, entry in self.config.systems.items():
            if not entry.enabled:
                continue
            try:
                self.adapters[system_id] = build_adapter(entry, self.secrets)
            except TablessError as exc:  # one broken entry never stops the others
                log.error("system %s cannot start: %s", system_id, exc)
                self.failed_systems[system_id] = str(exc)
        self.policy = HealthPolicy(
            stale_after_s=float(self.config.get("stale_after_s")),
            slow_after_ms=float(self.config.get("slow_after_ms")),
        )
        self.sync = SyncEngine(
            self.adapters.values(),
            self.writer,
            self.bus,
            interval_s=float(self.config.get("sync_interval_s")),
        )
        self.identity = Identity(
            agent=str(self.config.get("agent_name")),
            device_id=self.cache.device_id,
            client_version=__version__,
        )
        self.delivery = OutboxDelivery(
            self.writer,
            self.adapters,
            self.bus,
            (self.identity.agent, self.identity.device_id, self.identity.client_version),
            on_delivered=self._after_delivery,
        )
        self.actions = ActionService(
            self.writer,
            self.bus,
            self.identity,
            self.capabilities,
            on_recorded=self._after_record,
        )
        backend_url = str(self.config.get("backend_url") or "")
        self.uploader: AuditUploader | None = None
        if backend_url:
            self.uploader = AuditUploader(
                self.writer,
                self.bus,
                backend_url,
                lambda: self.secrets.get(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY),
            )
        self._tasks: list[asyncio.Task[None]] = []

    def entry(self, system_id: str) -> SystemEntry:
        """The configuration entry of a system."""
        return self.config.systems[system_id]

    def title(self, system_id: str) -> str:
        """The display title of a system."""
        entry = self.config.systems.get(system_id)
        return entry.title if entry else system_id

    def capabilities(self, system_id: str) -> frozenset[Capability]:
        """What the system's adapter can do (nothing when it failed to start)."""
        adapter = self.adapters.get(system_id)
        return adapter.manifest.capabilities if adapter else frozenset()

    async def apply_system(self, entry: SystemEntry) -> None:
        """Start (or restart with its new settings) a system saved in the Accounts dialog."""
        await self.drop_system(entry.id)
        self.config.systems[entry.id] = entry
        if not entry.enabled:
            return
        try:
            adapter = build_adapter(entry, self.secrets)
        except TablessError as exc:
            log.error("system %s cannot start: %s", entry.id, exc)
            self.failed_systems[entry.id] = str(exc)
            return
        self.adapters[entry.id] = adapter
        self.sync.add(adapter)

    async def drop_system(self, system_id: str, *, forget: bool = False) -> None:
        """Stop a system's sync and close its adapter; ``forget``: it was removed, too."""
        await self.sync.remove(system_id)
        self.adapters.pop(system_id, None)
        self.failed_systems.pop(system_id, None)
        if forget:
            self.config.systems.pop(system_id, None)

    async def record_event(
        self,
        event: EventKind,
        *,
        system_id: str | None = None,
        ticket_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit a non-command event (sign-in/out, settings, reveal, export) and upload it.

        ``details``/``before`` must never hold a secret: settings changes pass key names and
        non-secret values only. A failure to write is logged, never raised at the caller.
        """
        from functools import partial

        from app.audit import journal
        from app.timeutil import utcnow

        write = partial(
            journal.record_event,
            agent=self.identity.agent,
            device_id=self.identity.device_id,
            client_version=self.identity.client_version,
            event=event,
            now=utcnow(),
            system_id=system_id,
            ticket_id=ticket_id,
            details=details,
            before=before,
        )
        try:
            await self.writer.run(write)
        except Exception:  # auditing must not take the action down; it is logged for IT
            log.exception("could not audit %s", event)
            return
        if self.uploader:
            self.uploader.poke()

    def _after_record(self, system_id: str) -> None:
        self.delivery.poke()
        if self.uploader:
            self.uploader.poke()

    def _after_delivery(self, system_id: str) -> None:
        self.sync.poke(system_id)
        if self.uploader:
            self.uploader.poke()

    def _sweep_staged_files(self) -> int:
        """Remove attachment copies of actions no longer waiting (a crash before commit)."""
        from sqlalchemy import select

        from app.actions import outgoing
        from app.cache.schema import outbox

        with self.cache.engine.connect() as conn:
            waiting = conn.scalars(
                select(outbox.c.action_id).where(outbox.c.state.not_in(("sent", "discarded")))
            )
            return outgoing.sweep(list(waiting))

    async def _housekeeping(self) -> None:
        """Prune closed tickets past the retention age, then compact; hourly, off the loop."""
        from datetime import timedelta

        from app.timeutil import utcnow

        age = timedelta(days=float(self.config.get("retention_days")))
        try:
            await asyncio.to_thread(self._sweep_staged_files)
        except Exception:  # housekeeping must never take the session down
            log.exception("could not sweep staged attachment files")
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY_S)
            try:
                pruned = await self.writer.run(retention.prune, age, utcnow())
                log.info("retention: %s", pruned)
                await asyncio.to_thread(retention.compact, self.cache.engine)
            except Exception:  # housekeeping must never take the session down
                log.exception("housekeeping failed")

    def start(self) -> None:
        """Start sync, delivery, audit upload and housekeeping in the running loop."""
        self._tasks.append(
            asyncio.create_task(
                self.record_event("sign_in", details={"systems": sorted(self.adapters)}),
                name="audit-sign-in",
            )
        )
        self.sync.start()
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        self._tasks.append(asyncio.create_task(self.delivery.run(), name="outbox"))
        if self.uploader:
            self._tasks.append(asyncio.create_task(self.uploader.run(), name="audit-upload"))

    async def stop(self) -> None:
        """Stop every task, close clients, finish writes (the sign-out is audited first)."""
        await self.record_event("sign_out")
        await self.sync.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.uploader:
            await self.uploader.aclose()
        self.writer.close()

    def close(self) -> None:
        """Release the database."""
        self.cache.close()


def open_workstation(
    *,
    config: Config | None = None,
    cache_path: Path | None = None,
    secrets: SecretStore | None = None,
) -> Workstation:
    """Load the configuration, open (and migrate) the cache, build the adapters."""
    config = config or load_config()
    store = secrets or SecretStore()
    cache = open_cache(cache_path or paths.data_dir() / "cache.sqlite3")
    return Workstation(config=config, cache=cache, secrets=store)
