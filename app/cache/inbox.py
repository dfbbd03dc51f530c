"""The inbox's view types, and a read-only stdlib reader of its pages for the first paint.

Neither needs SQLAlchemy: the window paints the cached inbox from :class:`InboxPreview` before
the core (SQLAlchemy, Alembic, the adapters) is loaded, then ``app.cache.views`` — which builds
its queries from the same types and the same sort expressions (:data:`SORT_SQL`) — takes over.
The preview reads only the default view (every live ticket), in any order, and only a cache at
the newest schema revision this build ships (:func:`head_revisions`): anything else (no cache
yet, an older or newer schema, a damaged file) is left to the core, which migrates or refuses it.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from app.cache.micros import from_micros, to_micros

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

log = logging.getLogger(__name__)
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
MIGRATIONS = Path(__file__).with_name("migrations") / "versions"
_DECLARED = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=(.*)$", re.MULTILINE)
BUSY_TIMEOUT_S = 0.5  # a reader in WAL mode waits only for a checkpoint's brief lock


@functools.cache
def head_revisions(folder: Path = MIGRATIONS) -> frozenset[str]:
    """The newest revisions of the shipped Alembic scripts — what the core upgrades a cache to —
    from their ``revision``/``down_revision`` lines (read as text: Alembic is not loaded yet)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        texts = [script.read_text(encoding="utf-8") for script in folder.glob("*.py")]
    except (OSError, UnicodeDecodeError) as exc:  # no head known: no preview, the core decides
        log.warning("the migration scripts in %s could not be read: %s", folder, exc)
        return frozenset()
    for text in texts:
        for name, value in _DECLARED.findall(text):
            found = re.findall(r"[\"']([^\"']+)[\"']", value)
            (revisions if name == "revision" else parents).update(found)
    return frozenset(revisions - parents)


class SortKey(StrEnum):
    """What the inbox is ordered by (``INDEXED_SORTS``: those with an index, migration 0004)."""

    UPDATED = "updated"
    CREATED = "created"
    PRIORITY = "priority"
    STATUS = "status"
    SYSTEM = "system"
    ASSIGNEE = "assignee"
    REQUESTER = "requester"
    SUBJECT = "subject"


def _rank(column: str, ranks: dict[str, int], default: int) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE tickets.{column} {whens} ELSE {default} END"


PRIORITY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
STATUS_RANK = {"new": 1, "open": 2, "pending": 3, "on_hold": 4, "solved": 5, "closed": 6}
SORT_SQL: dict[SortKey, str] = {
    SortKey.UPDATED: "tickets.updated_at",
    SortKey.CREATED: "tickets.created_at",
    SortKey.PRIORITY: _rank("priority", PRIORITY_RANK, 0),
    SortKey.STATUS: _rank("status", STATUS_RANK, 9),
    SortKey.SYSTEM: "tickets.system_id",
    SortKey.ASSIGNEE: "coalesce(tickets.assignee_name, tickets.assignee_email, '')",
    SortKey.REQUESTER: "coalesce(tickets.requester_name, tickets.requester_email, '')",
    SortKey.SUBJECT: "tickets.subject",
}
"""Each sort expression as literal SQL (no bound parameters), exactly as ``app.cache.views``
renders it, so that SQLite matches the expression indexes of migration 0004; the nullable
columns are coalesced so that keyset bounds never meet a NULL."""
TIME_SORTS = frozenset({SortKey.UPDATED, SortKey.CREATED})
"""Sort keys over timestamps (stored as microseconds; rows carry aware datetimes)."""
INDEXED_SORTS = frozenset(SortKey) - {SortKey.REQUESTER, SortKey.SUBJECT}
"""Sort keys an index serves (keyset paging stays fast at a million tickets); the others sort
every page, so they suit smaller views (a system, a queue, a search result)."""


