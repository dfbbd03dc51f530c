"""The lookback cursor shared by systems whose change times have one-second resolution.

RT and Znuny can only be asked for "changed after T" with whole seconds, and a change committed
late may carry an earlier stamp. So a pull asks from :data:`LOOKBACK` before the newest change
delivered (the *mark*) and the cursor keeps the version (the change stamp as the system wrote
it) of every ticket delivered within that window: a re-read ticket is dropped, a changed one is
not, and nothing is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain import DecodeError, ErrorContext
from app.timeutil import parse_timestamp, to_iso_z

LOOKBACK = timedelta(seconds=60)
CURSOR_VERSION = 1

Moment = Callable[[str], datetime | None]
"""A version (change stamp) as aware UTC; None for "not set"; ``ValueError`` when unreadable."""


@dataclass(slots=True)
class LookbackCursor:
    """The newest change delivered (UTC) and the versions seen within :data:`LOOKBACK` of it."""

    mark: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None, context: ErrorContext, *, what: str) -> LookbackCursor:
        """The cursor in ``text``; ``None`` starts a full sync. ``what`` names it in errors."""
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            mark = data.get("mark")
            return cls(
                mark=parse_timestamp(mark) if mark else None,
                seen={str(k): str(v) for k, v in data.get("seen", {}).items()},
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise DecodeError(f"the saved {what} is unreadable: {exc}", context) from exc

    def dump(self) -> str:
        """Compact JSON."""
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "mark": to_iso_z(self.mark) if self.mark else None,
                "seen": dict(sorted(self.seen.items())),
            },
            separators=(",", ":"),
        )

    def since(self) -> datetime | None:
        """Where the next pull starts: :data:`LOOKBACK` before the mark (None: from the start)."""
        return self.mark - LOOKBACK if self.mark is not None else None

    def record(self, ticket_id: str, version: str, moment: Moment) -> None:
        """Remember a delivered version and move the mark forward."""
        self.seen[ticket_id] = version
        try:
            when = moment(version)
        except ValueError:
            return
        if when is not None and (self.mark is None or when > self.mark):
            self.mark = when

    def prune(self, moment: Moment) -> None:
        """Forget versions older than the lookback window (unreadable ones are kept)."""
        horizon = self.since()
        if horizon is None:
            return
        for key, value in list(self.seen.items()):
            try:
                when = moment(value)
            except ValueError:
                continue
            if when is None or when < horizon:
                del self.seen[key]
