"""``python -m bench audit``: audit records ingested per second by one backend process.

For SQLite and for PostgreSQL (127.0.0.1:5432, a temporary database): the backend runs in its
own process (uvicorn, one worker, as ``tabless backend``); 200 simulated agents, each with its
own token and device key, upload their signed chains concurrently over HTTP on 127.0.0.1. The
backend verifies every record's hash, chain link and Ed25519 signature before storing it.

What a simulated agent sends is what the real uploader sends: batches of up to
``app.audit.uploader.BATCH`` records (the default backlog of 100 records per agent is one
batch each), one device's batches in chain order.

How the machine is split: the load generator is this process and shares the cores with the
backend (and PostgreSQL). It is kept cheap so that the figure measures the backend: every
chain is signed and every request encoded as HTTP/1.1 bytes before the clock starts, and the
requests go over ``--concurrency`` keep-alive connections (``bench._wire``: ~0.3 ms of CPU per
upload where httpx took ~1.9 ms); the others wait their turn, and the latency is timed from
writing the request, so it is that of the backend, not of a queue in front of it. (Device
registration, not timed, still goes through httpx.)
The CPU seconds each side used during the upload phase are printed (``backend_cpu_s``,
``generator_cpu_s``; the backend's from ``/proc``, so only on Linux), with the backend's CPU
microseconds per record (``backend_cpu_us_per_record``) and the one-minute load average when
the upload phase began and ended (``load_avg``): on a shared machine the wall-clock figures
move with the load, the CPU cost per record much less.

Prints per database ``records_per_s`` (all records / wall time of the upload phase) and the
upload batch latency percentiles, then one JSON line ``{"sqlite": {...}, "postgresql": {...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.audit.signature import SigningKey
from app.audit.uploader import BATCH
from app.audit.wire import AuditRecord, new_record, to_wire
from bench._wire import Connections, request_bytes

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "dbname": "test"}
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _chain(device_id: str, agent: str, key: SigningKey, count: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for n in range(count):
        records.append(
            key.sign(
                new_record(
                    records[-1] if records else None,
                    device_id=device_id,
                    agent=agent,
                    action=("reply", "note", "set_status")[n % 3],
                    client_version="0.1.0",
                    system_id=("zendesk", "osticket", "quality")[n % 3],
                    ticket_id=str(10_000 + n % 97),
                    before={"status": "open"},
                    after={"status": "pending", "body": f"您好，第{n}条回复 / reply {n}"},
                    outcome="pending" if n % 2 == 0 else "delivered",
                    occurred_at=T0 + timedelta(seconds=n),
                )
            )
        )
    return records


class Agent:
    """One simulated agent: its token, device, key and pre-encoded upload bodies."""

    def __init__(self, index: int, records: int, batch: int) -> None:
        self.name = f"bench-agent-{index:03d}"
        self.token = f"bench-token-{index:03d}-{uuid.uuid4().hex}"
        self.device_id = f"bench-device-{index:03d}-{uuid.uuid4().hex[:8]}"
        self.key = SigningKey.generate()
        self.records = records
        chain = _chain(self.device_id, self.name, self.key, records)
        self.bodies = [
            json.dumps(
                {"device_id": self.device_id, "records": [to_wire(r) for r in chain[i : i + batch]]}
            ).encode()
            for i in range(0, records, batch)
        ]
        self.headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def _prepare_database(url: str, agents: list[Agent]) -> None:
    from backend import crud
    from backend.core.db import Database
    from backend.core.security import Role

    database = Database(url)
    try:
        database.migrate()
        with database.write_session() as session:
            for agent in agents:
                crud.upsert_agent(session, name=agent.name, role=Role.AGENT, token=agent.token)
            session.commit()
    finally:
        database.dispose()


@dataclass
class _Backend:
    url: str
    pid: int


@contextmanager
def _backend(url: str, workdir: Path) -> Iterator[_Backend]:
    ready = workdir / f"ready-{uuid.uuid4().hex[:6]}.json"
    env = {
        **os.environ,
        "TABLESS_BACKEND_RATE_LIMIT_PER_S": "100000",
        "TABLESS_BACKEND_RATE_LIMIT_BURST": "100000",
        "TABLESS_BACKEND_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "backend", "--port", "0", "--ready-file", str(ready),
        "--database-url", url,
    ]  # fmt: skip
    log = (workdir / "backend.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                err = (workdir / "backend.log").read_text(errors="replace")
                raise SystemExit(f"the backend did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield _Backend(json.loads(ready.read_text())["url"], process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _upload_all(backend: _Backend, agents: list[Agent], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(
        base_url=backend.url, timeout=httpx.Timeout(120.0), trust_env=False
    ) as client:
        for agent in agents:  # registration is not what is measured
            response = await client.post(
                "/api/v1/devices",
                json={"device_id": agent.device_id, "public_key": agent.key.public_key},
                headers=agent.headers,
            )
            response.raise_for_status()

    upload_url = f"{backend.url}/api/v1/audit/batches"
    requests = {
        agent.name: [
            request_bytes("POST", upload_url, agent.headers, body) for body in agent.bodies
        ]
        for agent in agents
    }
    connections = Connections.to(backend.url, concurrency)

    async def run(agent: Agent) -> None:
        for raw in requests[agent.name]:  # one device's batches go in chain order
            reply = await connections.send(raw)
            latencies.append(reply.seconds)
            if reply.status != 200:
                errors.append(f"{reply.status}: {reply.body[:200]!r}")

    try:
        load_before = os.getloadavg()[0]
        backend_cpu = _cpu_seconds(backend.pid)
        generator_cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(run(agent) for agent in agents))
        elapsed = time.perf_counter() - started
        generator_cpu = time.process_time() - generator_cpu
        backend_after = _cpu_seconds(backend.pid)
        load_after = os.getloadavg()[0]
    finally:
        await connections.close()
    if errors:
        raise SystemExit(f"{len(errors)} uploads failed, first: {errors[0]}")
    return {
        "elapsed": elapsed,
        "latencies": sorted(latencies),
        "backend_cpu_s": None
        if backend_cpu is None or backend_after is None
        else round(backend_after - backend_cpu, 2),
        "generator_cpu_s": round(generator_cpu, 2),
        "load_avg": [round(load_before, 2), round(load_after, 2)],
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(url: str, agents: list[Agent], concurrency: int, workdir: Path) -> dict[str, Any]:
    """Prepare the database, start the backend, upload every agent's chain; the figures."""
    _prepare_database(url, agents)
    with _backend(url, workdir) as backend:
        result = asyncio.run(_upload_all(backend, agents, concurrency))
    total = sum(agent.records for agent in agents)
    latencies = result["latencies"]
    return {
        "records": total,
        "batches": len(latencies),
        "seconds": round(result["elapsed"], 2),
        "records_per_s": round(total / result["elapsed"]),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "backend_cpu_s": result["backend_cpu_s"],
        "backend_cpu_us_per_record": None
        if result["backend_cpu_s"] is None
        else round(result["backend_cpu_s"] * 1e6 / total),
        "generator_cpu_s": result["generator_cpu_s"],
        "load_avg": result["load_avg"],
    }


