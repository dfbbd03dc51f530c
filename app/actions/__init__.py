"""Agent commands: outbox row + audit record in one transaction, then delivery."""

from app.actions.commands import ChangeStatus, Command, Reply
from app.actions.delivery import OutboxDelivery
from app.actions.service import ActionService, Identity

__all__ = ["ActionService", "ChangeStatus", "Command", "Identity", "OutboxDelivery", "Reply"]
