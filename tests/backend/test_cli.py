"""``backend_command``: agents from the command line, and the server in its own process."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.cli import backend_command
from tests.backend.conftest import RunningBackend, make_chain

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


def create_agent(capsys: pytest.CaptureFixture[str], url: str, name: str, role: str) -> str:
    code = backend_command(["create-agent", name, "--role", role, "--database-url", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    token = out.strip()
    assert len(token) >= 40 and "\n" not in token
    assert name in err
    return token


def test_create_agent_prints_a_working_token(
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    start_backend: Callable[..., RunningBackend],
) -> None:
    token = create_agent(capsys, database_url, "alice", "agent")
    backend = start_backend()

    assert backend.upload(make_chain(2), token=token).status_code == 200
    forbidden = backend.client(token).get("/api/v1/audit/records")
    assert forbidden.status_code == 403
    assert "agent" in forbidden.json()["detail"]["message"]

    rotated = create_agent(capsys, database_url, "alice", "supervisor")
    assert rotated != token
    assert backend.upload(make_chain(1), token=token).status_code == 401
    assert backend.client(rotated).get("/api/v1/audit/records").status_code == 200


def test_groups_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    start_backend: Callable[..., RunningBackend],
) -> None:
    assert (
        backend_command(
            [
                "create-group",
                "Portal",
                "--scope",
                "department",
                "--system",
                "osticket",
                "--database-url",
                database_url,
            ]
        )
        == 0
    )
    group_id = capsys.readouterr().out.strip()
    code = backend_command(
        ["create-agent", "sue", "--role", "supervisor", "--group", "Portal",
         "--database-url", database_url]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    backend = start_backend()
    mine = backend.client(out.strip()).get("/api/v1/me/permissions").json()
    assert [(g["id"], g["scope"]) for g in mine["groups"]] == [(group_id, "department")]
    assert mine["groups"][0]["departments"] == [{"system_id": "osticket"}]

    assert (
        backend_command(["create-agent", "x", "--group", "Nope", "--database-url", database_url])
        == 2
    )
    assert "no permission group 'Nope'" in capsys.readouterr().err
    again = ["create-group", "Portal", "--scope", "all", "--database-url", database_url]
    assert backend_command(again) == 2
    assert "exists" in capsys.readouterr().err


def test_command_line_errors_are_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert backend_command(["create-agent", "bob", "--role", "boss"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    assert backend_command(["migrate", "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tabless backend: database error: OperationalError")
    assert backend_command(["migrate", "--database-url", "sqlite://"]) == 1
    assert "in-memory SQLite" in capsys.readouterr().err


class Process:
    """A ``python -m backend`` child whose stderr lines arrive on a queue."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "backend", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first JSON log line (from now on) matching ``predicate``."""
        while True:
            line = self.lines.get(timeout=DEADLINE)
            if line is None:
                raise AssertionError("backend exited:\n" + "".join(self.seen))
            self.seen.append(line)
            entry: dict[str, Any] = json.loads(line)
            if predicate(entry):
                return entry

    def stop(self) -> int:
        self.popen.terminate()
        code = self.popen.wait(timeout=DEADLINE)
        while (line := self.lines.get(timeout=DEADLINE)) is not None:
            self.seen.append(line)
        return code


@pytest.fixture
def child_env() -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESS_BACKEND_")}
    env["TABLESS_BACKEND_BOOTSTRAP_TOKEN"] = "subprocess-token-4242"
    yield env


def test_backend_runs_on_a_free_port_and_announces_itself(
    tmp_path: Path, database_url: str, child_env: dict[str, str]
) -> None:
    ready_file = tmp_path / "ready" / "backend.json"
    args = ["--port", "0", "--ready-file", str(ready_file), "--database-url", database_url]
    process = Process(args, child_env)
    try:
        ready = process.wait_for(lambda entry: entry["msg"] == "backend ready")
        announced = json.loads(ready_file.read_text(encoding="utf-8"))
        assert announced["url"] == ready["url"]
        assert announced["url"].startswith("http://127.0.0.1:")
        assert not announced["url"].endswith(":0")
        assert announced["pid"] == process.popen.pid
        assert "4242" not in json.dumps(ready)  # the database password would be masked too

        assert httpx.get(announced["url"] + "/healthz").json() == {"status": "ok"}
        listing = httpx.get(
            announced["url"] + "/api/v1/audit/records",
            params={"device_id": "nobody"},
            headers={"Authorization": "Bearer subprocess-token-4242"},
        )
        assert listing.status_code == 200 and listing.json()["records"] == []
        access = process.wait_for(lambda entry: entry.get("path") == "/api/v1/audit/records")
        assert access["method"] == "GET" and access["status"] == 200
        assert isinstance(access["ms"], float)
    finally:
        code = process.stop()
    assert code == 0
    assert not ready_file.exists()
    assert all(json.loads(line) for line in process.seen)
    assert not any("subprocess-token-4242" in line for line in process.seen)


def test_backend_reports_a_busy_port(tmp_path: Path, child_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "backend",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{tmp_path / 'b.sqlite3'}",
            ],
            cwd=REPO,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
