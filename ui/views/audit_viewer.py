"""The supervisors' audit viewer: filter the backend's audit records, export them to CSV.

Reads ``GET /api/v1/audit/records`` (filters ``agent``, ``system_id``, ``ticket_id``,
``action``, ``since``/``until``) with httpx on the event loop — the window never waits. Export
is an export of customer data: it asks for the agent's second factor (step-up), then downloads
``GET /api/v1/audit/export.csv`` with the same filters — the backend spends the grant, records
what it was used for, and escapes every cell that a spreadsheet would run as a formula (OWASP
"CSV injection"). The file appears only complete (written beside it, then renamed), and the
export is itself audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from ui.stepup_prompt import EXPORT_CUSTOMER_DATA, StepUpPrompt, request_step_up

if TYPE_CHECKING:
    from app.stepup import Grant

COLUMNS = ("occurred_at", "agent", "system_id", "ticket_id", "action", "outcome")
LIMIT = 1000


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

    def params(self, limit: int | None = LIMIT) -> dict[str, str | int]:
        """The query parameters of the current filters (with a page ``limit`` unless None)."""
        params: dict[str, str | int] = {} if limit is None else {"limit": limit}
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

    async def _backend(self) -> httpx.AsyncClient:
        """A client of the backend as this agent (the token read off the loop)."""
        url = str(self.ws.config.get("backend_url") or "").rstrip("/")
        if not url:
            raise ValueError(self.tr("No backend is configured (setting backend_url)."))
        token = await asyncio.to_thread(
            self.ws.secrets.get, BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY
        )
        return httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        )

    async def fetch(self, params: dict[str, str | int]) -> list[dict[str, Any]]:
        """The matching records from the backend."""
        async with await self._backend() as client:
            response = await client.get("/api/v1/audit/records", params=params)
            response.raise_for_status()
            body = response.json()
        return list(body["records"] if isinstance(body, dict) else body)

    async def download(self, path: Path, grant: Grant, params: dict[str, str | int]) -> int:
        """Save the backend's CSV export of ``params`` to ``path`` (spending ``grant``); the
        number of records. ``path`` is replaced only by a complete file."""
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
        )
        try:
            with handle:
                async with (
                    await self._backend() as client,
                    client.stream(
                        "GET", "/api/v1/audit/export.csv", params=params, headers=grant.headers()
                    ) as response,
                ):
                    if response.status_code >= 400:
                        await response.aread()
                        raise ValueError(_refusal(response))
                    async for chunk in response.aiter_bytes():
                        await asyncio.to_thread(handle.write, chunk)
            rows = await asyncio.to_thread(_count_records, Path(handle.name))
            os.replace(handle.name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(handle.name)
            raise
        return rows

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

    def show_error(self, message: str, summary: str = "") -> None:
        """A refusal in words on the status line (the step-up prompt reports through this)."""
        self.status.setText(f"{summary} {message}".strip())

    def _choose_export(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export CSV"), "audit.csv", self.tr("CSV files (*.csv)")
        )
        if path:
            self.request_export(Path(path))

    def request_export(self, path: Path) -> StepUpPrompt | None:
        """Ask for the second factor; once granted, export the current filters to ``path``."""
        params = self.params(limit=None)
        used_for = "audit export to CSV: " + (
            ", ".join(f"{key}={value}" for key, value in sorted(params.items())) or "all"
        )
        return request_step_up(  # kept as self.step_up_prompt while open
            self,
            EXPORT_CUSTOMER_DATA,
            len(self.records),
            used_for,
            on_granted=lambda grant: self.export_to(path, grant, params),
        )

    def export_to(
        self, path: Path, grant: Grant, params: dict[str, str | int] | None = None
    ) -> asyncio.Task[int]:
        """Download the export with ``grant``; the export itself is audited when it is saved."""
        self.export.setEnabled(False)
        self.status.setText(self.tr("Exporting…"))
        query = self.params(limit=None) if params is None else params

        async def export() -> int:
            rows = await self.download(path, grant, query)
            details = {"what": "audit_records", "format": "csv", "rows": rows}
            await self.ws.record_event("export", details=details)
            return rows

        def saved(rows: int) -> None:
            self.export.setEnabled(bool(self.records))
            self.status.setText(
                self.tr("Exported {n} records to {file}").format(n=rows, file=path.name)
            )

        def failed(error: BaseException) -> None:
            self.export.setEnabled(bool(self.records))
            self.status.setText(self.tr("The export failed: {error}").format(error=error))

        return run_op(export(), on_success=saved, on_error=failed)


def _count_records(path: Path) -> int:
    """The records in a CSV export (its header line not counted; cells may hold newlines)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def _refusal(response: httpx.Response) -> str:
    """The backend's reason for refusing a request, in its own words."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, dict):
        detail = detail.get("message") or detail.get("code")
    return f"HTTP {response.status_code}: {detail or response.reason_phrase}"
