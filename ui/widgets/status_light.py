"""A coloured light per system in the status bar; the reason on hover."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QWidget

from app.sync.health import Light

COLOURS = {
    Light.GREEN: "#2e9d4f",
    Light.AMBER: "#e0a100",
    Light.RED: "#d23b3b",
    Light.GREY: "#9a9a9a",
}


class StatusLight(QLabel):
    """``● Title`` coloured by the system's light."""

    def __init__(self, system_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.system_id = system_id
        self.title = title
        self.light = Light.GREY
        self.setAccessibleName(title)
        self.set_state(Light.GREY, "")

    def set_state(self, light: Light, tooltip: str) -> None:
        """Show ``light`` with ``tooltip`` (the reason, last sync, last error)."""
        self.light = light
        self.setText(
            f'<span style="color:{COLOURS[light]}; font-size:14px">●</span> '
            f"{html.escape(self.title)}"
        )
        self.setToolTip(tooltip)
        self.setAccessibleDescription(tooltip)
