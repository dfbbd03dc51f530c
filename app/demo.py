"""The demo's services: the stand-ins and the backend in child processes, wired with no setup.

Each runs as ``tabless sandbox`` / ``tabless backend`` in its own process (so the window's loop
never competes with the servers), on 127.0.0.1 free ports. Demo credentials go to the keyring;
the written config names systems and settings only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as pysecrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.config import SystemEntry, load_config, save_user_config
from app.config.store import user_config_file
from app.domain import ConfigError
from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY
from app.secrets import SecretStore

READY_TIMEOUT_S = 60.0
# Short names for the status bar and the inbox's system column.
DEMO_TITLES = {
    "zendesk": "Zendesk",
    "quality": "QA 质检",
    "osticket": "Portal 门户",
    "csv": "CSV export",
}


def self_command() -> list[str]:
    """How to run ``tabless`` again: the frozen bundle, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app.cli"]


def demo_home() -> Path:
    """The demo's own home (config, cache, backend DB) so it never touches real settings."""
    base = Path(os.environ.get("TABLESS_DEMO_HOME") or (paths.data_dir() / "demo"))
    base.mkdir(parents=True, exist_ok=True)
    return base


@dataclass
class DemoServices:
    """The running child processes and what they announced."""

    home: Path
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    backend_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        """Terminate the children (then kill what does not stop)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(process: subprocess.Popen[bytes], ready: Path, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready.exists():
            announced = dict(json.loads(ready.read_text(encoding="utf-8")))
            ready.unlink()  # it carries the stand-ins' demo credentials: keyring only
            return announced
        if process.poll() is not None:
            raise ConfigError(
                f"the demo {what} exited with code {process.returncode}; "
                f"see {ready.with_suffix('.log')}"
            )
        time.sleep(0.05)
    raise ConfigError(f"the demo {what} did not start within {READY_TIMEOUT_S:.0f} s")


def _spawn(args: list[str], ready: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    ready.unlink(missing_ok=True)
    log = ready.with_suffix(".log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [*self_command(), *args, "--ready-file", str(ready)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def start_services(
    home: Path, *, live_every_s: float = 20.0, broken: tuple[str, ...] = ()
) -> DemoServices:
    """Start the stand-ins and the backend; store the demo secrets in the keyring."""
    store = SecretStore()
    store.ensure_available()  # fail before starting anything when there is no keyring
    services = DemoServices(home=home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESS_BACKEND_")}
    try:
        sandbox = _spawn(
            [
                "sandbox",
                "--folder",
                str(home / "exports"),
                "--live-every",
                str(live_every_s),
                *[arg for name in broken for arg in ("--down", name)],
            ],
            home / "sandbox.ready",
            env,
        )
        services.processes.append(sandbox)
        token = pysecrets.token_urlsafe(32)
        backend_env = {**env, "TABLESS_BACKEND_BOOTSTRAP_TOKEN": token}
        backend = _spawn(
            ["backend", "--port", "0", "--database-url", f"sqlite:///{home / 'backend.sqlite3'}"],
            home / "backend.ready",
            backend_env,
        )
        services.processes.append(backend)
        services.systems = _wait_ready(sandbox, home / "sandbox.ready", "sandbox")["systems"]
        services.backend_url = _wait_ready(backend, home / "backend.ready", "backend")["url"]
        store.set(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY, token)
    except BaseException:
        services.stop()
        raise
    return services


def configure(services: DemoServices) -> Path:
    """Write the demo config (no secrets) and put each system's demo secrets in the keyring."""
    store = SecretStore()
    systems: dict[str, SystemEntry] = {}
    for system_id, connection in services.systems.items():
        for key, value in connection.get("secrets", {}).items():
            store.set(system_id, key, value)
        systems[system_id] = SystemEntry(
            id=system_id,
            adapter=connection["adapter"],
            title=DEMO_TITLES.get(system_id) or connection.get("title") or system_id,
            settings=dict(connection.get("settings", {})),
            naive_zone=connection.get("naive_zone", "UTC"),
        )
    values = dict(load_config(user_file=user_config_file()).values)
    values["backend_url"] = services.backend_url
    values["agent_name"] = values.get("agent_name") or "demo-agent"
    values["sync_interval_s"] = 10.0
    return save_user_config(values, systems)
