"""A plain-language error line with the technical details on demand."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget


class ErrorBanner(QWidget):
    """Hidden until :meth:`show_error`; Details opens the full text, Dismiss hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.details_button = QPushButton()
        self.dismiss = QPushButton()
        self._details = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.dismiss)
        self.setStyleSheet("ErrorBanner { background: #fbe3e3; } QLabel { color: #7a1c1c; }")
        self.details_button.clicked.connect(self.show_details)
        self.dismiss.clicked.connect(self.hide)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        """Set the button texts."""
        self.details_button.setText(self.tr("Details…"))
        self.dismiss.setText(self.tr("Dismiss"))

    def show_error(self, summary: str, details: str = "") -> None:
        """Show ``summary``; ``details`` behind the Details button."""
        self.summary.setText(summary)
        self._details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def show_details(self) -> None:
        """The technical details in a dialog."""
        box = QMessageBox(self)
        box.setWindowTitle(self.tr("Error details"))
        box.setText(self.summary.text())
        box.setDetailedText(self._details)
        box.open()
