"""The composer's attachments: files the agent adds to a reply or note before sending.

The files are only listed here (name and size, each removable); the action service copies them
into the outbox when the reply is sent, so the agent may move or delete the originals after.
Files over the limit are refused at once, naming the file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.actions.outgoing import MAX_FILE_BYTES, MAX_FILES
from ui.labels import size_label

PATH_ROLE = Qt.ItemDataRole.UserRole


class OutgoingFiles(QWidget):
    """Attach / remove files for the next reply."""

    changed = Signal()
    """changed(): the list of files changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attach = QPushButton()
        self.attach.clicked.connect(self.choose)
        self.remove = QPushButton()
        self.remove.clicked.connect(self._remove_selected)
        self.list = QListWidget()
        self.list.setMaximumHeight(64)
        self.list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.list.currentItemChanged.connect(lambda *_: self._update())
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.attach)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.list)
        layout.addWidget(self.problem)
        self.retranslate()
        self._update()

    def retranslate(self) -> None:
        """Set the texts in the current language."""
        self.attach.setText(self.tr("Attach files…"))
        self.attach.setAccessibleName(self.tr("Attach files to this reply"))
        self.remove.setText(self.tr("Remove"))
        self.remove.setAccessibleName(self.tr("Remove the selected attachment"))
        self.list.setAccessibleName(self.tr("Files attached to this reply"))

    def files(self) -> tuple[Path, ...]:
        """The attached files, in the order added."""
        return tuple(Path(str(self.list.item(i).data(PATH_ROLE))) for i in range(self.list.count()))

    def add(self, paths: list[Path]) -> None:
        """Attach ``paths``; a missing or oversized file is refused with its name."""
        problems: list[str] = []
        present = set(self.files())
        for path in paths:
            if path in present:
                continue
            if self.list.count() >= MAX_FILES:
                problems.append(self.tr("At most {n} files per reply.").format(n=MAX_FILES))
                break
            try:
                size = path.stat().st_size
            except OSError:
                problems.append(self.tr("{name}: the file cannot be read.").format(name=path.name))
                continue
            if size > MAX_FILE_BYTES:
                problems.append(
                    self.tr("{name} is {size}; at most {limit} per file.").format(
                        name=path.name, size=size_label(size), limit=size_label(MAX_FILE_BYTES)
                    )
                )
                continue
            item = QListWidgetItem(f"{path.name}  ({size_label(size)})")
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
            present.add(path)
        self.problem.setText(" ".join(problems))
        self._update()
        self.changed.emit()

    def clear(self) -> None:
        """Forget every file (after the reply was recorded)."""
        self.list.clear()
        self.problem.clear()
        self._update()
        self.changed.emit()

    def choose(self) -> None:
        """Ask for files with the platform's dialog."""
        names, _filter = QFileDialog.getOpenFileNames(self, self.tr("Attach files"))
        if names:
            self.add([Path(name) for name in names])

    def _remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._update()
            self.changed.emit()

    def _update(self) -> None:
        has = self.list.count() > 0
        self.list.setVisible(has)
        self.remove.setVisible(has)
        self.remove.setEnabled(self.list.currentItem() is not None)
        self.problem.setVisible(bool(self.problem.text()))
