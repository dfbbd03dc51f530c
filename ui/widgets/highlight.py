"""Paint a cell's text with the search matches in bold — escaped, never interpreted as HTML."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.cache.search import highlight


def marked_html(text: str, query: str) -> str:
    """``text`` as HTML with each match of ``query`` in <b>; everything else escaped."""
    ranges = highlight(text, query, prefix_last=True) if query.strip() else []
    parts: list[str] = []
    position = 0
    for start, end in ranges:
        parts.append(html.escape(text[position:start]))
        parts.append("<b><u>" + html.escape(text[start:end]) + "</u></b>")
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts).replace("\n", " ")


class HighlightDelegate(QStyledItemDelegate):
    """Draws matches of :attr:`query` in bold (the inbox's subject column while searching)."""

    query = ""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not self.query:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        text = item.text
        item.text = ""
        style = item.widget.style() if item.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, item.widget)
        document = QTextDocument()
        document.setDefaultFont(item.font)
        document.setDocumentMargin(0)
        document.setHtml(marked_html(text, self.query))
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, item, item.widget)
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(item.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, item.palette.color(role))
        painter.save()
        painter.translate(area.left(), area.top() + (area.height() - document.size().height()) / 2)
        painter.setClipRect(area.translated(-area.left(), -area.top()))
        document.documentLayout().draw(painter, context)
        painter.restore()
