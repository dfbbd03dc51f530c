"""Canned replies with variables, macros (a reply plus status, tags and assignee), signatures.

Templates use ``{{customer.name}}``, ``{{customer.email}}``, ``{{ticket.id}}``,
``{{ticket.subject}}`` and ``{{agent.name}}``; an unknown variable is left as written so the
agent sees it before sending. The built-in replies are translated; the agent's own replies and
each system's signature are kept in QSettings (``composer/canned``, ``composer/signature/<id>``)
until the settings store has a place for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSettings

CONTEXT = "Canned"
_VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Canned:
    """A reply template; ``status``, ``tags`` (added) and ``assign_to_me`` make it a macro: one
    choice, then the reply and each of these as its own audited action."""

    title: str
    body: str
    status: str | None = None
    tags: tuple[str, ...] = ()
    assign_to_me: bool = False

    @property
    def is_macro(self) -> bool:
        """True when sending does more than reply."""
        return bool(self.status or self.tags or self.assign_to_me)


def follow_up(macro: Canned | None, ticket_id: int, me: Any) -> list[Any]:
    """The commands a macro queues after its reply, in order: status, tags, assignee (``me``
    is the agent's ``Person``; no e-mail or id → no assignment)."""
    from app.actions import Assign, ChangeStatus, ChangeTags
    from app.domain import Status

    if macro is None:
        return []
    commands: list[Any] = []
    if macro.status:
        commands.append(ChangeStatus(ticket_id, Status(macro.status)))
    if macro.tags:
        commands.append(ChangeTags(ticket_id, add=macro.tags))
    if macro.assign_to_me and (me.email or me.external_id):
        commands.append(Assign(ticket_id, me))
    return commands


BUILT_IN: tuple[tuple[object, object, str | None, tuple[str, ...], bool], ...] = (
    (
        QT_TRANSLATE_NOOP("Canned", "Thanks, looking into it"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nthank you for your message about ticket "
            "#{{ticket.id}}. We are looking into it and will get back to you shortly.",
        ),
        None,
        (),
        False,
    ),
    (
        QT_TRANSLATE_NOOP("Canned", "Refund processed (set pending)"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nyour refund for ticket #{{ticket.id}} has been "
            "processed. Please allow 3-5 working days. Let us know if anything is unclear.",
        ),
        "pending",
        ("refund",),
        True,
    ),
    (
        QT_TRANSLATE_NOOP("Canned", "Solved, closing"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nwe consider ticket #{{ticket.id}} solved. Simply "
            "reply if you need anything else.",
        ),
        "solved",
        (),
        False,
    ),
)


def replies() -> list[Canned]:
    """The built-in replies (translated) followed by the agent's own."""
    items = [
        Canned(
            QCoreApplication.translate(CONTEXT, str(title)),
            QCoreApplication.translate(CONTEXT, str(body)),
            status,
            tags,
            assign,
        )
        for title, body, status, tags, assign in BUILT_IN
    ]
    own = QSettings().value("composer/canned", [])
    for entry in own if isinstance(own, list) else []:
        if isinstance(entry, dict) and entry.get("title") and entry.get("body"):
            tags = entry.get("tags") or ()
            items.append(
                Canned(
                    str(entry["title"]),
                    str(entry["body"]),
                    entry.get("status") or None,
                    tuple(str(t) for t in tags) if isinstance(tags, list | tuple) else (),
                    entry.get("assign_to_me") in (True, "true", "1", 1),
                )
            )
    return items


def signature(system_id: str) -> str:
    """The agent's signature for one system (empty if none)."""
    return str(QSettings().value(f"composer/signature/{system_id}", "") or "")


def set_signature(system_id: str, text: str) -> None:
    """Keep the signature of one system."""
    QSettings().setValue(f"composer/signature/{system_id}", text)


def render(template: str, ticket: Any, agent: str) -> str:
    """Fill the template's variables from a cache ticket row."""
    values = {
        ("customer", "name"): ticket.requester_name or ticket.requester_email or "",
        ("customer", "email"): ticket.requester_email or "",
        ("ticket", "id"): ticket.external_id,
        ("ticket", "subject"): ticket.subject,
        ("agent", "name"): agent,
    }

    def substitute(match: re.Match[str]) -> str:
        value = values.get((match.group(1), match.group(2)))
        return match.group(0) if value is None else str(value)

    return _VARIABLE.sub(substitute, template)
