"""Agent commands: outbox row + audit record in one transaction, then delivery."""

from app.actions.commands import Assign, ChangeStatus, ChangeTags, Command, Reply
from app.actions.decisions import DecisionRefused
from app.actions.delivery import OutboxDelivery
from app.actions.service import ActionRejected, ActionService, Identity

__all__ = [
    "ActionRejected",
    "ActionService",
    "Assign",
    "ChangeStatus",
    "ChangeTags",
    "Command",
    "DecisionRefused",
    "Identity",
    "OutboxDelivery",
    "Reply",
]
