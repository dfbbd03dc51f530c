"""Canned replies with variables, macros (a reply and a status in one action), signatures.

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
    """A reply template; ``status`` makes it a macro (reply + status in one action)."""

    title: str
    body: str
    status: str | None = None


BUILT_IN: tuple[tuple[object, object, str | None], ...] = (
    (
        QT_TRANSLATE_NOOP("Canned", "Thanks, looking into it"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nthank you for your message about ticket "
            "#{{ticket.id}}. We are looking into it and will get back to you shortly.",
        ),
        None,
    ),
    (
        QT_TRANSLATE_NOOP("Canned", "Refund processed (set pending)"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nyour refund for ticket #{{ticket.id}} has been "
            "processed. Please allow 3-5 working days. Let us know if anything is unclear.",
        ),
        "pending",
    ),
    (
        QT_TRANSLATE_NOOP("Canned", "Solved, closing"),
        QT_TRANSLATE_NOOP(
            "Canned",
            "Hello {{customer.name}},\n\nwe consider ticket #{{ticket.id}} solved. Simply "
            "reply if you need anything else.",
        ),
        "solved",
    ),
)


def replies() -> list[Canned]:
    """The built-in replies (translated) followed by the agent's own."""
    items = [
        Canned(
            QCoreApplication.translate(CONTEXT, str(title)),
            QCoreApplication.translate(CONTEXT, str(body)),
            status,
        )
        for title, body, status in BUILT_IN
    ]
    own = QSettings().value("composer/canned", [])
    for entry in own if isinstance(own, list) else []:
        if isinstance(entry, dict) and entry.get("title") and entry.get("body"):
            items.append(Canned(str(entry["title"]), str(entry["body"]), entry.get("status")))
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
