"""Run every stand-in on 127.0.0.1 free ports: ``python -m sandbox --ready-file F --folder D``.

Writes one JSON object to the ready file (or stdout) once all servers accept connections:
``{"systems": {"<id>": <connection>}, "pid": n}``, where each connection is what the stand-in's
``connection()`` returns. With ``--live-every S`` each system changes something every S seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from sandbox import dataset
from sandbox.server import serve_many


def _stand_ins(folder: Path, seed: int) -> tuple[dict[str, Any], Any]:
    from sandbox.csv_export import CsvExportStandIn
    from sandbox.osticket import OsTicketStandIn
    from sandbox.quality import QualityStandIn
    from sandbox.zendesk import ZendeskStandIn

    tickets = dataset.build(seed=seed)
    http = {
        "zendesk": ZendeskStandIn(tickets),
        "quality": QualityStandIn(tickets),
        "osticket": OsTicketStandIn(tickets),
    }
    csv = CsvExportStandIn(tickets, folder)
    return http, csv


def _prepare(folder: Path, csv: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    csv.write_initial()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


async def _main(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    http, csv = _stand_ins(folder, args.seed)
    for name in args.down:
        http[name].plan.update({"down": True})  # every request answers 503
    await asyncio.to_thread(_prepare, folder, csv)
    urls = await serve_many({name: stand_in.app for name, stand_in in http.items()})
    await asyncio.sleep(0.2)  # let the servers bind before announcing
    systems = {name: stand_in.connection(urls[name]) for name, stand_in in http.items()}
    systems["csv"] = csv.connection(str(folder))
    announcement = json.dumps({"systems": systems, "pid": os.getpid()}, ensure_ascii=False)
    if args.ready_file:  # the demo reads and deletes it; its log never sees the credentials
        await asyncio.to_thread(_write_atomically, Path(args.ready_file), announcement)
    else:
        sys.stdout.write(announcement + "\n")
        sys.stdout.flush()
    rng = random.Random(args.seed + 1)
    everyone = [*http.values(), csv]
    while True:
        await asyncio.sleep(args.live_every or 3600)
        if args.live_every:
            rng.choice(everyone).simulate_activity(rng)


def sandbox_command(argv: list[str]) -> int:
    """``tabless sandbox``: serve every stand-in until killed."""
    parser = argparse.ArgumentParser(prog="tabless sandbox", description=__doc__)
    parser.add_argument("--folder", required=True, help="folder for the nightly CSV exports")
    parser.add_argument("--ready-file", help="write the connections JSON here when ready")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--live-every",
        type=float,
        default=0.0,
        help="seconds between simulated remote changes (0: none)",
    )
    parser.add_argument(
        "--down",
        action="append",
        default=[],
        choices=("zendesk", "quality", "osticket"),
        help="start this stand-in broken (503 to everything); repeatable",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(sandbox_command(sys.argv[1:]))
