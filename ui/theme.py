"""Colours derived from the current palette, so light and dark themes both stay readable.

Qt follows the OS colour scheme itself (``QStyleHints.colorScheme``; Fusion and the native
styles switch their palette); what we paint by hand — the conversation's bubbles — takes its
colours from that palette here, never from fixed light-theme values. Every text colour is pushed
toward black or white until it reaches the WCAG AA contrast (4.5:1) on its background.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

AA_CONTRAST = 4.5
NOTE_TINT = QColor("#e0a100")  # amber: internal notes
REPLY_TINT_WEIGHT = 0.12
NOTE_TINT_WEIGHT = 0.28
ERROR_TINT = QColor("#d23b3b")


def _channel(value: float) -> float:
    value /= 255.0
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    """WCAG relative luminance of ``colour`` (0 black … 1 white)."""
    return (
        0.2126 * _channel(colour.red())
        + 0.7152 * _channel(colour.green())
        + 0.0722 * _channel(colour.blue())
    )


def contrast(first: QColor, second: QColor) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(base: QColor, tint: QColor, weight: float) -> QColor:
    """``base`` moved ``weight`` (0…1) of the way toward ``tint``."""
    return QColor(
        round(base.red() + (tint.red() - base.red()) * weight),
        round(base.green() + (tint.green() - base.green()) * weight),
        round(base.blue() + (tint.blue() - base.blue()) * weight),
    )


def readable(colour: QColor, background: QColor, minimum: float = AA_CONTRAST) -> QColor:
    """``colour``, moved toward black or white just enough to reach ``minimum`` on
    ``background``."""
    target = QColor("black") if luminance(background) > 0.18 else QColor("white")
    candidate = QColor(colour)
    step = 0.0
    while contrast(candidate, background) < minimum and step < 1.0:
        step = min(1.0, step + 0.05)
        candidate = mix(colour, target, step)
    return candidate


def is_dark(palette: QPalette) -> bool:
    """True when the palette's base (text field) colour is dark."""
    return luminance(palette.color(QPalette.ColorRole.Base)) < 0.18


@dataclass(frozen=True, slots=True)
class BubbleColours:
    """Backgrounds and text colours of the conversation, as ``#rrggbb``."""

    reply: str
    note: str
    event: str
    text: str
    muted: str
    note_label: str
    error: str
    link: str

    def background(self, kind: str) -> str:
        """The bubble background of a message ``kind`` (reply, note, event)."""
        return self.note if kind == "note" else self.event if kind == "event" else self.reply


def bubble_colours(palette: QPalette) -> BubbleColours:
    """The conversation's colours for ``palette`` (light or dark)."""
    role = QPalette.ColorRole
    base = palette.color(role.Base)
    text = palette.color(role.Text)
    reply = mix(base, palette.color(role.Highlight), REPLY_TINT_WEIGHT)
    note = mix(base, NOTE_TINT, NOTE_TINT_WEIGHT)
    event = mix(base, text, 0.07)
    bubbles = (reply, note, event)
    return BubbleColours(
        reply=reply.name(),
        note=note.name(),
        event=event.name(),
        text=_readable_on(text, bubbles).name(),
        muted=_readable_on(mix(text, base, 0.4), bubbles).name(),
        note_label=readable(NOTE_TINT, note).name(),
        error=_readable_on(ERROR_TINT, bubbles).name(),
        link=_readable_on(palette.color(role.Link), bubbles).name(),
    )


def _readable_on(colour: QColor, backgrounds: tuple[QColor, ...]) -> QColor:
    for background in backgrounds:  # all near the base colour: one direction serves them all
        colour = readable(colour, background)
    return colour


def muted_text(palette: QPalette) -> str:
    """Secondary text on the window background (still AA-readable)."""
    role = QPalette.ColorRole
    window, text = palette.color(role.Window), palette.color(role.WindowText)
    return readable(mix(text, window, 0.4), window).name()


def dark_palette() -> QPalette:
    """A dark palette (for tests and for platforms whose style has none)."""
    palette = QPalette()
    role = QPalette.ColorRole
    for name, value in (
        (role.Window, "#2b2d30"),
        (role.WindowText, "#e6e6e6"),
        (role.Base, "#1e1f22"),
        (role.AlternateBase, "#27292c"),
        (role.Text, "#e6e6e6"),
        (role.Button, "#2f3136"),
        (role.ButtonText, "#e6e6e6"),
        (role.Highlight, "#3574f0"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#3c3f41"),
        (role.ToolTipText, "#e6e6e6"),
        (role.PlaceholderText, "#8c8c8c"),
        (role.Link, "#7aa7ff"),
    ):
        palette.setColor(name, QColor(value))
    return palette