@contextmanager
def _postgres_url() -> Iterator[str]:
    import psycopg
    from psycopg import sql

    admin = None
    for user in ("postgres", "root"):
        try:
            admin = psycopg.connect(**PG_ADMIN, user=user, autocommit=True)  # type: ignore[arg-type]
            break
        except psycopg.OperationalError:
            continue
    if admin is None:
        raise SystemExit("PostgreSQL on 127.0.0.1:5432 is not reachable")
    name = f"tabless_bench_{uuid.uuid4().hex[:8]}"
    user = admin.info.user
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://{user}@127.0.0.1:5432/{name}"
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


def main(argv: list[str]) -> int:
    """Run the benchmark; print the figures and one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench audit")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--records-per-agent", type=int, default=100)
    parser.add_argument(
        "--batch", type=int, default=BATCH, help="records per upload batch (the uploader's)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="uploads in flight at once")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tabless-bench-audit-") as tmp:
        workdir = Path(tmp)
        for database in args.databases.split(","):
            print(f"{database}: signing {args.agents} x {args.records_per_agent} records …",
                  flush=True)  # fmt: skip
            agents = [Agent(i, args.records_per_agent, args.batch) for i in range(args.agents)]
            if database == "sqlite":
                figures["sqlite"] = measure(
                    f"sqlite:///{workdir / 'bench.sqlite3'}", agents, args.concurrency, workdir
                )
            elif database == "postgresql":
                with _postgres_url() as url:
                    figures["postgresql"] = measure(url, agents, args.concurrency, workdir)
            else:
                parser.error(f"unknown database {database!r}")
            print(f"{database}: {json.dumps(figures[database])}", flush=True)
    print(json.dumps(figures))
    return 0
