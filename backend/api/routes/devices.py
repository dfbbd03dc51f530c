"""``/api/v1/devices``: a workstation registers its audit signing key; reads its stored chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from app.audit.signature import PUBLIC_KEY_LENGTH, BadKey, load_public_key
from app.audit.wire import MAX_NAME_LENGTH, to_wire
from backend import crud
from backend.api.deps import CurrentAgent, DatabaseDep, SettingsDep
from backend.errors import AccessDenied, BackendRefusal, NotFound
from backend.models import Device

router = APIRouter(prefix="/devices", tags=["devices"])


class DeviceRegistration(BaseModel):
    """``POST /api/v1/devices`` body."""

    device_id: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S")
    public_key: str = Field(
        min_length=PUBLIC_KEY_LENGTH,
        max_length=PUBLIC_KEY_LENGTH,
        description="base64 of the 32-byte Ed25519 public key",
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def register_device(
    body: DeviceRegistration, agent: CurrentAgent, database: DatabaseDep, response: Response
) -> dict[str, Any]:
    """Register a device's public key: 201 when new, 200 when already registered with the same
    key, 409 ``device_key_conflict`` for another key, 422 for a key that is not Ed25519."""
    try:
        load_public_key(body.public_key)
    except BadKey as exc:
        raise BackendRefusal(str(exc), code="invalid_public_key", status_code=422) from None
    for attempt in (1, 2):  # two registrations at once: the loser re-reads the winner's key
        with database.writer(), database.write_session() as session:
            try:
                device, created = crud.register_device(
                    session, device_id=body.device_id, public_key=body.public_key, agent=agent
                )
                session.commit()
                break
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
    if not created:
        response.status_code = status.HTTP_200_OK
    return {
        "device_id": device.device_id,
        "public_key": device.public_key,
        "agent": device.agent,
        "registered_at": device.registered_at.isoformat().replace("+00:00", "Z"),
    }


@router.get("/{device_id}/records")
def device_records(
    device_id: str,
    agent: CurrentAgent,
    database: DatabaseDep,
    settings: SettingsDep,
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=2**31)] = 1000,
) -> dict[str, Any]:
    """The device's stored chain after ``after_seq`` (for ``tabless audit verify --backend``):
    for the agent that registered the device, and admins; 404 for an unknown device."""
    with database.session() as session:
        device = session.get(Device, device_id)
        if device is None:
            raise NotFound(f"no device {device_id!r}")
        if device.agent_id != agent.id and not agent.role.may_administer:
            raise AccessDenied("only the agent that registered a device reads its chain")
        records = crud.device_chain(
            session, device_id, after_seq=after_seq, limit=min(limit, settings.max_list_limit)
        )
        public_key = device.public_key
    return {
        "device_id": device_id,
        "public_key": public_key,
        "records": [to_wire(record) for record in records],
    }
