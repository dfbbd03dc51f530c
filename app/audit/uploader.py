"""Uploads the audit journal to the backend in batches: idempotent, resumable, queued offline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Connection, func, select, update

from app.audit.signature import SigningKey
from app.audit.signing import device_key
from app.audit.wire import from_wire, to_wire
from app.cache import CacheWriter
from app.cache.schema import audit_log
from app.events import AuditUploaded, EventBus

log = logging.getLogger(__name__)
BATCH = 500


def _batch(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(audit_log.c.seq, audit_log.c.record)
            .where(audit_log.c.uploaded.is_(False))
            .order_by(audit_log.c.seq)
            .limit(BATCH)
        )
    )


def _mark(conn: Connection, up_to_seq: int) -> int:
    conn.execute(update(audit_log).where(audit_log.c.seq <= up_to_seq).values(uploaded=True))
    return int(
        conn.scalar(
            select(func.count()).select_from(audit_log).where(audit_log.c.uploaded.is_(False))
        )
        or 0
    )


def _signed(raw: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A record written before records were signed gets the device's signature now (the
    signature is outside the hash, so the chain is unchanged)."""
    if raw.get("signature") is not None:
        return raw
    return to_wire(key.sign(from_wire(raw)))


class AuditUploader:
    """Pushes un-uploaded journal records to ``POST /api/v1/audit/batches``.

    Before the first upload the device registers its public key (``POST /api/v1/devices``);
    the backend checks every record's signature against it.
    """

    def __init__(
        self,
        writer: CacheWriter,
        bus: EventBus,
        backend_url: str,
        token: Callable[[], str],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.writer = writer
        self.bus = bus
        self.backend_url = backend_url.rstrip("/")
        self._token = token
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)
        self._wake = asyncio.Event()
        self._registered = False
        self.last_error: str | None = None

    def poke(self) -> None:
        """Upload now (a record was written)."""
        self._wake.set()

    async def register_device(self) -> bool:
        """Register this device's public key (first registration wins); False on refusal."""
        key = await asyncio.to_thread(device_key)
        response = await self._client.post(
            f"{self.backend_url}/api/v1/devices",
            json={"device_id": self.writer.cache.device_id, "public_key": key.public_key},
            headers={"Authorization": f"Bearer {self._token()}"},
        )
        if response.status_code not in (200, 201):
            self.last_error = f"device registration {response.status_code}: {response.text[:300]}"
            self.bus.publish(AuditUploaded(0, -1, self.last_error))
            return False
        self._registered = True
        return True

    async def upload_pending(self) -> int:
        """Upload everything queued; returns how many records were accepted."""
        accepted = 0
        if not self._registered and not await self.register_device():
            return accepted
        key = await asyncio.to_thread(device_key)
        while True:
            with self.writer.cache.engine.connect() as conn:
                rows = _batch(conn)
            if not rows:
                self.last_error = None
                return accepted
            body = {
                "device_id": self.writer.cache.device_id,
                "records": [_signed(r.record, key) for r in rows],
            }
            response = await self._client.post(
                f"{self.backend_url}/api/v1/audit/batches",
                json=body,
                headers={"Authorization": f"Bearer {self._token()}"},
            )
            if response.status_code != 200:
                self.last_error = f"{response.status_code}: {response.text[:300]}"
                self.bus.publish(AuditUploaded(accepted, len(rows), self.last_error))
                return accepted
            remaining = await self.writer.run(_mark, rows[-1].seq)
            accepted += len(rows)
            self.bus.publish(AuditUploaded(len(rows), remaining))

    async def run(self) -> None:
        """Upload whenever poked, retrying while the backend is unreachable."""
        while True:
            self._wake.clear()  # before the pass: a poke during the pass is not lost
            delay = 30.0
            try:
                await self.upload_pending()
                if self.last_error:
                    delay = 10.0
            except httpx.HTTPError as exc:
                self.last_error = f"backend unreachable: {type(exc).__name__}"
                self.bus.publish(AuditUploaded(0, -1, self.last_error))
                delay = 10.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
