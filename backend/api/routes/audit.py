"""``/api/v1/audit``: devices upload their hash-chained records; supervisors read them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query

from app.audit.wire import MAX_NAME_LENGTH, UploadBatch, WireError, to_wire
from backend import crud
from backend.api.deps import AuditReader, CurrentAgent, DatabaseDep, SettingsDep

router = APIRouter(prefix="/audit", tags=["audit"])

_BATCH_EXAMPLE = {
    "device_id": "3f0c…",
    "records": ["<app.audit.wire.to_wire(record)>"],
}

Name = Annotated[str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH)]


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

    200 ``{"accepted", "duplicates", "last_seq"}``; 422 for a malformed record or one whose
    hash does not match; 409 when the batch leaves a gap in or forks the device's chain.
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


@router.get("/records")
def list_records(
    reader: AuditReader,
    database: DatabaseDep,
    settings: SettingsDep,
    device_id: Name = None,
    agent: Name = None,
    system_id: Name = None,
    ticket_id: Name = None,
    action: Name = None,
    after_seq: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> dict[str, Any]:
    """Matching records in (device, seq) order: ``{"records": [...], "has_more": bool}``.

    Page through one device with ``device_id`` and ``after_seq`` = the last seq received.
    """
    where = crud.RecordFilter(
        device_id=device_id,
        agent=agent,
        system_id=system_id,
        ticket_id=ticket_id,
        action=action,
        after_seq=after_seq,
    )
    with database.session() as session:
        records, has_more = crud.list_records(
            session, where, limit=min(limit, settings.max_list_limit)
        )
    return {"records": [to_wire(record) for record in records], "has_more": has_more}
