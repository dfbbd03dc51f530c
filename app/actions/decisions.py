"""The agent's decisions on an action that stopped: retry, discard, or send anyway.

Each decision is one transaction with its audit record. Discarding removes the optimistic local
copy (the pending message, or the local status, restored to what the agent saw).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, select, update

from app.actions import outgoing
from app.audit import journal
from app.cache.schema import messages, outbox, tickets
from app.domain import ErrorContext, TablessError

Decision = Literal["retry", "send_anyway", "discard"]
ALLOWED: dict[str, tuple[str, ...]] = {
    "retry": ("failed",),
    "send_anyway": ("conflict",),
    "discard": ("failed", "conflict"),
}


class DecisionRefused(TablessError):
    """The action is not in a state that allows this decision (or does not exist)."""


def _row(conn: Connection, action_id: str) -> Any:
    row = conn.execute(
        select(outbox, tickets.c.external_id, tickets.c.updated_at.label("ticket_updated_at"))
        .join(tickets, tickets.c.id == outbox.c.ticket_id)
        .where(outbox.c.action_id == action_id)
    ).first()
    if row is None:
        raise DecisionRefused(f"there is no action {action_id}")
    return row


def previous_values(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket columns a discarded field change puts back (its optimistic copy undone)."""
    if kind == "set_status" and payload.get("previous_status"):
        return {"status": payload["previous_status"]}
    if kind == "assign":
        old = payload.get("previous_assignee") or {}
        return {
            "assignee_name": old.get("name"),
            "assignee_email": old.get("email"),
            "assignee_external_id": old.get("external_id"),
        }
    if kind == "set_tags" and "previous_tags" in payload:
        return {"tags": list(payload["previous_tags"])}
    return {}


def decide(
    conn: Connection,
    action_id: str,
    decision: Decision,
    identity: tuple[str, str, str],
    now: datetime,
) -> tuple[int, str, str]:
    """Apply ``decision``; returns (ticket id, system id, new state)."""
    row = _row(conn, action_id)
    if row.state not in ALLOWED[decision]:
        raise DecisionRefused(
            f"action {action_id} is {row.state}; {decision.replace('_', ' ')} is not possible",
            ErrorContext(system=row.system_id, record_id=row.external_id),
        )
    values: dict[str, Any] = {"updated_at": now}
    if decision == "discard":
        values["state"] = "discarded"
        conn.execute(delete(messages).where(messages.c.pending_action_id == action_id))
        if row.payload.get("attachments"):
            outgoing.release(action_id)  # runs on the writer thread: no event loop to block
        restore = previous_values(row.kind, row.payload)
        if restore:
            conn.execute(update(tickets).where(tickets.c.id == row.ticket_id).values(**restore))
        outcome = "compensated"
    else:
        values.update(state="pending", last_error=None, conflict=None)
        if decision == "retry":
            values["attempts"] = 0  # the rejection was an answer: nothing reached the system
        else:  # send anyway: the agent has now seen the remote version
            values["seen_updated_at"] = row.ticket_updated_at
        outcome = "pending"
    conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))
    agent, device_id, version = identity
    journal.append(
        conn,
        agent,
        device_id,
        version,
        action=row.kind,
        system_id=row.system_id,
        ticket_id=row.external_id,
        before={"state": row.state},
        after={"decision": decision},
        outcome=outcome,
        action_id=action_id,
        now=now,
    )
    return row.ticket_id, row.system_id, str(values["state"])
