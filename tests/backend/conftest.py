"""Backend fixtures: a fresh database on SQLite and on PostgreSQL, a running backend, chains.

PostgreSQL: the server on 127.0.0.1:5432 (trust auth). Each test gets its own database, named
after this session's unique prefix; all of them are dropped when the session ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyotp
import pytest
from psycopg import sql

from app.audit.signature import SigningKey
from app.audit.wire import AuditRecord, ChainTip, from_wire, new_record, to_wire
from backend.core.config import Settings
from backend.main import create_app
from sandbox.server import ServerThread

PG_HOST = "127.0.0.1"
PG_PORT = 5432
TOKEN = "test-bootstrap-token-7f3a"


def _admin_connection() -> tuple[psycopg.Connection[Any], str]:
    errors = []
    for user in ("postgres", "root"):
        try:
            connection = psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True
            )
        except psycopg.OperationalError as exc:
            errors.append(f"{user}: {exc}")
            continue
        return connection, user
    raise RuntimeError("PostgreSQL on 127.0.0.1:5432 is not reachable: " + "; ".join(errors))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Callable[[], str]]:
    """``new_url()`` creates an empty PostgreSQL database and returns its SQLAlchemy URL."""
    admin, user = _admin_connection()
    prefix = f"tabless_backend_test_{uuid.uuid4().hex[:8]}"
    created: list[str] = []

    def new_url() -> str:
        name = f"{prefix}_{len(created)}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"

    yield new_url
    for name in created:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    new_url: Callable[[], str] = request.getfixturevalue("postgres_database")
    return new_url()


@dataclass
class RunningBackend:
    """A backend served on 127.0.0.1 over HTTP, and clients for it."""

    url: str
    database_url: str
    server: ServerThread
    clients: list[httpx.Client] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    totp_secrets: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        """An HTTP client sending ``token`` (None: no Authorization header)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def register(self, device_id: str, token: str | None = TOKEN) -> httpx.Response:
        """Register ``device_id`` with its test key (:func:`device_key`)."""
        body = {"device_id": device_id, "public_key": device_key(device_id).public_key}
        response = self.client(token).post("/api/v1/devices", json=body)
        if response.status_code in (200, 201):
            self.registered.add(device_id)
        return response

    def upload(self, records: list[AuditRecord], token: str | None = TOKEN) -> httpx.Response:
        """POST one batch of ``records`` (all from one device), registering the device first."""
        device_id = records[0].device_id
        if device_id not in self.registered:
            self.register(device_id, token)
        body = {"device_id": device_id, "records": [to_wire(r) for r in records]}
        return self.client(token).post("/api/v1/audit/batches", json=body)

    def step_up(self, token: str = TOKEN, operation: str = "export_customer_data") -> str:
        """A fresh step-up grant of ``token``'s agent for ``operation``, earned with TOTP (the
        agent enrols on first use). Two per agent per 30 s: a code is accepted once."""
        client = self.client(token)
        if token not in self.totp_secrets:
            enrolled = client.post("/api/v1/step-up/totp/enrol")
            assert enrolled.status_code == 201, enrolled.text
            self.totp_secrets[token] = enrolled.json()["secret"]
        totp = pyotp.TOTP(self.totp_secrets[token])
        now = datetime.now(UTC)
        for moment in (now, now + timedelta(seconds=30)):
            response = client.post(
                "/api/v1/step-up/totp/verify",
                json={"operation": operation, "code": totp.at(moment)},
            )
            if response.status_code == 200:
                grant: str = response.json()["step_up_token"]
                return grant
        raise AssertionError(f"no step-up: {response.text}")

    def listed(self, **query: Any) -> list[AuditRecord]:
        """The records ``GET /api/v1/audit/records`` returns for ``query``."""
        response = self.client().get("/api/v1/audit/records", params=query)
        assert response.status_code == 200, response.text
        return [from_wire(item) for item in response.json()["records"]]


@pytest.fixture
def start_backend(database_url: str) -> Iterator[Callable[..., RunningBackend]]:
    """``start_backend(**settings)``: serve the backend over ``database_url``."""
    started: list[RunningBackend] = []

    def start(**settings: Any) -> RunningBackend:
        settings.setdefault("bootstrap_token", TOKEN)
        app = create_app(Settings(database_url=database_url, **settings))
        server = ServerThread(app).start()
        backend = RunningBackend(url=server.url, database_url=database_url, server=server)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        for client in backend.clients:
            client.close()
        backend.server.stop()


@pytest.fixture
def backend(start_backend: Callable[..., RunningBackend]) -> RunningBackend:
    """The backend with default settings and the bootstrap agent "demo" (supervisor)."""
    return start_backend()


_DEVICE_KEYS: dict[str, SigningKey] = {}


def device_key(device_id: str) -> SigningKey:
    """The signing key of a test device (made on first use)."""
    if device_id not in _DEVICE_KEYS:
        _DEVICE_KEYS[device_id] = SigningKey.generate()
    return _DEVICE_KEYS[device_id]


def sign(record: AuditRecord) -> AuditRecord:
    """``record`` signed with its device's test key."""
    return device_key(record.device_id).sign(record)


T0 = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
ACTIONS = ("reply", "note", "set_status")


def make_chain(
    count: int,
    *,
    device_id: str | None = None,
    previous: AuditRecord | ChainTip | None = None,
    agent: str = "alice",
) -> list[AuditRecord]:
    """``count`` realistic, correctly chained records continuing ``previous``, signed with the
    device's test key."""
    if isinstance(previous, AuditRecord):
        device_id = previous.device_id
    device_id = device_id or f"device-{uuid.uuid4()}"
    records: list[AuditRecord] = []
    for _ in range(count):
        tip = records[-1] if records else previous
        seq = tip.seq + 1 if tip else 1
        records.append(
            sign(
                new_record(
                    tip,
                    device_id=device_id,
                    agent=agent,
                    action=ACTIONS[seq % len(ACTIONS)],
                    client_version="0.1.0",
                    system_id="zendesk" if seq % 2 else "osticket",
                    ticket_id=f"T-{seq % 3}",
                    before={"status": "open", "标签": ["客户", "紧急"]},
                    after={"status": "pending", "body": f"Réponse n°{seq}", "n": seq, "x": 1.5},
                    occurred_at=T0 + timedelta(minutes=seq, microseconds=seq),
                )
            )
        )
    return records
