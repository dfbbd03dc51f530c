"""``create_app(settings)``: the FastAPI application of the backend."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool

from backend import crud
from backend.api.main import api_router
from backend.api.routes import health
from backend.core.config import Settings
from backend.core.db import Database, head_revision
from backend.core.logs import AccessLogMiddleware
from backend.core.ratelimit import TokenBuckets
from backend.errors import BackendRefusal

logger = logging.getLogger("tabless.backend")


def _version() -> str:
    try:
        return metadata.version("tabless")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app over ``settings`` (default: from the environment).

    At startup the schema is migrated to the newest revision and, when
    ``settings.bootstrap_token`` is set, the bootstrap agent is created or updated.
    """
    settings = settings or Settings()
    database = Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(prepare_database, database, settings)
        try:
            yield
        finally:
            database.dispose()

    app = FastAPI(
        title="Tabless backend",
        version=_version(),
        summary="Signed, hash-chained audit records; agents, devices and permission groups.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.schema_revision = head_revision()
    app.state.rate_limits = TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)
    app.state.upload_slots = asyncio.Semaphore(upload_slots())
    app.include_router(health.router)
    app.include_router(api_router, prefix="/api/v1")
    app.add_exception_handler(BackendRefusal, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database_unavailable)  # type: ignore[arg-type]
    app.add_middleware(AccessLogMiddleware)
    return app


def upload_slots() -> int:
    """How many audit uploads one process works on at once: three per core. An upload is
    about half CPU (parsing, hashing, signatures) and half waiting for the database, so a few
    per core keep the cores busy; more only add threads contending for them (measured with
    ``python -m bench audit`` on 2 cores with 32 uploads in flight: limited to 6, 8.4-9.0k
    records/s at 136 us CPU each; unlimited, 7.2-7.7k at 165-172 us)."""
    return 3 * (os.cpu_count() or 1)


def prepare_database(database: Database, settings: Settings) -> None:
    """Migrate, then create or update the bootstrap agent (when a token is configured)."""
    database.migrate()
    if settings.bootstrap_token is None:
        return
    for attempt in (1, 2):  # two replicas starting at once: the loser updates instead
        with database.write_session() as session:
            try:
                crud.upsert_agent(
                    session,
                    name=settings.bootstrap_agent,
                    role=settings.bootstrap_role,
                    token=settings.bootstrap_token.get_secret_value(),
                )
                session.commit()
                return
            except IntegrityError:
                if attempt == 2:
                    raise


async def _refused(_request: Request, exc: BackendRefusal) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
    """The database is busy or unreachable: 503 and a retry hint, never a 500."""
    logger.warning("database unavailable", extra={"error": type(exc.orig).__name__})
    return JSONResponse(
        {"detail": {"error": "database_unavailable", "message": "the database is busy; retry"}},
        status_code=503,
        headers={"Retry-After": "1"},
    )
