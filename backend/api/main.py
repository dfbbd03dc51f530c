"""The ``/api/v1`` router: every route here requires a bearer token."""

from fastapi import APIRouter

from backend.api.routes import audit

api_router = APIRouter()
api_router.include_router(audit.router)
