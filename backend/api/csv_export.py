"""CSV export of audit records, safe to open in a spreadsheet.

Any cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
``'`` so that Excel, LibreOffice and Sheets show it as text instead of running it as a formula
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from app.audit.wire import to_wire
from backend import crud
from backend.core.db import Database
from backend.models import AuditRecordRow

COLUMNS = (
    "occurred_at",
    "agent",
    "system_id",
    "ticket_id",
    "action",
    "outcome",
    "before",
    "after",
    "device_id",
    "seq",
    "id",
    "client_version",
    "prev_hash",
    "hash",
    "signature",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PAGE = 1000


def safe_cell(value: Any) -> str:
    """The text of ``value`` for a CSV cell, defused against formula injection."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def csv_rows(
    database: Database, where: crud.RecordFilter, visible: ColumnElement[bool]
) -> Iterator[str]:
    """The CSV text in chunks: a BOM and the header, then one page of records at a time."""
    yield "\ufeff" + _line(list(COLUMNS))
    after: tuple[str, int] | None = None
    while True:
        page_visible = visible
        if after is not None:
            device, seq = after
            page_visible = and_(
                visible,
                or_(
                    AuditRecordRow.device_id > device,
                    and_(AuditRecordRow.device_id == device, AuditRecordRow.seq > seq),
                ),
            )
        with database.session() as session:
            records, has_more = crud.list_records(session, where, visible=page_visible, limit=_PAGE)
        chunk = []
        for record in records:
            wire = to_wire(record)
            chunk.append(_line([safe_cell(wire[name]) for name in COLUMNS]))
        if chunk:
            yield "".join(chunk)
        if not has_more or not records:
            return
        after = (records[-1].device_id, records[-1].seq)
