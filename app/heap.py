"""How the interpreter's collector and thread switching are set once an application is up.

The workstation applies this once its window and core exist (``ui.main``); ``bench`` scripts
apply it where they stand for the workstation, so that adapters, the cache and the loop are
measured as they run there.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (10_000, 100, 20)
"""Young collections every 10,000 allocations instead of 700 (a sync's parsed pages are
short-lived, and each collection also walks the pages in flight), but not 50,000: a collection
holds the interpreter, so every thread waits — 50,000 let single passes free 30,000 objects and
stall the loop for 30–60 ms in ``bench stall``. Middle collections stay about as rare as with
(50,000, 20)."""

SWITCH_INTERVAL_S = 0.001
"""How long a worker thread (parsing, cache writes, counts) may keep the interpreter while the
loop waits for it: 1 ms instead of Python's 5 ms. Every Qt callback into Python (each cell a
paint shows, each timer) takes the interpreter again, so waits add up during a sync; measured
in ``bench stall`` at 100,000 tickets: gaps over 50 ms fell from 6 to 1 per run."""


def settle_heap() -> None:
    """Exempt everything built at start-up (modules, the window, the core) from garbage
    collection: a full collection then walks only what was made since, instead of stalling the
    loop for hundreds of milliseconds over a million long-lived objects during a large sync.
    Also sets :data:`GC_THRESHOLDS` and the switch interval (:data:`SWITCH_INTERVAL_S`)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
