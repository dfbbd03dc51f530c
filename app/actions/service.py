"""Recording commands: permission and capability checks, then outbox + audit + optimistic change
in ONE SQLite transaction. Once it commits, the action cannot be lost.

The outbox row keeps ``seen_updated_at`` (the ticket's remote ``updated_at`` the agent saw) for
conflict detection; the optimistic status change leaves ``updated_at`` alone for that reason.
The agent's later decisions (retry, discard, send anyway) are audited too (``decisions``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.actions import outgoing
from app.actions.commands import Assign, ChangeStatus, ChangeTags, Command, Reply
from app.actions.decisions import Decision, decide
from app.audit import journal
from app.cache import CacheWriter, search
from app.cache.schema import messages, outbox, tickets
from app.domain import ErrorContext, Person, TablessError
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


def _person(person: Person | None) -> dict[str, str | None] | None:
    if person is None:
        return None
    return {"name": person.name, "email": person.email, "external_id": person.external_id}


def _field_change(
    command: ChangeStatus | Assign | ChangeTags, row: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Outbox payload, audit before/after and the optimistic column values of a field change.

    The payload keeps the previous value, so a discard (or an undo) can put it back.
    """
    if isinstance(command, ChangeStatus):
        status = command.status.value
        payload = {"status": status, "previous_status": row.status}
        return payload, {"status": row.status}, {"status": status}, {"status": status}
    if isinstance(command, Assign):
        new = _person(command.assignee)
        old = {
            "name": row.assignee_name,
            "email": row.assignee_email,
            "external_id": row.assignee_external_id,
        }
        previous = old if any(old.values()) else None
        payload = {"assignee": new, "previous_assignee": previous}
        change = {
            "assignee_name": (new or {}).get("name"),
            "assignee_email": (new or {}).get("email"),
            "assignee_external_id": (new or {}).get("external_id"),
        }
        return payload, {"assignee": previous}, {"assignee": new}, change
    current = list(row.tags or [])
    added = [tag for tag in command.add if tag not in current]
    tags = [tag for tag in current if tag not in command.remove] + added
    payload = {"add_tags": list(command.add), "remove_tags": list(command.remove)}
    payload["previous_tags"] = current
    return payload, {"tags": current}, {"tags": tags}, {"tags": tags}


def _record(
    conn: Connection,
    command: Command,
    identity: Identity,
    action_id: str,
    now: datetime,
    staged: list[dict[str, Any]] | None = None,
) -> tuple[int, str]:
    row = conn.execute(
        select(
            tickets.c.id,
            tickets.c.system_id,
            tickets.c.external_id,
            tickets.c.status,
            tickets.c.updated_at,
            tickets.c.assignee_name,
            tickets.c.assignee_email,
            tickets.c.assignee_external_id,
            tickets.c.tags,
        ).where(tickets.c.id == command.ticket_id)
    ).first()
    if row is None:
        raise ActionRejected(f"ticket {command.ticket_id} is not in the cache")
    before: dict[str, Any] | None
    if isinstance(command, Reply):
        payload: dict[str, Any] = {"body": command.body}
        before, after = None, {"body": command.body, "public": command.public}
        shown = [{k: f[k] for k in ("filename", "content_type", "size")} for f in staged or []]
        if staged:
            payload["attachments"] = staged
            after["attachments"] = shown
        conn.execute(
            insert(messages).values(
                ticket_id=row.id,
                external_id=f"local:{action_id}",
                kind=command.kind.value,
                author_name=identity.agent,
                author_email=None,
                body_text=command.body,
                attachments=shown,
                created_at=now,
                pending_action_id=action_id,
            )
        )
        search.index_tickets(conn, [row.id])  # the agent finds their own reply at once
    else:
        payload, before, after, change = _field_change(command, row)
        # optimistic, and leaving updated_at alone: it stays the remote time the agent saw
        conn.execute(update(tickets).where(tickets.c.id == row.id).values(**change))
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
            if command.attachments and Capability.ATTACHMENTS not in self._capabilities(system_id):
                raise ActionRejected(
                    f"{system_id} does not take attachments from Tabless",
                    ErrorContext(system=system_id),
                )
        if isinstance(command, ChangeTags):
            if not command.add and not command.remove:
                raise ActionRejected("no tag to add or remove")
            if any(not tag.strip() or any(c.isspace() for c in tag) for tag in command.add):
                raise ActionRejected("a tag is one word without spaces")
        assignee = command.assignee if isinstance(command, Assign) else None
        if assignee is not None and not (assignee.email or assignee.external_id):
            raise ActionRejected("an assignee needs an e-mail address or the system's id")
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
        staged: list[dict[str, Any]] | None = None
        if isinstance(command, Reply) and command.attachments:
            try:
                staged = await asyncio.to_thread(outgoing.stage, action_id, command.attachments)
            except outgoing.AttachmentRefused as exc:
                raise ActionRejected(exc.message, exc.context) from exc
            except OSError as exc:
                outgoing.release(action_id)
                raise ActionRejected(f"a file could not be read: {exc}") from exc
        try:
            ticket_id, system_id = await self.writer.run(
                _record, command, self.identity, action_id, utcnow(), staged
            )
        except BaseException:
            if staged:
                outgoing.release(action_id)
            raise
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
