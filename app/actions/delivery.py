"""Outbox delivery: in order per ticket, exactly once, across restarts and crashes.

Each attempt is first committed (``attempts + 1``) and only then sent, so after a timeout, a 5xx
or a kill the outbox knows the outcome is unknown: before sending again it asks the adapter to
read back (``Adapter.find_delivered``) and otherwise relies on the action's idempotency key.
Transient failures (unreachable, 429, 5xx) keep the action pending and back off; a rejection
(4xx) marks it failed until the agent retries or discards it. A remote change since the agent
saw the ticket stops the action as a conflict. A failed or conflicting action holds back the
later actions of its ticket. Every final outcome is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from app.actions import outgoing
from app.actions.conflicts import advance_seen, snapshot
from app.audit import journal
from app.cache import CacheWriter, repo
from app.cache.schema import messages, outbox, tickets
from app.domain import AdapterError, Person, RemoteError, Status, UnreachableError
from app.events import ActionStateChanged, EventBus, TicketsChanged
from app.registry import ActionKind, ActionOutcome, ActionRequest, Adapter
from app.timeutil import utcnow

log = logging.getLogger(__name__)
RETRY_DELAY_S = 5.0
IDLE_DELAY_S = 60.0
OPEN_STATES = ("pending", "failed", "conflict")  # rows that still hold their ticket's queue


def _queue(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(outbox, tickets.c.external_id)
            .join(tickets, tickets.c.id == outbox.c.ticket_id)
            .where(outbox.c.state.in_(OPEN_STATES))
            .order_by(outbox.c.id)
        )
    )


def _begin_attempt(conn: Connection, row_id: int, now: datetime) -> tuple[Any, bool]:
    """Re-read the row; stop it as a conflict, or commit the attempt before it is sent.

    Returns the fresh row (as it was before this attempt) and whether it conflicts: the remote
    ticket changed since the agent saw it.
    """
    row = conn.execute(
        select(outbox, tickets.c.external_id)
        .join(tickets, tickets.c.id == outbox.c.ticket_id)
        .where(outbox.c.id == row_id)
    ).one()
    if row.state != "pending":
        return row, False
    conflict = snapshot(conn, row, now)
    if conflict is not None:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(state="conflict", conflict=conflict, updated_at=now)
        )
        return row, True
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row.id)
        .values(attempts=row.attempts + 1, updated_at=now)
    )
    return row, False


def _adopt_remote_copy(conn: Connection, row: Any, outcome: ActionOutcome) -> None:
    """The local optimistic message becomes (or yields to) the system's copy."""
    if outcome.remote_id:
        local = f"local:{row.action_id}"
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
            .values(state="sent", last_error=None, updated_at=now)
        )
        _adopt_remote_copy(conn, row, outcome)
        seen = now
        if outcome.ticket is not None:
            repo.upsert_tickets(conn, [outcome.ticket], now)
            seen = max(now, outcome.ticket.updated_at)
        advance_seen(conn, row.ticket_id, row.id, seen)
        result = "delivered"
    else:
        state = "failed" if final else "pending"
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(state=state, last_error=error, updated_at=now)
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


def request_of(row: Any) -> ActionRequest:
    """The adapter request of an outbox row (its action id is the idempotency key)."""
    payload = row.payload
    return ActionRequest(
        kind=ActionKind(row.kind),
        external_id=row.external_id,
        idempotency_key=row.action_id,
        body=payload.get("body"),
        status=Status(payload["status"]) if "status" in payload else None,
        assignee=_person(payload.get("assignee")),
        add_tags=tuple(payload.get("add_tags") or ()),
        remove_tags=tuple(payload.get("remove_tags") or ()),
        attachments=outgoing.outgoing(payload.get("attachments") or ()),
    )


def _person(value: Any) -> Person | None:
    if not isinstance(value, dict):
        return None
    return Person(
        name=value.get("name"), email=value.get("email"), external_id=value.get("external_id")
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
        self.read_backs = 0  # find_delivered() calls (tests, diagnostics)

    def poke(self) -> None:
        """Deliver now (a new action was recorded)."""
        self._wake.set()

    def _announce(self, row: Any, state: str) -> None:
        self.bus.publish(TicketsChanged(row.system_id, (row.ticket_id,)))
        self.bus.publish(ActionStateChanged(row.action_id, row.ticket_id, state))

    async def _attempt(
        self, adapter: Adapter, row: Any, request: ActionRequest
    ) -> tuple[ActionOutcome | None, str | None, bool]:
        """(outcome, error, final) of one attempt; an earlier unknown outcome is read back."""
        try:
            if row.attempts > 0:  # an earlier attempt may have reached the system
                self.read_backs += 1
                found = await adapter.find_delivered(request)
                if found is not None and found.ok:
                    return found, None, False
            outcome = await adapter.perform(request)
            if not outcome.ok:
                return None, outcome.message or "rejected", True
            return outcome, None, False
        except UnreachableError as exc:
            return None, str(exc), False
        except RemoteError as exc:
            status = exc.status_code
            final = status is not None and 400 <= status < 500 and status != 429
            return None, str(exc), final
        except AdapterError as exc:
            return None, str(exc), False

    async def _deliver(self, row: Any) -> str:
        """One attempt; returns the action's state afterwards."""
        adapter = self.adapters.get(row.system_id)
        if adapter is None:
            return "pending"
        row, conflict = await self.writer.run(_begin_attempt, row.id, utcnow())
        if row.state != "pending":
            return str(row.state)
        if conflict:
            log.info("action %s stopped: the ticket changed remotely", row.action_id)
            self._announce(row, "conflict")
            return "conflict"
        outcome, error, final = await self._attempt(adapter, row, request_of(row))
        await self.writer.run(_settle, row, outcome, error, final, self.identity, utcnow())
        state = "sent" if outcome else ("failed" if final else "pending")
        if state == "sent" and row.payload.get("attachments"):
            await asyncio.to_thread(outgoing.release, row.action_id)
        self._announce(row, state)
        if outcome and self._on_delivered:
            self._on_delivered(row.system_id)
        return state

    async def deliver_pending(self) -> int:
        """One pass over the outbox; returns how many actions are still pending."""
        with self.writer.cache.engine.connect() as conn:
            rows = _queue(conn)
        blocked: set[int] = set()
        remaining = 0
        for row in rows:
            state = row.state
            if row.ticket_id not in blocked and state == "pending":
                state = await self._deliver(row)
            if state != "sent":
                # per-ticket order: later actions wait behind a stuck, failed or conflicting one
                blocked.add(row.ticket_id)
            remaining += state == "pending"
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
                    self._wake.wait(), timeout=RETRY_DELAY_S if remaining else IDLE_DELAY_S
                )