def sort_key_for(column: str) -> SortKey | None:
    """The sort key of an inbox column name (``None``: that column is not sortable)."""
    try:
        return SortKey(column)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """Which tickets a view lists. Empty fields mean "any"."""

    system_id: str | None = None
    queue: str | None = None
    statuses: tuple[str, ...] = ()
    assignee: str | None = None  # an assignee name or e-mail ("my tickets")
    unassigned: bool = False
    ticket_ids: tuple[int, ...] | None = None  # a search result

    def clauses(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses (live tickets only); loads SQLAlchemy."""
        from app.cache.views import view_clauses

        return view_clauses(self)


@dataclass(frozen=True, slots=True)
class Order:
    """A sort key and direction."""

    key: SortKey = SortKey.UPDATED
    descending: bool = True


class InboxRow(NamedTuple):
    """One inbox row as ``app.cache.views.page`` returns it (``sort_key``: for keyset paging)."""

    id: int
    system_id: str
    external_id: str
    subject: str
    status: str
    priority: str | None
    requester_name: str | None
    requester_email: str | None
    assignee_name: str | None
    queue: str | None
    due_by: str | None
    """The system's SLA due time (ISO-8601 UTC, ``tickets.extra["due_by"]``), when it has one."""
    updated_at: datetime
    created_at: datetime
    sort_key: Any


INBOX_FIELDS = InboxRow._fields[:-1]
"""The ticket columns of an inbox row (``app.cache.queries.INBOX_COLUMNS``, in order)."""
COMPUTED_FIELDS = {"due_by": "json_extract(tickets.extra, '$.due_by')"}
"""Inbox fields read from inside a column (as ``app.cache.queries.INBOX_COLUMNS`` does)."""
_SELECT = ", ".join(
    f"{COMPUTED_FIELDS[name]} AS {name}" if name in COMPUTED_FIELDS else f"tickets.{name}"
    for name in INBOX_FIELDS
)
_LIVE = "tickets.deleted IS 0"  # as SQLAlchemy renders ``deleted.is_(False)``: the index's


class PageReader(Protocol):
    """What the inbox model reads through: :class:`InboxPreview` before the core is loaded,
    ``app.cache.views.ConnectionReader`` after."""

    def page(
        self,
        view: ViewFilter,
        order: Order,
        limit: int,
        *,
        offset: int = 0,
        from_end: bool = False,
        after: tuple[Any, int] | None = None,
        before: tuple[Any, int] | None = None,
    ) -> list[Any]:
        """One page of rows in view order (see ``app.cache.views.page``)."""
        ...

    def count(self, view: ViewFilter) -> int:
        """How many tickets ``view`` lists."""
        ...


class InboxPreview:
    """Pages and the count of the default view, read with ``sqlite3`` from a cache file opened
    read-only (never created, migrated or written). One connection per thread: :meth:`reopen`.

    A read that fails (the file was replaced or damaged meanwhile) is logged and reads as no
    rows: the preview only bridges the moments until the core takes over, and the core reports.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> InboxPreview | None:
        """The preview of the cache at ``path``, or None when there is nothing it can read (no
        file, another schema revision, a damaged or locked file): the core decides then."""
        if not path.is_file():
            return None
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
            )
            versions = [
                row[0] for row in connection.execute("SELECT version_num FROM alembic_version")
            ]
        except sqlite3.Error as exc:
            log.info("no inbox preview from %s: %s", path, exc)
            if connection is not None:
                connection.close()
            return None
        heads = head_revisions()
        if not versions or set(versions) != heads:
            log.info("no inbox preview: the cache schema is %s, not %s", versions, sorted(heads))
            connection.close()
            return None
        return cls(connection, path)

    def reopen(self) -> InboxPreview | None:
        """Another preview of the same file (its own connection, for another thread)."""
        return InboxPreview.open(self.path)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def count(self, view: ViewFilter) -> int:
        """Every live ticket: the whole-table count minus the deleted ones, as
        ``app.cache.views.count`` counts the default view."""
        _only_the_default(view)
        try:
            total = self._connection.execute("SELECT count(*) FROM tickets").fetchone()[0]
            gone = self._connection.execute(
                "SELECT count(*) FROM tickets WHERE tickets.deleted IS 1"
            ).fetchone()[0]
        except sqlite3.Error as exc:
            log.warning("the inbox preview could not count %s: %s", self.path, exc)
            return 0
        return int(total) - int(gone)

    def page(
        self,
        view: ViewFilter,
        order: Order,
        limit: int,
        *,
        offset: int = 0,
        from_end: bool = False,
        after: tuple[Any, int] | None = None,
        before: tuple[Any, int] | None = None,
    ) -> list[InboxRow]:
        """One page in view order, with the arguments and the rows of ``app.cache.views.page``
        (``after``/``before``: keyset bounds; ``from_end``: ``offset`` counts from the end)."""
        _only_the_default(view)
        expression = SORT_SQL[order.key]
        timed = order.key in TIME_SORTS
        where, parameters = [_LIVE], []
        for bound, below in ((after, order.descending), (before, not order.descending)):
            if bound is not None:
                where.append(f"({expression}, tickets.id) {'<' if below else '>'} (?, ?)")
                parameters += [to_micros(bound[0]) if timed else bound[0], bound[1]]
        reverse = from_end or before is not None
        direction = "DESC" if order.descending != reverse else "ASC"
        keyset = after is not None or before is not None
        columns = f"{_SELECT}, {expression} AS sort_key"
        filters, ordering = " AND ".join(where), f"{expression} {direction}, tickets.id {direction}"
        sql = f"SELECT {columns} FROM tickets WHERE {filters} ORDER BY {ordering}"  # noqa: S608
        sql += " LIMIT ? OFFSET ?"
        try:
            raw = self._connection.execute(sql, [*parameters, limit, 0 if keyset else offset])
            rows = [_row(values, timed) for values in raw]
        except sqlite3.Error as exc:
            log.warning("the inbox preview could not read %s: %s", self.path, exc)
            return []
        if reverse:
            rows.reverse()
        return rows


def _only_the_default(view: ViewFilter) -> None:
    if view != ViewFilter():
        raise ValueError(f"the inbox preview reads only the default view, not {view}")


def _row(values: tuple[Any, ...], timed: bool) -> InboxRow:
    *columns, updated, created, sort_key = values
    key = from_micros(sort_key) if timed else sort_key
    return InboxRow._make((*columns, from_micros(updated), from_micros(created), key))
