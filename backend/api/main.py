"""The ``/api/v1`` router: every route here requires a bearer token."""

from fastapi import APIRouter

from backend.api.routes import admin, audit, devices, me, stepup

api_router = APIRouter()
api_router.include_router(audit.router)
api_router.include_router(devices.router)
api_router.include_router(me.router)
api_router.include_router(admin.router)
api_router.include_router(stepup.router)
