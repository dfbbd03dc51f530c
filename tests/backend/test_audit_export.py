"""What the supervisors' audit viewer needs: time filters and a spreadsheet-safe CSV export."""

from __future__ import annotations

import csv
import io

from app.audit.wire import new_record
from backend.api.csv_export import COLUMNS, safe_cell
from tests.backend.conftest import T0, RunningBackend, make_chain, sign


def test_time_window_filters(backend: RunningBackend) -> None:
    chain = make_chain(5)  # occurred_at = T0 + seq minutes
    backend.upload(chain)
    window = backend.listed(
        since=T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        until=chain[3].occurred_at.isoformat().replace("+00:00", "Z"),
    )
    assert window == chain[:3]
    assert backend.listed(since=chain[4].occurred_at.isoformat()) == [chain[4]]
    naive = backend.client().get("/api/v1/audit/records", params={"since": "2026-03-14T09:00:00"})
    assert naive.status_code == 422


def test_csv_export_defuses_formulas(backend: RunningBackend) -> None:
    device = "device-csv"
    evil = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR"]
    records = []
    for n, text in enumerate(evil):
        records.append(
            sign(
                new_record(
                    records[-1] if records else None,
                    device_id=device,
                    agent=text,
                    action="note",
                    client_version="0.1.0",
                    system_id="zendesk",
                    ticket_id=text,
                    after={"body": text, "n": n},
                    occurred_at=T0,
                )
            )
        )
    assert backend.upload(records).status_code == 200

    response = backend.client().get(
        "/api/v1/audit/export.csv",
        params={"device_id": device},
        headers={"X-Step-Up-Token": backend.step_up()},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.text
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    assert len(body) == len(evil)
    agent, ticket = COLUMNS.index("agent"), COLUMNS.index("ticket_id")
    for row, original in zip(body, evil, strict=True):
        assert row[agent] == "'" + original
        assert row[ticket] == "'" + original
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in body for cell in row
    )


def test_safe_cell() -> None:
    assert safe_cell(None) == ""
    assert safe_cell("fine") == "fine"
    assert safe_cell("=1") == "'=1"
    assert safe_cell(-3) == "'-3"
    assert safe_cell({"a": "=b"}) == '{"a": "=b"}'
    assert safe_cell("退款") == "退款"


def test_export_pages_through_many_records(backend: RunningBackend) -> None:
    chain = make_chain(1200)
    for start in range(0, 1200, 400):
        assert backend.upload(chain[start : start + 400]).status_code == 200
    response = backend.client().get(
        "/api/v1/audit/export.csv",
        params={"device_id": chain[0].device_id},
        headers={"X-Step-Up-Token": backend.step_up()},
    )
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    seq = COLUMNS.index("seq")
    assert [int(r[seq]) for r in rows[1:]] == list(range(1, 1201))
