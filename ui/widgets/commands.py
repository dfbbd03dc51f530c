"""The command palette (Ctrl+K, fuzzy filter over every action) and the shortcut cheat sheet."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def fuzzy_score(query: str, text: str) -> int | None:
    """Subsequence match of ``query`` in ``text`` (case-folded); higher is better, None: no match.

    Consecutive letters and matches at word starts score more, so "sp" ranks "Set pending"
    above "Supervisor".
    """
    query, text = query.casefold().replace(" ", ""), text.casefold()
    if not query:
        return 0
    score, position, previous = 0, 0, -2
    for char in query:
        found = text.find(char, position)
        if found < 0:
            return None
        score += 1
        if found == previous + 1:
            score += 3
        if found == 0 or not text[found - 1].isalnum():
            score += 5
        previous, position = found, found + 1
    return score * 100 - len(text)


def _label(action: QAction) -> str:
    return action.text().replace("&", "")


class CommandPalette(QDialog):
    """Type a few letters of any action; Enter runs the best match."""

    def __init__(self, actions: Sequence[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Command palette"))
        self._actions = [a for a in actions if a.text()]
        self.query = QLineEdit()
        self.query.setPlaceholderText(self.tr("Type a command…"))
        self.query.setAccessibleName(self.tr("Command"))
        self.results = QListWidget()
        self.results.setAccessibleName(self.tr("Matching commands"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.results)
        self.query.textChanged.connect(self._filter)
        self.query.returnPressed.connect(self._run_current)
        self.results.itemActivated.connect(lambda _item: self._run_current())
        self.query.installEventFilter(self)
        self.resize(520, 360)
        self._filter("")

    def eventFilter(self, watched: object, event: object) -> bool:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up)
        ):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = max(0, min(self.results.count() - 1, self.results.currentRow() + step))
            self.results.setCurrentRow(row)
            return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def _filter(self, text: str) -> None:
        scored = []
        for action in self._actions:
            if not action.isEnabled():
                continue
            score = fuzzy_score(text, _label(action))
            if score is not None:
                scored.append((score, _label(action), action))
        scored.sort(key=lambda item: (-item[0], item[1]))
        self.results.clear()
        for _score, label, action in scored:
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            item = QListWidgetItem(f"{label}    {shortcut}" if shortcut else label)
            item.setData(Qt.ItemDataRole.UserRole, action)
            self.results.addItem(item)
        self.results.setCurrentRow(0)

    def matches(self) -> list[str]:
        """The labels currently listed, best first."""
        return [
            _label(self.results.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.results.count())
        ]

    def _run_current(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        action = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        action.trigger()


class CheatSheet(QDialog):
    """Every action with its shortcut (F1 / Ctrl+/)."""

    def __init__(self, actions: Sequence[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        rows = [(a, a.shortcuts()) for a in actions if a.text() and a.shortcuts()]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Shortcut")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName(self.tr("Keyboard shortcuts"))
        for row, (action, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(_label(action)))
            text = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
            self.table.setItem(row, 1, QTableWidgetItem(text))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 560)
