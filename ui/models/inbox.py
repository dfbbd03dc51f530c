"""The unified inbox: a COUNT plus a bounded cache of keyset-paged rows — never every id.

``rowCount`` is one indexed COUNT; ``data`` reads the page around a row when the view paints it
(200 rows per query, at most ``MAX_PAGES`` pages kept). Scrolling next to a cached page continues
by keyset; a jump reads the page counted from the nearer end, so the last row of a million is one
short query too.

Cold start: until :meth:`InboxModel.attach` hands it the core's engine, the model reads the
default view through ``app.cache.inbox.InboxPreview`` (stdlib sqlite3, read-only) — the same
pages in the same order — so the window paints cached rows before SQLAlchemy is even imported.

Unread (bold): a ``new`` ticket, or one updated since this window opened, that the agent has not
opened since its last update. The seen marks live in memory (the cache schema has no column for
them): after a restart only ``new`` tickets are bold again.

SLA (due / waiting): where the system gives a ticket an SLA due time (``due_by``: Freshdesk, the CSV
export's "Due by Time"), an active ticket shows "due in 3 h" or "overdue 2 h", coloured by how
close it is (``DUE_LEVELS``); otherwise ``new`` and ``open`` tickets (the customer waits for us)
show the time since the last update, coloured by age (``WAIT_LEVELS``).
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPixmap

from app.cache.inbox import (
    INDEXED_SORTS,
    InboxPreview,
    Order,
    PageReader,
    SortKey,
    ViewFilter,
    sort_key_for,
)
from app.timeutil import utcnow
from ui import timefmt
from ui.labels import priority_label, status_label

if TYPE_CHECKING:
    from sqlalchemy import Engine

PAGE = 200
MAX_PAGES = 64
FOLLOWED_PAGES = 3  # pages of selected rows re-read along with the screen's after a change
# Only ``updated`` has an index; SQLite sorts the other orders for every page (about 0.9 s per
# 100,000 rows by creation time), so larger views keep the indexed order.
SORT_LIMIT = 50_000
Index = QModelIndex | QPersistentModelIndex
TICKET_ID_ROLE = Qt.ItemDataRole.UserRole + 1
WAITING_STATUSES = ("new", "open")
WAIT_LEVELS = (  # (waiting at least, background colour)
    (timedelta(hours=24), QColor(214, 59, 59, 150)),
    (timedelta(hours=4), QColor(230, 126, 34, 130)),
    (timedelta(hours=1), QColor(241, 196, 15, 110)),
)
DUE_LEVELS = (  # (due within, background colour); overdue is the first
    (timedelta(0), QColor(214, 59, 59, 170)),
    (timedelta(hours=1), QColor(230, 126, 34, 140)),
    (timedelta(hours=4), QColor(241, 196, 15, 110)),
)
DUE_STATUSES = ("new", "open", "pending", "on_hold")
SORT_OF_COLUMN = {
    "system": SortKey.SYSTEM,
    "status": SortKey.STATUS,
    "priority": SortKey.PRIORITY,
    "updated": SortKey.UPDATED,
    "created": SortKey.CREATED,
}


def badge(system_id: str) -> QIcon:
    """A small coloured dot that tells systems apart at a glance (stable per system id)."""
    hue = zlib.crc32(system_id.encode()) % 360
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor.fromHsv(hue, 170, 210))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


class InboxModel(QAbstractTableModel):
    """Read-only table over the cache, for one view (filter) in one order."""

    COLUMNS = ("system", "subject", "requester", "status", "priority", "updated", "waiting")

    sort_refused = Signal(int)
    """sort_refused(rows): an unindexed order was asked for a view too large to sort quickly."""
    counted = Signal(int, int)
    """counted(generation, count): a background COUNT finished (delivered on the GUI thread)."""

    def __init__(
        self,
        engine: Engine | None,
        system_title: Callable[[str], str],
        parent: Any = None,
        *,
        preview: InboxPreview | None = None,
    ):
        """``engine``: the cache; None until :meth:`attach` while the window shows the
        ``preview`` (the default view read with sqlite3 before SQLAlchemy is loaded; None too:
        no rows until attached)."""
        super().__init__(parent)
        self._engine = engine
        self._preview = preview
        self._system_title = system_title
        self._view = ViewFilter()
        self._order = Order()
        self._count = 0
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._seen: dict[int, datetime] = {}
        self._since = utcnow()
        self._bold = QFont()
        self._bold.setBold(True)
        self._badges: dict[str, QIcon] = {}
        self._generation = 0
        self.sort_limit = SORT_LIMIT
        self.counting = False
        self.counted.connect(self._apply_count)
        self._header_texts: tuple[str, ...] = ()

    def _headers(self) -> tuple[str, ...]:
        if not self._header_texts:  # translated once per language (see retranslate)
            self._header_texts = self._translated_headers()
        return self._header_texts

    def retranslate(self) -> None:
        """The language changed: the column titles follow (the window calls this)."""
        self._header_texts = ()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.COLUMNS) - 1)

    def _translated_headers(self) -> tuple[str, ...]:
        return (
            self.tr("System"),
            self.tr("Subject"),
            self.tr("Requester"),
            self.tr("Status"),
            self.tr("Priority"),
            self.tr("Updated"),
            self.tr("SLA"),
        )

    # --- Qt overrides -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self._headers()[section]
        if (
            horizontal
            and role == Qt.ItemDataRole.ToolTipRole
            and self.COLUMNS[section] == "waiting"
        ):
            return self.tr(
                "Time left until the system's SLA is due (red: overdue); for tickets without "
                "one, how long the customer has been waiting"
            )
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order by a sortable column (subject and requester keep the current order)."""
        name = self.COLUMNS[column] if 0 <= column < len(self.COLUMNS) else ""
        descending = order == Qt.SortOrder.DescendingOrder
        if name == "waiting":  # longest waiting first = oldest update first
            key, descending = SortKey.UPDATED, not descending
        elif name in SORT_OF_COLUMN or sort_key_for(name) is not None:
            key = SORT_OF_COLUMN.get(name) or SortKey(name)
        else:
            return
        if key not in INDEXED_SORTS and self._count > self.sort_limit:
            self.sort_refused.emit(self._count)
            return
        self.set_order(Order(key, descending))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called for every role of every cell painted: the cheapest tests come first
        if role not in _ROLES or not index.isValid():
            return None
        row = self.row(index.row())
        if row is None:
            return None
        column = self.COLUMNS[index.column()]
        if role in _TEXT_ROLES:
            return self._text(row, column)
        if role == _FONT_ROLE:
            return self._bold if self.is_unread(row) else None
        if role == _DECORATION_ROLE:
            return self._badge(row.system_id) if column == "system" else None
        if role == _BACKGROUND_ROLE:
            return self._wait_colour(row) if column == "waiting" else None
        return row.id  # TICKET_ID_ROLE

    # --- ours ---------------------------------------------------------------------------------
    def _text(self, row: Any, column: str) -> str:
        if column == "system":
            return self._system_title(row.system_id)
        if column == "subject":
            return str(row.subject)
        if column == "requester":
            return str(row.requester_name or row.requester_email or "")
        if column == "status":
            return status_label(row.status)
        if column == "priority":
            return priority_label(row.priority)
        if column == "waiting":
            return self._waiting_text(row)
        return timefmt.short(row.updated_at)

    def _badge(self, system_id: str) -> QIcon | None:
        if QGuiApplication.instance() is None:  # painting needs a GUI application
            return None
        icon = self._badges.get(system_id)
        if icon is None:
            icon = self._badges[system_id] = badge(system_id)
        return icon

    def _due_in(self, row: Any) -> timedelta | None:
        """Time left until the ticket's SLA due time (negative: overdue); None without one."""
        if not row.due_by or row.status not in DUE_STATUSES:
            return None
        due = _due_time(str(row.due_by))
        return None if due is None else due - utcnow()

    def _duration(self, delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        if minutes < 60:
            return self.tr("{n} min").format(n=minutes)
        if minutes < 48 * 60:
            return self.tr("{n} h").format(n=minutes // 60)
        return self.tr("{n} d").format(n=minutes // (24 * 60))

    def _waiting(self, row: Any) -> timedelta | None:
        if row.status not in WAITING_STATUSES:
            return None
        age: timedelta = utcnow() - row.updated_at
        return max(age, timedelta(0))

    def _waiting_text(self, row: Any) -> str:
        left = self._due_in(row)
        if left is not None:
            if left < timedelta(0):
                return self.tr("overdue {time}").format(time=self._duration(-left))
            return self.tr("due in {time}").format(time=self._duration(left))
        age = self._waiting(row)
        return "" if age is None else self._duration(age)

    def _wait_colour(self, row: Any) -> QColor | None:
        left = self._due_in(row)
        if left is not None:
            return next((colour for limit, colour in DUE_LEVELS if left < limit), None)
        age = self._waiting(row)
        if age is None:
            return None
        return next((colour for limit, colour in WAIT_LEVELS if age >= limit), None)

    def is_unread(self, row: Any) -> bool:
        """Bold: new or updated while the window is open, and not opened since."""
        seen = self._seen.get(row.id)
        if seen is not None and seen >= row.updated_at:
            return False
        return bool(row.status == "new" or row.updated_at > self._since)

    def mark_seen(self, position: int) -> None:
        """The agent opened the ticket at ``position``: it is no longer unread."""
        row = self.row(position)
        if row is None:
            return
        self._seen[row.id] = row.updated_at
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(self.COLUMNS) - 1))

    def row(self, position: int) -> Any:
        """The cache row shown at ``position`` (its page is read on demand)."""
        if not 0 <= position < self._count:
            return None
        number = position // PAGE
        rows = self._pages.get(number)
        if rows is None:
            rows = self._load_page(number)
        else:
            self._pages.move_to_end(number)
        offset = position - number * PAGE
        return rows[offset] if offset < len(rows) else None

    @contextmanager
    def _reading(self) -> Iterator[PageReader]:
        """The cache (one connection), else the preview, else nothing to read."""
        if self._engine is not None:
            from app.cache.views import ConnectionReader

            with self._engine.connect() as conn:
                yield ConnectionReader(conn)
        else:
            yield self._preview or _NO_ROWS

    @property
    def attached(self) -> bool:
        """True once the model reads the cache through the core (:meth:`attach`)."""
        return self._engine is not None

    def attach(self, engine: Engine, system_title: Callable[[str], str]) -> None:
        """Read the cache through the core from now on. The rows shown stay as they are (no
        reset): the window's next re-read (:meth:`update_reader`) brings them up to date."""
        self._engine = engine
        self._system_title = system_title
        if self._preview is not None:
            self._preview.close()
            self._preview = None

    def _load_page(self, number: int) -> list[Any]:
        with self._reading() as reader:
            rows = _read_page(reader, self._view, self._order, number, self._count, self._pages)
        self._pages[number] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return rows

    def cached_ticket_id(self, position: int) -> int | None:
        """The ticket at ``position`` if its page is cached (never reads the cache)."""
        rows = self._pages.get(position // PAGE)
        offset = position % PAGE
        return int(rows[offset].id) if rows is not None and offset < len(rows) else None

    def ticket_id(self, position: int) -> int | None:
        """The cache id of the ticket at ``position``."""
        row = self.row(position)
        return None if row is None else int(row.id)

    def position_of(self, ticket_id: int) -> int | None:
        """The row of ``ticket_id``, if it is listed (a cached page, else one COUNT)."""
        for number, rows in self._pages.items():
            for offset, row in enumerate(rows):
                if row.id == ticket_id:
                    return number * PAGE + offset
        if self._engine is None:  # the preview knows only the rows it read
            return None
        from app.cache import views

        with self._engine.connect() as conn:
            return views.position(conn, self._view, self._order, ticket_id)

    @property
    def view(self) -> ViewFilter:
        """The filter the inbox shows."""
        return self._view

    @property
    def order(self) -> Order:
        """The current order."""
        return self._order

    def set_view(self, view: ViewFilter) -> None:
        """Show another view (My tickets, a system, a search result …)."""
        if view != self._view:
            self._view = view
            self._reset()

    def set_order(self, order: Order) -> None:
        """Re-order the inbox."""
        if order != self._order:
            self._order = order
            self._reset()

    def refresh_in_background(self) -> None:
        """Show the first page at once and count the rest on a thread (the first paint does
        not wait for a COUNT over a million rows); rows are appended when the count is in."""
        self._generation += 1
        generation, view = self._generation, self._view
        with self._reading() as reader:
            rows = reader.page(view, self._order, PAGE)
        self.beginResetModel()
        self._pages.clear()
        self._pages[0] = rows
        self._count = len(rows)
        self.counting = len(rows) == PAGE
        self.endResetModel()
        if self.counting:
            threading.Thread(
                target=self._count_worker, args=(generation, view), daemon=True, name="inbox-count"
            ).start()

    def _count_worker(self, generation: int, view: ViewFilter) -> None:
        engine, preview = self._engine, self._preview
        if engine is not None:
            from app.cache import views

            with engine.connect() as conn:
                total = views.count(conn, view)
        else:  # the preview's own connection on this thread
            own = preview.reopen() if preview is not None else None
            if own is None:
                return
            try:
                total = own.count(view)
            finally:
                own.close()
        try:
            self.counted.emit(generation, total)
        except RuntimeError:  # the model was deleted meanwhile
            return

    def _apply_count(self, generation: int, total: int) -> None:
        if generation != self._generation or not self.counting:
            return
        self.counting = False
        if total > self._count:
            self.beginInsertRows(QModelIndex(), self._count, total - 1)
            self._count = total
            self.endInsertRows()
        elif total < self._count:
            self._reset()

    def refresh(self, changed: list[int] | None = None) -> None:
        """Re-read the count and the cached pages now, in place (see :meth:`apply_update`).

        ``changed`` is kept for callers that know which tickets changed; every cached page is
        re-read either way.
        """
        del changed
        wanted = sorted(self._pages)
        first = wanted[0] * PAGE if wanted else 0
        last = (wanted[-1] + 1) * PAGE - 1 if wanted else PAGE - 1
        self.apply_update(self.update_reader(first, last)())

    def update_reader(
        self,
        first_row: int,
        last_row: int,
        anchor: tuple[int, int] | None = None,
        tickets: tuple[int, ...] = (),
        *,
        follow: bool = True,
    ) -> Callable[[], InboxUpdate]:
        """A function that re-reads this view for :meth:`apply_update` — safe to run on a
        worker thread (it touches only the cache, in one read transaction).

        ``first_row``..``last_row``: the rows on screen (their pages are read, moved along with
        ``anchor``); ``anchor``: ``(position, ticket id)`` of a row whose move tells where the
        screen's rows went; ``tickets``: ids (the selection) whose new positions are wanted;
        ``follow``: the screen will follow the anchor (else it stays at the same rows). The
        pages of the first ``tickets`` are read too, so the selection is known without a query.
        """
        engine, view, order, generation = self._engine, self._view, self._order, self._generation
        if engine is None:
            raise RuntimeError("the inbox re-reads the cache only once attached to the core")
        from app.cache import views

        def read() -> InboxUpdate:
            with engine.connect() as conn, conn.begin():
                reader = views.ConnectionReader(conn)
                count = views.count(conn, view)
                shift = None
                if anchor is not None:
                    moved = views.position(conn, view, order, anchor[1])
                    shift = None if moved is None else moved - anchor[0]
                pages: dict[int, list[Any]] = {}
                along = (shift or 0) if follow else 0
                low, high = max(0, first_row + along), min(count - 1, last_row + along)
                for number in range(low // PAGE, high // PAGE + 1) if high >= low else ():
                    pages[number] = _read_page(reader, view, order, number, count, pages)
                positions = {}
                for ticket_id in tickets:
                    found = views.position(conn, view, order, ticket_id)
                    if found is not None:
                        positions[ticket_id] = found
                for found in list(positions.values())[:FOLLOWED_PAGES]:  # the selection's rows
                    if found // PAGE not in pages:
                        pages[found // PAGE] = _read_page(
                            reader, view, order, found // PAGE, count, pages
                        )
            return InboxUpdate(generation, count, shift, pages, positions)

        return read

    def apply_update(self, update: InboxUpdate) -> bool:
        """Show a re-read without a model reset: new rows ahead of the screen's rows are
        inserted at the top (selection and scroll follow them), any other change adjusts the
        row count at the end and repaints the rows on screen. False if the update is stale
        (another view or order was chosen meanwhile)."""
        if update.generation != self._generation:
            return False
        self.counting = False  # the update's count is newer than a background count
        old, new = self._count, update.count
        grown = new - old
        pages = OrderedDict(sorted(update.pages.items()))
        if grown > 0 and update.shift == grown:
            self.beginInsertRows(QModelIndex(), 0, grown - 1)
            self._count, self._pages = new, pages
            self.endInsertRows()
        elif grown > 0:
            self.beginInsertRows(QModelIndex(), old, new - 1)
            self._count, self._pages = new, pages
            self.endInsertRows()
        elif grown < 0:
            self.beginRemoveRows(QModelIndex(), new, old - 1)
            self._count, self._pages = new, pages
            self.endRemoveRows()
        else:
            self._pages = pages
        if new:  # the view repaints what it shows (only rows on screen are read again)
            self.dataChanged.emit(self.index(0, 0), self.index(new - 1, len(self.COLUMNS) - 1))
        return True

    def _reset(self) -> None:
        """Another view or order: recount and start over (the only model reset)."""
        self._generation += 1
        self.counting = False
        with self._reading() as reader:
            count = reader.count(self._view)
        self.beginResetModel()
        self._pages.clear()
        self._count = count
        self.endResetModel()


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    """What :meth:`InboxModel.update_reader` read, for :meth:`InboxModel.apply_update`."""

    generation: int
    count: int
    shift: int | None
    """How far the anchor row moved (None: no anchor, or it left the view)."""
    pages: dict[int, list[Any]]
    positions: dict[int, int]
    """ticket id -> its row now (the tickets asked for that are still listed)."""


def _read_page(
    reader: PageReader,
    view: ViewFilter,
    order: Order,
    number: int,
    count: int,
    pages: Mapping[int, list[Any]],
) -> list[Any]:
    """Page ``number`` of ``count`` rows: by keyset next to a page in ``pages``, else counted
    from the nearer end."""
    start = number * PAGE
    end = min(start + PAGE, count)
    previous, following = pages.get(number - 1), pages.get(number + 1)
    if previous is not None and len(previous) == PAGE:
        last = previous[-1]
        return reader.page(view, order, end - start, after=(last.sort_key, last.id))
    if following:
        first = following[0]
        return reader.page(view, order, end - start, before=(first.sort_key, first.id))
    if start <= count - end:
        return reader.page(view, order, end - start, offset=start)
    return reader.page(view, order, end - start, offset=count - end, from_end=True)


class _NoRows:
    """The reader of a model with neither the cache nor a preview yet: an empty inbox."""

    def page(self, view: ViewFilter, order: Order, limit: int, **_bounds: Any) -> list[Any]:
        """No rows."""
        return []

    def count(self, view: ViewFilter) -> int:
        """None listed."""
        return 0


_NO_ROWS = _NoRows()


_TEXT_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole})
_FONT_ROLE = Qt.ItemDataRole.FontRole
_DECORATION_ROLE = Qt.ItemDataRole.DecorationRole
_BACKGROUND_ROLE = Qt.ItemDataRole.BackgroundRole
_ROLES = _TEXT_ROLES | {_FONT_ROLE, _DECORATION_ROLE, _BACKGROUND_ROLE, TICKET_ID_ROLE}


@functools.lru_cache(maxsize=4096)
def _due_time(text: str) -> datetime | None:
    """An SLA due time as stored (ISO-8601 with an offset or Z); None if unreadable."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
