"""The supervisors' audit viewer: filter the backend's audit records, export them to CSV.

Reads ``GET /api/v1/audit/records`` (filters ``agent``, ``system_id``, ``ticket_id``,
``action``, ``since``/``until``) with httpx on the event loop — the window never waits. The CSV
export escapes every cell that a spreadsheet would run as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QDateTime, QTimeZone
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY, Workstation
from ui.bridge import run_op

COLUMNS = ("occurred_at", "agent", "system_id", "ticket_id", "action", "outcome")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIMIT = 1000


def escape_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ tab or CR gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` (the columns above) as UTF-8 CSV with a BOM, every cell escaped."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([escape_cell(record.get(column)) for column in COLUMNS])


class AuditViewer(QDialog):
    """Filters, a table of matching records, Export CSV."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workstation
        self.records: list[dict[str, Any]] = []
        self.agent = QLineEdit()
        self.system = QLineEdit()
        self.ticket = QLineEdit()
        self.action = QLineEdit()
        self.use_since = QCheckBox()
        self.since = QDateTimeEdit(QDateTime.currentDateTimeUtc().addDays(-7))
        self.use_until = QCheckBox()
        self.until = QDateTimeEdit(QDateTime.currentDateTimeUtc())
        for edit in (self.since, self.until):
            edit.setTimeZone(QTimeZone.utc())
            edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
            edit.setCalendarPopup(True)
        self.search = QPushButton()
        self.export = QPushButton()
        self.export.setEnabled(False)
        self.status = QLabel()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.form = QFormLayout()
        self._labels = [QLabel() for _ in range(6)]
        for label, field in zip(
            self._labels,
            (self.agent, self.system, self.ticket, self.action),
            strict=False,
        ):
            self.form.addRow(label, field)
        for label, check, edit in (
            (self._labels[4], self.use_since, self.since),
            (self._labels[5], self.use_until, self.until),
        ):
            row = QHBoxLayout()
            row.addWidget(check)
            row.addWidget(edit, 1)
            self.form.addRow(label, row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search)
        buttons.addWidget(self.export)
        buttons.addStretch(1)
        buttons.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.search.clicked.connect(self.run_search)
        self.export.clicked.connect(self._choose_export)
        self.resize(900, 560)
        self.retranslate()

    def retranslate(self) -> None:
        """Every visible string."""
        self.setWindowTitle(self.tr("Audit log"))
        texts = (
            self.tr("Agent"),
            self.tr("System"),
            self.tr("Ticket"),
            self.tr("Action"),
            self.tr("From"),
            self.tr("Until"),
        )
        for label, text in zip(self._labels, texts, strict=True):
            label.setText(text)
        for field, text in zip(
            (self.agent, self.system, self.ticket, self.action, self.since, self.until),
            texts,
            strict=True,
        ):
            field.setAccessibleName(text)
        self.search.setText(self.tr("Search"))
        self.export.setText(self.tr("Export CSV…"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("When"),
                self.tr("Agent"),
                self.tr("System"),
                self.tr("Ticket"),
                self.tr("Action"),
                self.tr("Outcome"),
            ]
        )

    def params(self) -> dict[str, str | int]:
        """The query parameters of the current filters."""
        params: dict[str, str | int] = {"limit": LIMIT}
        for key, field in (
            ("agent", self.agent),
            ("system_id", self.system),
            ("ticket_id", self.ticket),
            ("action", self.action),
        ):
            if field.text().strip():
                params[key] = field.text().strip()
        for key, check, edit in (
            ("since", self.use_since, self.since),
            ("until", self.use_until, self.until),
        ):
            if check.isChecked():
                moment = datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)
                params[key] = moment.isoformat().replace("+00:00", "Z")
        return params

    async def fetch(self, params: dict[str, str | int]) -> list[dict[str, Any]]:
        """The matching records from the backend."""
        url = str(self.ws.config.get("backend_url") or "").rstrip("/")
        if not url:
            raise ValueError(self.tr("No backend is configured (setting backend_url)."))
        token = await asyncio.to_thread(
            self.ws.secrets.get, BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY
        )
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        ) as client:
            response = await client.get("/api/v1/audit/records", params=params)
            response.raise_for_status()
            body = response.json()
        return list(body["records"] if isinstance(body, dict) else body)

    def run_search(self) -> asyncio.Task[list[dict[str, Any]]]:
        """Query the backend off the GUI thread; the table fills when the answer is in."""
        self.search.setEnabled(False)
        self.status.setText(self.tr("Loading…"))
        return run_op(self.fetch(self.params()), on_success=self._show, on_error=self._failed)

    def _show(self, records: list[dict[str, Any]]) -> None:
        self.search.setEnabled(True)
        self.records = records
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            for column, key in enumerate(COLUMNS):
                value = record.get(key)
                self.table.setItem(
                    row, column, QTableWidgetItem("" if value is None else str(value))
                )
        self.export.setEnabled(bool(records))
        self.status.setText(self.tr("{n} records").format(n=len(records)))

    def _failed(self, error: BaseException) -> None:
        self.search.setEnabled(True)
        self.status.setText(self.tr("Could not load the audit log: {error}").format(error=error))

    def _choose_export(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export CSV"), "audit.csv", self.tr("CSV files (*.csv)")
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> asyncio.Task[None]:
        """Write the shown records to ``path`` as escaped CSV; the export itself is audited."""
        write_csv(path, self.records)
        details = {"what": "audit_records", "format": "csv", "rows": len(self.records)}
        return asyncio.ensure_future(self.ws.record_event("export", details=details))
