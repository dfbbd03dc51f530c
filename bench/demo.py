"""``python -m bench demo``: start the headless demo in a new process; time to the first synced
ticket in the inbox model (``first_ticket_s``) and to all four systems synced (``all_synced_s``).

Each run uses a fresh home (empty cache), so it measures a cold first sync. ``--runs N`` repeats
and reports the median (and every run).
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

from bench._keyring import with_keyring


def one_run() -> dict[str, float]:
    """Start the demo once; the seconds from process start to each announced event."""
    with tempfile.TemporaryDirectory(prefix="tabless-bench-") as home:
        env = {
            **os.environ,
            "TABLESS_HOME": home,
            "TABLESS_DEMO_HOME": str(Path(home) / "demo"),
            "QT_QPA_PLATFORM": "offscreen",
        }
        command = with_keyring(
            [
                sys.executable,
                "-m",
                "app.cli",
                "demo",
                "--offscreen",
                "--exit-after-sync",
                "--announce",
            ]
        )
        started = time.time()
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"demo failed ({result.returncode}): {result.stderr[-2000:]}")
        events = {}
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                events[event["event"]] = event["t"] - started
        return {
            "first_ticket_s": events["first_ticket"],
            "all_synced_s": events["all_synced"],
            "exit_s": time.time() - started,
        }


def main(argv: list[str]) -> int:
    """Print the figures; the last line is one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench demo")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = [one_run() for _ in range(args.runs)]
    for number, run in enumerate(runs, start=1):
        print(f"run {number}: " + ", ".join(f"{k}={v:.2f}" for k, v in run.items()))
    summary = {
        key: round(statistics.median(r[key] for r in runs), 3)
        for key in ("first_ticket_s", "all_synced_s")
    }
    print(json.dumps({**summary, "runs": args.runs}))
    return 0
