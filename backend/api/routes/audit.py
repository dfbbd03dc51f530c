"""``/api/v1/audit``: devices upload their signed, hash-chained records; supervisors read them.

Reading (list, detail, CSV export) goes through :func:`backend.authz.audit_visibility`: an
admin sees everything, a supervisor what its permission groups grant, an agent nothing (403).
A record that exists but is not visible answers 404, like one that does not exist. The CSV
export is an export of customer data: it also needs a step-up grant (:mod:`backend.stepup`).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from app.audit.wire import MAX_NAME_LENGTH, UploadBatch, UploadResult, WireError, to_wire
from backend import crud, stepup
from backend.api.csv_export import csv_rows
from backend.api.deps import (
    BearerCredentials,
    CurrentAgent,
    DatabaseDep,
    SettingsDep,
    authenticate,
)
from backend.api.routes.stepup import StepUpToken, spent
from backend.authz import audit_visibility
from backend.core.db import Database
from backend.errors import NotFound
from backend.stepup import Operation

router = APIRouter(prefix="/audit", tags=["audit"])

Name = Annotated[str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH)]
Moment = Annotated[
    datetime | None, Query(description="ISO-8601 with a zone, e.g. 2026-03-14T09:00:00Z")
]


_BATCH_SCHEMA = {
    "type": "object",
    "description": "app.audit.wire.UploadBatch.to_wire(): consecutive records of one device",
    "required": ["device_id", "records"],
    "additionalProperties": False,
    "properties": {
        "device_id": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
        "records": {
            "type": "array",
            "items": {"type": "object", "description": "app.audit.wire.to_wire(record)"},
        },
    },
    "example": {"device_id": "3f0c…", "records": ["<app.audit.wire.to_wire(record)>"]},
}


@router.post(
    "/batches",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def upload_batch(
    request: Request,
    credentials: BearerCredentials,
    database: DatabaseDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Store a device's records: idempotent by record id, all or nothing per batch.

    200 ``{"accepted", "duplicates", "last_seq"}``; 422 for a malformed record, one whose
    hash does not match or whose signature is not the device's; 409 when the device has not
    registered its key or the batch leaves a gap in or forks the device's chain; 413 for more
    than ``max_batch_records`` records; 401 / 429 as every endpoint.

    The body is read as bytes and parsed once instead of through a generic model; checking
    the token, reading, verifying and storing run in one worker thread, off the event loop
    (each hand-off to a thread cost ~0.3 ms of CPU, a tenth of the upload's own work). At
    most :func:`backend.main.upload_slots` uploads are processed at once; the others wait
    here, on the event loop, instead of on threads contending for the cores.
    """
    body = await request.body()
    async with request.app.state.upload_slots:
        result = await run_in_threadpool(
            store_body, request, database, credentials, body, settings.max_batch_records
        )
    return result.to_wire()


def store_body(
    request: Request,
    database: Database,
    credentials: HTTPAuthorizationCredentials | None,
    body: bytes,
    max_records: int,
) -> UploadResult:
    """Authenticate, then parse, check and store one upload body (see :func:`upload_batch`)."""
    agent = authenticate(request, database, credentials)
    batch = read_batch(body, max_records)
    return crud.upload_batch(database, batch, uploaded_by=agent.name)


def read_batch(body: bytes, max_records: int) -> UploadBatch:
    """The batch in ``body``: 422 naming what is wrong, 413 above ``max_records`` records."""
    data = parse_json(body)
    records = data.get("records") if isinstance(data, dict) else None
    if isinstance(records, list) and len(records) > max_records:
        raise HTTPException(413, f"{len(records)} records in one batch; send at most {max_records}")
    try:
        batch = UploadBatch.from_wire(data, fresh_json=True)
        batch.device_id.encode("utf-8")  # the records' texts: when hashed (crud.check_signed)
    except UnicodeEncodeError as exc:
        raise HTTPException(
            422, {"error": "invalid_batch", "field": "device_id", "message": f"not text ({exc})"}
        ) from None
    except WireError as exc:
        raise HTTPException(
            422,
            {
                "error": "invalid_record" if exc.field.startswith("records[") else "invalid_batch",
                "field": exc.field,
                "message": str(exc),
            },
        ) from None
    return batch


def parse_json(body: bytes) -> object:
    """``body`` as JSON; 422 ``invalid_json`` for anything else, NaN and Infinity included
    (spelled out, or a number too large for a float such as ``1e400``).

    The standard library's parser, built once: orjson would be faster but reads integers
    beyond 64 bits as floats, which changes a record's content (and so its hash).
    """
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise HTTPException(
            422, {"error": "invalid_json", "field": "body", "message": str(exc)[:300]}
        ) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


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
    responses={
        200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM"},
        403: {"description": "not a supervisor or admin, or ``step_up_required``"},
    },
)
def export_csv(
    reader: CurrentAgent,
    database: DatabaseDep,
    request: Request,
    device_id: Name = None,
    agent: Name = None,
    system_id: Name = None,
    ticket_id: Name = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Moment = None,
    until: Moment = None,
    x_step_up_token: StepUpToken = None,
) -> StreamingResponse:
    """The visible matching records as CSV (same filters as ``/records``, no paging).

    An export of customer data: it spends a step-up grant for ``export_customer_data``
    (header ``X-Step-Up-Token``; 403 ``step_up_required`` without a valid one), recorded with
    the query it was used for.

    Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
    tab or CR) are prefixed with ``'``.
    """
    where = _filter(device_id, agent, system_id, ticket_id, action, None, since, until)
    with database.session() as session:
        visible = audit_visibility(session, reader)
    used_for = f"GET {request.url.path}?{request.url.query}".rstrip("?")
    with database.write_session() as session:
        grant = stepup.redeem(
            session, reader, Operation.EXPORT_CUSTOMER_DATA, x_step_up_token, used_for
        )
        session.commit()
    spent(grant)
    return StreamingResponse(
        csv_rows(database, where, visible),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
