"""Large stand-in data sets, and a stand-in served from a child process.

``many_seeds`` repeats the shared data set's tickets of one system under new ids. ``python -m
bench._seeds SYSTEM COUNT`` serves that system's stand-in with COUNT tickets on 127.0.0.1 and
prints its connection as one JSON line (a child process, so the server's work never competes
with the measured event loop for the GIL).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from typing import Any

from sandbox import dataset
from sandbox.dataset import SeedTicket
from sandbox.server import ServerThread

FIRST_ID = 1_000_000
STAND_INS = {
    "quality": "sandbox.quality:QualityStandIn",
    "zendesk": "sandbox.zendesk:ZendeskStandIn",
}


def many_seeds(system: str, count: int, seed: int = 42) -> list[SeedTicket]:
    """``count`` tickets of ``system``: the shared data set's, repeated with new ids."""
    base = dataset.by_system(dataset.build(seed=seed), system)
    return [dataclasses.replace(base[i % len(base)], id=FIRST_ID + i) for i in range(count)]


def stand_in(system: str, count: int) -> Any:
    """The stand-in of ``system`` holding ``count`` generated tickets."""
    module, name = STAND_INS[system].split(":")
    return getattr(importlib.import_module(module), name)(many_seeds(system, count))


def main(argv: list[str]) -> int:
    """Serve until stdin closes (the parent ended)."""
    system, count = argv[0], int(argv[1])
    served = stand_in(system, count)
    server = ServerThread(served.app).start()
    print(json.dumps(served.connection(server.url)), flush=True)
    sys.stdin.read()  # returns when the parent closes our stdin or ends
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
