"""The pull position of a declarative adapter, serialized as JSON.

``since`` is the committed bookmark (the largest incremental-field value of the last complete
pass) and ``seen`` the ids that had exactly that value, so an inclusive ``since`` query does not
hand them back again. While a pass runs, ``page`` is where the list continues and ``mark`` /
``mark_ids`` collect the largest value seen so far; the bookmark moves only when the pass ends,
so tickets changed during a pass are never skipped. ``validators`` are the ETag / Last-Modified
of the last first page, sent back to make the next pass conditional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain import DecodeError, ErrorContext
from app.timeutil import parse_timestamp, to_iso_z

VERSION = 1


@dataclass(slots=True)
class SyncCursor:
    """Where a pull resumes."""

    since: datetime | None = None
    seen: set[str] = field(default_factory=set)
    running: bool = False
    page: dict[str, Any] | None = None
    mark: datetime | None = None
    mark_ids: set[str] = field(default_factory=set)
    validators: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None, context: ErrorContext) -> SyncCursor:
        """The cursor in ``text``; None starts a full sync."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != VERSION:
                raise ValueError("unknown cursor version")
            page = data.get("page")
            validators = data.get("validators") or {}
            if not isinstance(validators, dict):
                raise ValueError("validators must be an object")
            return cls(
                since=parse_timestamp(data["since"]) if data.get("since") else None,
                seen={str(i) for i in data.get("seen", [])},
                running=bool(data.get("running")),
                page=page if isinstance(page, dict) else None,
                mark=parse_timestamp(data["mark"]) if data.get("mark") else None,
                mark_ids={str(i) for i in data.get("mark_ids", [])},
                validators={str(k): str(v) for k, v in validators.items()},
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise DecodeError(f"the saved sync cursor is unreadable: {exc}", context) from exc

    def dump(self) -> str:
        """Compact JSON."""
        return json.dumps(
            {
                "v": VERSION,
                "since": to_iso_z(self.since) if self.since else None,
                "seen": sorted(self.seen),
                "running": self.running,
                "page": self.page,
                "mark": to_iso_z(self.mark) if self.mark else None,
                "mark_ids": sorted(self.mark_ids),
                "validators": self.validators,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def already_seen(self, ticket_id: str, value: datetime) -> bool:
        """True for a ticket the last pass returned with this very bookmark value."""
        return self.since is not None and value == self.since and ticket_id in self.seen

    def observe(self, ticket_id: str, value: datetime) -> None:
        """Count a returned ticket towards the pass's mark."""
        if self.mark is None or value > self.mark:
            self.mark, self.mark_ids = value, {ticket_id}
        elif value == self.mark:
            self.mark_ids.add(ticket_id)

    def advance(self, next_page: dict[str, Any] | None) -> None:
        """Move to the next page, or end the pass and commit the mark as the bookmark."""
        if next_page is not None:
            self.running, self.page = True, next_page
            return
        if self.mark is not None:
            if self.since is None or self.mark > self.since:
                self.since, self.seen = self.mark, set(self.mark_ids)
            elif self.mark == self.since:
                self.seen |= self.mark_ids
        self.running, self.page, self.mark, self.mark_ids = False, None, None, set()
