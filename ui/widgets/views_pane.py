"""The left pane: My tickets, Unassigned, All open, each system and queue, saved searches.

Each entry shows a live count. Counting runs on a worker thread (COUNT queries over the cache's
indexes), one count at a time and at most once a second while tickets change; the result comes
back as a queued signal.
Saved searches are kept with the window's layout (QSettings ``views/saved_searches``): they are
UI state, not settings the core needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget
from sqlalchemy import Engine

from app.cache import views
from app.cache.views import OPEN_STATUSES, ViewFilter
from ui.workers import LatestOnly, paced_interval_ms

log = logging.getLogger(__name__)
RECOUNT_MS = 1000  # counts follow a running sync about once a second

VIEW_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    view: ViewFilter
    query: str = ""  # a saved search's text


class ViewsPane(QWidget):
    """A tree of views with live counts; emits the chosen view."""

    view_chosen = Signal(object, str)
    """view_chosen(view_filter, search_text): the agent picked a view (search text for a saved
    search, else empty)."""

    def __init__(
        self,
        engine: Engine,
        systems: dict[str, str],
        agent: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._systems = systems  # system id -> title
        self._agent = agent
        self._queues: list[tuple[str, str | None]] = []
        self._counts: dict[str, int] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self._debounce = QTimer(self, singleShot=True, interval=RECOUNT_MS)
        self._debounce.timeout.connect(self.recount)
        self._worker = LatestOnly(self)
        self._worker.finished.connect(self._apply_counts)
        self._worker.failed.connect(self._count_failed)
        self._running = False
        self._again = False
        self.tree.currentItemChanged.connect(self._current_changed)
        self._rebuild()

    # --- entries ------------------------------------------------------------------------------
    def _fixed(self) -> list[tuple[_Entry, str]]:
        return [
            (
                _Entry("mine", ViewFilter(statuses=OPEN_STATUSES, assignee=self._agent)),
                self.tr("My tickets"),
            ),
            (
                _Entry("unassigned", ViewFilter(statuses=OPEN_STATUSES, unassigned=True)),
                self.tr("Unassigned"),
            ),
            (_Entry("open", ViewFilter(statuses=OPEN_STATUSES)), self.tr("All open")),
            (_Entry("all", ViewFilter()), self.tr("All tickets")),
        ]

    def saved_searches(self) -> list[str]:
        """The agent's saved search texts."""
        value = QSettings().value("views/saved_searches", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def save_search(self, text: str) -> None:
        """Keep ``text`` as a saved search (listed under Saved searches)."""
        text = text.strip()
        saved = self.saved_searches()
        if text and text not in saved:
            QSettings().setValue("views/saved_searches", [*saved, text])
            self._rebuild()

    def set_system(self, system_id: str, title: str | None) -> None:
        """A system was connected, renamed (``title``) or removed (None) while running: its
        view appears, follows or goes (it stays while its tickets are still cached), and the
        counts follow."""
        if title is None:
            self._systems.pop(system_id, None)
        else:
            self._systems[system_id] = title
        self._rebuild()
        self.schedule_recount()

    def _entries(self, queues: list[tuple[str, str | None]]) -> list[_Entry]:
        entries = [entry for entry, _ in self._fixed()]
        for system_id in self._system_ids(queues):
            entries.append(_Entry(f"system:{system_id}", ViewFilter(system_id=system_id)))
            for queue in self._queues_of(queues, system_id):
                entries.append(
                    _Entry(
                        f"queue:{system_id}:{queue}", ViewFilter(system_id=system_id, queue=queue)
                    )
                )
        return entries

    def _system_ids(self, queues: list[tuple[str, str | None]]) -> list[str]:
        return sorted(set(self._systems) | {system for system, _queue in queues})

    def _queues_of(self, queues: list[tuple[str, str | None]], system_id: str) -> list[str]:
        return [q for s, q in queues if s == system_id and q]

    def _item(self, parent: QTreeWidget | QTreeWidgetItem, entry: _Entry, title: str) -> None:
        item = QTreeWidgetItem(parent)
        item.setData(0, VIEW_ROLE, entry.view)
        item.setData(0, SEARCH_ROLE, entry.query)
        item.setData(0, Qt.ItemDataRole.UserRole, entry.key)
        item.setData(0, Qt.ItemDataRole.UserRole + 3, title)
        self._label(item)

    def _label(self, item: QTreeWidgetItem) -> None:
        title = item.data(0, Qt.ItemDataRole.UserRole + 3)
        count = self._counts.get(item.data(0, Qt.ItemDataRole.UserRole))
        item.setText(0, title if count is None else f"{title}  ({count:,})")
        item.setToolTip(0, item.text(0))

    def _rebuild(self) -> None:
        current = self.current_key()
        self.tree.blockSignals(True)
        self.tree.clear()
        for entry, title in self._fixed():
            self._item(self.tree, entry, title)
        systems = QTreeWidgetItem(self.tree, [self.tr("Systems")])
        systems.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for system_id in self._system_ids(self._queues):
            self._item(
                systems,
                _Entry(f"system:{system_id}", ViewFilter(system_id=system_id)),
                self._systems.get(system_id, system_id),
            )
            system_item = systems.child(systems.childCount() - 1)
            assert system_item is not None
            for queue in self._queues_of(self._queues, system_id):
                self._item(
                    system_item,
                    _Entry(
                        f"queue:{system_id}:{queue}", ViewFilter(system_id=system_id, queue=queue)
                    ),
                    queue,
                )
        saved = QTreeWidgetItem(self.tree, [self.tr("Saved searches")])
        saved.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for text in self.saved_searches():
            self._item(saved, _Entry(f"search:{text}", ViewFilter(), text), text)
        self.tree.expandAll()
        self.tree.blockSignals(False)
        self.select(current or "all")

    def retranslate(self) -> None:
        """Re-label every entry in the current language."""
        self._rebuild()
        self.tree.setAccessibleName(self.tr("Views"))

    # --- selection ----------------------------------------------------------------------------
    def current_key(self) -> str | None:
        """The key of the chosen view (``mine``, ``system:zendesk`` …)."""
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def select(self, key: str) -> bool:
        """Choose the view with ``key``; False if there is none."""
        for item in self._items():
            if item.data(0, Qt.ItemDataRole.UserRole) == key:
                self.tree.setCurrentItem(item)
                return True
        return False

    def _items(self) -> list[QTreeWidgetItem]:
        found: list[QTreeWidgetItem] = []
        root = self.tree.invisibleRootItem()
        stack: list[QTreeWidgetItem] = [root]
        while stack:
            item = stack.pop()
            if item is not root and item.data(0, Qt.ItemDataRole.UserRole):
                found.append(item)
            children = [item.child(i) for i in range(item.childCount())]
            stack.extend(reversed([c for c in children if c is not None]))
        return found

    def count_of(self, key: str) -> int | None:
        """The last count of one view (None before the first count)."""
        return self._counts.get(key)

    def _current_changed(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        if item is None or not item.data(0, Qt.ItemDataRole.UserRole):
            return
        self.view_chosen.emit(item.data(0, VIEW_ROLE), item.data(0, SEARCH_ROLE) or "")

    # --- counting -----------------------------------------------------------------------------
    def schedule_recount(self) -> None:
        """Recount soon: bursts of changes coalesce, a steady stream recounts every
        ``RECOUNT_MS`` — or less often when counting has become slow (see
        :func:`~ui.workers.paced_interval_ms`)."""
        if not self._debounce.isActive():
            self._debounce.start(paced_interval_ms(RECOUNT_MS, self._worker.last_cost_s))

    def recount(self) -> None:
        """Count every view on the worker thread (one count at a time)."""
        if self._running:
            self._again = True
            return
        self._running = True
        engine, entries = self._engine, self._entries

        def count() -> tuple[list[tuple[str, str | None]], dict[str, int]]:
            with engine.connect() as conn:
                queues = views.systems_and_queues(conn)
                listed = entries(queues)
                return queues, {entry.key: views.count(conn, entry.view) for entry in listed}

        self._worker.start(count)

    def _count_failed(self, _generation: int, error: object) -> None:
        self._running = False
        log.warning("the views could not be counted: %s", error)

    def shutdown(self) -> None:
        """Stop counting (the window is closing)."""
        self._debounce.stop()
        self._worker.shutdown()

    def _apply_counts(self, _generation: int, payload: object) -> None:
        self._running = False
        if self._again:
            self._again = False
            self.recount()
        queues, result = cast(tuple[list[tuple[str, str | None]], dict[str, int]], payload)
        self._counts = dict(result)
        if queues != self._queues:
            self._queues = list(queues)
            self._rebuild()
        else:
            for item in self._items():
                self._label(item)
