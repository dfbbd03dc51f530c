"""Outbox delivery: in order per ticket, with idempotency keys, across restarts.

Transient failures (unreachable, 429, 5xx) keep the action pending and back off; a rejection
(4xx) marks it failed so the agent can retry or discard. Every outcome is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from adapters.base import ActionKind, ActionOutcome, ActionRequest, Adapter
from app.audit import journal
from app.cache import CacheWriter, repo
from app.cache.schema import messages, outbox, tickets
from app.domain import AdapterError, RemoteError, Status, UnreachableError
from app.events import ActionStateChanged, EventBus, TicketsChanged
from app.timeutil import utcnow

log = logging.getLogger(__name__)
RETRY_DELAY_S = 5.0


def _pending(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(outbox, tickets.c.external_id)
            .join(tickets, tickets.c.id == outbox.c.ticket_id)
            .where(outbox.c.state == "pending")
            .order_by(outbox.c.id)
        )
    )


def _settle(
    conn: Connection,
    row: Any,
    outcome: ActionOutcome | None,
    error: str | None,
    final: bool,
    identity: tuple[str, str, str],
    now: datetime,
) -> None:
    """Write the result of one delivery attempt (and its audit record when final)."""
    if outcome is not None:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(state="sent", attempts=row.attempts + 1, last_error=None, updated_at=now)
        )
        local = f"local:{row.action_id}"
        if outcome.remote_id:
            taken = conn.scalar(
                select(messages.c.id).where(
                    messages.c.ticket_id == row.ticket_id,
                    messages.c.external_id == outcome.remote_id,
                )
            )
            if taken:
                conn.execute(
                    delete(messages).where(
                        messages.c.ticket_id == row.ticket_id, messages.c.external_id == local
                    )
                )
            else:
                conn.execute(
                    update(messages)
                    .where(messages.c.ticket_id == row.ticket_id, messages.c.external_id == local)
                    .values(external_id=outcome.remote_id, pending_action_id=None)
                )
        else:
            conn.execute(
                update(messages)
                .where(messages.c.pending_action_id == row.action_id)
                .values(pending_action_id=None)
            )
        if outcome.ticket is not None:
            repo.upsert_tickets(conn, [outcome.ticket], now)
        result = "delivered"
    else:
        state = "failed" if final else "pending"
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(state=state, attempts=row.attempts + 1, last_error=error, updated_at=now)
        )
        if not final:
            return
        result = "failed"
    agent, device_id, version = identity
    journal.append(
        conn,
        agent,
        device_id,
        version,
        action=row.kind,
        system_id=row.system_id,
        ticket_id=row.external_id,
        before=None,
        after={"error": error} if error else None,
        outcome=result,
        action_id=row.action_id,
        now=now,
    )


class OutboxDelivery:
    """Delivers pending outbox rows through the owning system's adapter."""

    def __init__(
        self,
        writer: CacheWriter,
        adapters: Mapping[str, Adapter],
        bus: EventBus,
        identity: tuple[str, str, str],
        on_delivered: Callable[[str], None] | None = None,
    ) -> None:
        self.writer = writer
        self.adapters = adapters
        self.bus = bus
        self.identity = identity
        self._on_delivered = on_delivered
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Deliver now (a new action was recorded)."""
        self._wake.set()

    async def _deliver(self, row: Any) -> bool:
        """One attempt; True when the ticket's later actions may proceed."""
        adapter = self.adapters.get(row.system_id)
        if adapter is None:
            return False
        payload = row.payload
        request = ActionRequest(
            kind=ActionKind(row.kind),
            external_id=row.external_id,
            idempotency_key=row.action_id,
            body=payload.get("body"),
            status=Status(payload["status"]) if "status" in payload else None,
        )
        outcome: ActionOutcome | None = None
        error: str | None = None
        final = False
        try:
            outcome = await adapter.perform(request)
            if not outcome.ok:
                error, final, outcome = outcome.message or "rejected", True, None
        except UnreachableError as exc:
            error = str(exc)
        except RemoteError as exc:
            error = str(exc)
            final = (
                exc.status_code is not None
                and 400 <= exc.status_code < 500
                and (exc.status_code != 429)
            )
        except AdapterError as exc:
            error = str(exc)
        await self.writer.run(_settle, row, outcome, error, final, self.identity, utcnow())
        state = "sent" if outcome else ("failed" if final else "pending")
        self.bus.publish(TicketsChanged(row.system_id, (row.ticket_id,)))
        self.bus.publish(ActionStateChanged(row.action_id, row.ticket_id, state))
        if outcome and self._on_delivered:
            self._on_delivered(row.system_id)
        return outcome is not None or final

    async def deliver_pending(self) -> int:
        """One pass over the outbox; returns how many actions are still pending."""
        with self.writer.cache.engine.connect() as conn:
            rows = _pending(conn)
        blocked: set[int] = set()
        remaining = 0
        for row in rows:
            if row.ticket_id in blocked:  # keep per-ticket order: wait behind the stuck one
                remaining += 1
                continue
            if not await self._deliver(row):
                blocked.add(row.ticket_id)
                remaining += 1
        return remaining

    async def run(self) -> None:
        """Deliver whenever poked, and retry pending actions periodically."""
        while True:
            self._wake.clear()  # before the pass: a poke during the pass is not lost
            try:
                remaining = await self.deliver_pending()
            except Exception:
                log.exception("outbox delivery pass failed")
                remaining = 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=RETRY_DELAY_S if remaining else 60.0
                )
