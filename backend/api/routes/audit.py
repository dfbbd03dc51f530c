"""``/api/v1/audit``: devices upload their signed, hash-chained records; supervisors read them.

Reading (list, detail, CSV export) goes through :func:`backend.authz.audit_visibility`: an
admin sees everything, a supervisor what its permission groups grant, an agent nothing (403).
A record that exists but is not visible answers 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import StreamingResponse

from app.audit.wire import MAX_NAME_LENGTH, UploadBatch, WireError, to_wire
from backend import crud
from backend.api.csv_export import csv_rows
from backend.api.deps import CurrentAgent, DatabaseDep, SettingsDep
from backend.authz import audit_visibility
from backend.errors import NotFound

router = APIRouter(prefix="/audit", tags=["audit"])

_BATCH_EXAMPLE = {
    "device_id": "3f0c…",
    "records": ["<app.audit.wire.to_wire(record)>"],
}

Name = Annotated[str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH)]
Moment = Annotated[
    datetime | None, Query(description="ISO-8601 with a zone, e.g. 2026-03-14T09:00:00Z")
]


@router.post("/batches")
def upload_batch(
    body: Annotated[
        dict[str, Any],
        Body(description="app.audit.wire.UploadBatch.to_wire()", examples=[_BATCH_EXAMPLE]),
    ],
    agent: CurrentAgent,
    database: DatabaseDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Store a device's records: idempotent by record id, all or nothing per batch.

    200 ``{"accepted", "duplicates", "last_seq"}``; 422 for a malformed record, one whose
    hash does not match or whose signature is not the device's; 409 when the device has not
    registered its key or the batch leaves a gap in or forks the device's chain.
    """
    records = body.get("records")
    if isinstance(records, list) and len(records) > settings.max_batch_records:
        raise HTTPException(
            413,
            f"{len(records)} records in one batch; send at most {settings.max_batch_records}",
        )
    try:
        batch = UploadBatch.from_wire(body)
    except WireError as exc:
        raise HTTPException(
            422,
            {
                "error": "invalid_record" if exc.field.startswith("records[") else "invalid_batch",
                "field": exc.field,
                "message": str(exc),
            },
        ) from None
    return crud.upload_batch(database, batch, uploaded_by=agent.name).to_wire()


def _filter(
    device_id: Name = None,
    agent: Name = None,
    system_id: Name = None,
    ticket_id: Name = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    since: Moment = None,
    until: Moment = None,
) -> crud.RecordFilter:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, f"{name}: give the zone (e.g. a trailing Z)")
    return crud.RecordFilter(
        device_id=device_id,
        agent=agent,
        system_id=system_id,
        ticket_id=ticket_id,
        action=action,
        after_seq=after_seq,
        since=since,
        until=until,
    )


@router.get("/records")
def list_records(
    reader: CurrentAgent,
    database: DatabaseDep,
    settings: SettingsDep,
    device_id: Name = None,
    agent: Name = None,
    system_id: Name = None,
    ticket_id: Name = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=2**31)] = 100,
) -> dict[str, Any]:
    """Visible matching records in (device, seq) order: ``{"records": [...], "has_more"}``.

    Filters: ``agent``, ``system_id``, ``ticket_id``, ``action``, ``device_id``, and the time
    window ``since`` (inclusive) / ``until`` (exclusive) on ``occurred_at``. Page through one
    device with ``device_id`` and ``after_seq`` = the last seq received.
    """
    where = _filter(device_id, agent, system_id, ticket_id, action, after_seq, since, until)
    with database.session() as session:
        visible = audit_visibility(session, reader)
        records, has_more = crud.list_records(
            session, where, visible=visible, limit=min(limit, settings.max_list_limit)
        )
    return {"records": [to_wire(record) for record in records], "has_more": has_more}


@router.get("/records/{record_id}")
def get_record(record_id: str, reader: CurrentAgent, database: DatabaseDep) -> dict[str, Any]:
    """One record by id; 404 when it does not exist or the caller may not see it."""
    with database.session() as session:
        visible = audit_visibility(session, reader)
        record = crud.get_record(session, record_id, visible=visible)
    if record is None:
        raise NotFound(f"no audit record {record_id} that you may read")
    return to_wire(record)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM"}},
)
def export_csv(
    reader: CurrentAgent,
    database: DatabaseDep,
    device_id: Name = None,
    agent: Name = None,
    system_id: Name = None,
    ticket_id: Name = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Moment = None,
    until: Moment = None,
) -> StreamingResponse:
    """The visible matching records as CSV (same filters as ``/records``, no paging).

    Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
    tab or CR) are prefixed with ``'``.
    """
    where = _filter(device_id, agent, system_id, ticket_id, action, None, since, until)
    with database.session() as session:
        visible = audit_visibility(session, reader)
    return StreamingResponse(
        csv_rows(database, where, visible),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
