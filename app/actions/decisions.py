"""The agent's decisions on an action that stopped: retry, discard, or send anyway.

Each decision is one transaction with its audit record. Discarding removes the optimistic local
copy (the pending message, or the local status, restored to what the agent saw).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, select, update

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
        previous = row.payload.get("previous_status")
        if row.kind == "set_status" and previous:
            conn.execute(
                update(tickets).where(tickets.c.id == row.ticket_id).values(status=previous)
            )
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
