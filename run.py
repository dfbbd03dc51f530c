#!/usr/bin/env python3
"""Developer entry point: ``python3 run.py demo`` or ``python3 run.py test [pytest args]``.

Creates or updates ``.venv`` when missing or when pyproject.toml changed, compiles the
translations, and on a Linux machine without a desktop session starts a private D-Bus session
with GNOME Keyring so the OS keyring (the only place secrets live) is available.
Stdlib only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".tabless-install-stamp"


INSTALL_INPUTS = ("pyproject.toml", "backend/_ed25519_batch.c")  # a change means reinstall


def _digest() -> str:
    return hashlib.sha256(
        b"".join((ROOT / name).read_bytes() for name in INSTALL_INPUTS)
    ).hexdigest()


def ensure_venv() -> None:
    """Create the virtual environment and install Tabless with its dev extras when needed."""
    if not PYTHON.exists():
        print(f"creating {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _digest():
        print("installing Tabless and its dependencies into .venv …", flush=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"], check=True
        )
        STAMP.write_text(_digest())
    subprocess.run(
        [str(PYTHON), "-c", "from ui.i18n import compile_translations as c; c()"],
        check=True,
        cwd=ROOT,
    )


def _needs_private_keyring() -> bool:
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        and shutil.which("dbus-run-session") is not None
        and shutil.which("gnome-keyring-daemon") is not None
    )


def run(command: list[str]) -> int:
    """Run ``command`` in the venv, inside a private keyring session when there is none."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if _needs_private_keyring():
        quoted = " ".join(f"'{part}'" for part in command)
        script = (
            "printf tabless | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1;"
            f" exec {quoted}"
        )
        command = ["dbus-run-session", "--", "sh", "-c", script]
    return subprocess.call(command, cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    """Dispatch ``demo`` / ``test`` / any ``tabless`` command."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_venv()
    if argv[0] == "test":
        return run([str(PYTHON), "-m", "pytest", *argv[1:]])
    return run([str(PYTHON), "-m", "app.cli", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
