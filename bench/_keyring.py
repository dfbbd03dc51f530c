"""Run a command with an OS keyring available (a private GNOME Keyring on a bare Linux box)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys


def with_keyring(command: list[str]) -> list[str]:
    """``command`` wrapped in ``dbus-run-session`` + an unlocked keyring when no session exists."""
    if not (
        sys.platform.startswith("linux")
        and not os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        and shutil.which("dbus-run-session")
        and shutil.which("gnome-keyring-daemon")
    ):
        return command
    script = (
        "printf tabless | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; "
        f"exec {shlex.join(command)}"
    )
    return ["dbus-run-session", "--", "sh", "-c", script]
