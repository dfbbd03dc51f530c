"""``python -m bench startup``: cold start to a painted, interactive inbox of 100,000 tickets.

Each round starts a new process — ``tabless workstation --offscreen --announce`` over a cache of
``--tickets`` rows (bulk-filled as in ``bench inbox``; no systems configured, so nothing syncs)
— and takes the time from spawning it to its ``inbox_painted`` event: the window is shown and the
first page of the inbox painted. Next to it, in the same run, a minimal PySide6 window (a
QApplication and one shown, painted QLabel) measured the same way. Prints ``startup_s``,
``minimal_window_s`` (medians) and ``ratio``; targets <= 1.0 s and <= 3.0. Also prints which of
the heavy modules (SQLAlchemy, httpx, lxml …) the first paint waited for, from the event, and
``core_attached_s``: until the core (SQLAlchemy, migrations, keyring, adapters) is open and
attached to the window, which loads it after the first paint.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL = (
    "from PySide6.QtWidgets import QApplication, QLabel\n"
    "app = QApplication([])\n"
    "label = QLabel('Tabless')\n"
    "label.show()\n"
    "label.repaint()\n"
    'print(\'{"event": "painted"}\', flush=True)\n'
)


def _time_to(
    command: list[str],
    event: str,
    env: dict[str, str],
    timeout_s: float,
    seen: dict[str, object] | None = None,
) -> float:
    """Seconds from spawning ``command`` to the JSON line announcing ``event`` (its fields are
    put in ``seen``)."""
    return _times_to(command, (event,), env, timeout_s, seen)[event]


def _times_to(
    command: list[str],
    events: tuple[str, ...],
    env: dict[str, str],
    timeout_s: float,
    seen: dict[str, object] | None = None,
) -> dict[str, float]:
    """Seconds from spawning ``command`` to each JSON line announcing one of ``events`` (the
    fields of the first are put in ``seen``); returns once all were announced."""
    times: dict[str, float] = {}
    began = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        deadline = began + timeout_s
        for line in process.stdout:
            if time.perf_counter() > deadline:
                break
            if line.startswith("{") and (fields := json.loads(line)).get("event") in events:
                times[fields["event"]] = time.perf_counter() - began
                if seen is not None and fields["event"] == events[0]:
                    seen.update(fields)
                if len(times) == len(events):
                    return times
        missing = [event for event in events if event not in times]
        raise RuntimeError(f"{command[:4]} never announced {missing}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    """Fill a cache, time both start-ups ``--rounds`` times, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench startup")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        cache = home / "data" / "cache.sqlite3"
        cache.parent.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                *("-m", "bench", "inbox", "--fill-only", "--db", str(cache)),
                *("--tickets", str(args.tickets)),
            ],
            check=True,
        )
        env = {
            **os.environ,
            "TABLESS_HOME": str(home),
            "TABLESS_SITE_CONFIG": str(home / "no-site-config.toml"),
            "QT_QPA_PLATFORM": "offscreen",
        }
        app = [sys.executable, "-m", "app.cli", "workstation", "--offscreen", "--announce"]
        minimal = [sys.executable, "-c", MINIMAL]
        _time_to(app, "inbox_painted", env, 60)  # warm the OS file cache once
        startup, attached, window = [], [], []
        painted: dict[str, object] = {}
        for _ in range(args.rounds):
            times = _times_to(app, ("inbox_painted", "core_attached"), env, 60, painted)
            startup.append(times["inbox_painted"])
            attached.append(times["core_attached"])
            window.append(_time_to(minimal, "painted", env, 60))
    result: dict[str, object] = {
        "startup_s": round(statistics.median(startup), 3),
        "minimal_window_s": round(statistics.median(window), 3),
        "core_attached_s": round(statistics.median(attached), 3),
    }
    result["ratio"] = round(statistics.median(startup) / statistics.median(window), 2)
    result["loaded_before_paint"] = painted.get("loaded", [])
    print(f"startup_s: {result['startup_s']} (target <= 1.0)")
    print(f"minimal_window_s: {result['minimal_window_s']}")
    print(f"ratio: {result['ratio']} (target <= 3.0)")
    print(f"loaded before the first paint: {result['loaded_before_paint']} (target: none)")
    print(f"core_attached_s: {result['core_attached_s']} (every pane and action working)")
    print(json.dumps({"bench": "startup", "tickets": args.tickets, **result}))
    return 0
