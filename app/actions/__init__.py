"""Agent commands: outbox row + audit record in one transaction, then delivery."""

from app.actions.commands import ChangeStatus, Command, Reply
from app.actions.decisions import DecisionRefused
from app.actions.delivery import OutboxDelivery
from app.actions.service import ActionRejected, ActionService, Identity

__all__ = [
    "ActionRejected",
    "ActionService",
    "ChangeStatus",
    "Command",
    "DecisionRefused",
    "Identity",
    "OutboxDelivery",
    "Reply",
]
