"""Recording commands: permission and capability checks, then outbox + audit + optimistic change
in ONE SQLite transaction. Once it commits, the action cannot be lost.

The outbox row keeps ``seen_updated_at`` (the ticket's remote ``updated_at`` the agent saw) for
conflict detection; the optimistic status change leaves ``updated_at`` alone for that reason.
The agent's later decisions (retry, discard, send anyway) are audited too (``decisions``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.actions.commands import Command, Reply
from app.actions.decisions import Decision, decide
from app.audit import journal
from app.cache import CacheWriter, search
from app.cache.schema import messages, outbox, tickets
from app.domain import ErrorContext, TablessError
from app.events import ActionStateChanged, EventBus, TicketsChanged
from app.registry import Capability
from app.timeutil import utcnow

MAX_BODY_CHARS = 64_000


@dataclass(frozen=True, slots=True)
class Identity:
    """Who acts: the agent, their device and the client version (for the audit record)."""

    agent: str
    device_id: str
    client_version: str


class ActionRejected(TablessError):
    """The command cannot be recorded (empty reply, read-only system, unknown ticket)."""


def _record(
    conn: Connection, command: Command, identity: Identity, action_id: str, now: datetime
) -> tuple[int, str]:
    row = conn.execute(
        select(
            tickets.c.id,
            tickets.c.system_id,
            tickets.c.external_id,
            tickets.c.status,
            tickets.c.updated_at,
        ).where(tickets.c.id == command.ticket_id)
    ).first()
    if row is None:
        raise ActionRejected(f"ticket {command.ticket_id} is not in the cache")
    before: dict[str, Any] | None
    if isinstance(command, Reply):
        payload: dict[str, Any] = {"body": command.body}
        before, after = None, {"body": command.body, "public": command.public}
        conn.execute(
            insert(messages).values(
                ticket_id=row.id,
                external_id=f"local:{action_id}",
                kind=command.kind.value,
                author_name=identity.agent,
                author_email=None,
                body_text=command.body,
                attachments=[],
                created_at=now,
                pending_action_id=action_id,
            )
        )
        search.index_tickets(conn, [row.id])  # the agent finds their own reply at once
    else:
        payload = {"status": command.status.value, "previous_status": row.status}
        before, after = {"status": row.status}, {"status": command.status.value}
        # optimistic, and leaving updated_at alone: it stays the remote time the agent saw
        conn.execute(
            update(tickets).where(tickets.c.id == row.id).values(status=command.status.value)
        )
    conn.execute(
        insert(outbox).values(
            action_id=action_id,
            ticket_id=row.id,
            system_id=row.system_id,
            kind=command.kind.value,
            payload=payload,
            state="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
            seen_updated_at=row.updated_at,
        )
    )
    journal.append(
        conn,
        identity.agent,
        identity.device_id,
        identity.client_version,
        action=command.kind.value,
        system_id=row.system_id,
        ticket_id=row.external_id,
        before=before,
        after=after,
        outcome="pending",
        action_id=action_id,
        now=now,
    )
    return row.id, row.system_id


class ActionService:
    """Turns commands into committed outbox rows and announces them."""

    def __init__(
        self,
        writer: CacheWriter,
        bus: EventBus,
        identity: Identity,
        capabilities: Callable[[str], frozenset[Capability]],
        on_recorded: Callable[[str], None] | None = None,
    ) -> None:
        self.writer = writer
        self.bus = bus
        self.identity = identity
        self._capabilities = capabilities
        self._on_recorded = on_recorded

    def _validate(self, command: Command, system_id: str) -> None:
        if isinstance(command, Reply):
            if not command.body.strip():
                raise ActionRejected("the reply is empty")
            if len(command.body) > MAX_BODY_CHARS:
                raise ActionRejected(f"the reply is longer than {MAX_BODY_CHARS} characters")
        if command.capability not in self._capabilities(system_id):
            raise ActionRejected(
                f"{system_id} does not support {command.kind.value}",
                ErrorContext(system=system_id),
            )

    def _system_of(self, ticket_id: int) -> str:
        with self.writer.cache.engine.connect() as conn:
            system_id = conn.scalar(select(tickets.c.system_id).where(tickets.c.id == ticket_id))
        if system_id is None:
            raise ActionRejected(f"ticket {ticket_id} is not in the cache")
        return str(system_id)

    async def submit(self, command: Command) -> str:
        """Record ``command``; returns its action id. Raises ``ActionRejected`` when refused."""
        system_id = self._system_of(command.ticket_id)
        self._validate(command, system_id)
        action_id = str(uuid.uuid4())
        ticket_id, system_id = await self.writer.run(
            _record, command, self.identity, action_id, utcnow()
        )
        self.bus.publish(TicketsChanged(system_id, (ticket_id,)))
        self.bus.publish(ActionStateChanged(action_id, ticket_id, "pending"))
        if self._on_recorded:
            self._on_recorded(system_id)
        return action_id

    async def _decide(self, action_id: str, decision: Decision) -> str:
        identity = (self.identity.agent, self.identity.device_id, self.identity.client_version)
        ticket_id, system_id, state = await self.writer.run(
            decide, action_id, decision, identity, utcnow()
        )
        self.bus.publish(TicketsChanged(system_id, (ticket_id,)))
        self.bus.publish(ActionStateChanged(action_id, ticket_id, state))
        if state == "pending" and self._on_recorded:
            self._on_recorded(system_id)
        return state

    async def retry(self, action_id: str) -> str:
        """Queue a failed action again; returns its new state. Raises ``DecisionRefused``."""
        return await self._decide(action_id, "retry")

    async def discard(self, action_id: str) -> str:
        """Drop a failed or conflicting action and its optimistic local copy (audited)."""
        return await self._decide(action_id, "discard")

    async def resolve_conflict(self, action_id: str, resolution: str) -> str:
        """Settle a conflict: ``"send_anyway"`` re-queues it, ``"discard"`` drops it."""
        if resolution not in ("send_anyway", "discard"):
            raise ActionRejected(f"unknown resolution {resolution!r}")
        return await self._decide(
            action_id, "send_anyway" if resolution == "send_anyway" else "discard"
        )
