"""Decoding a whole file without cyclic-GC passes over the objects it is building.

Decoding a large file allocates hundreds of thousands of objects (rows, domain objects) that
all stay alive until the batch is handed back. Each time allocations outnumber frees by a few
hundred, CPython's cyclic collector runs, and every so often it traverses *everything* alive,
the growing batch included: on a 50 MB CSV export those passes cost about as much as the
decoding itself (``python -m bench decode``). Decoding builds no reference cycles (decoded
cells, frozen domain objects), so nothing is lost by pausing the collector: reference counting
still frees every temporary at once, and the collector resumes with the next allocation after
the batch, which then costs one pass. For a batch of one page (a hundred tickets) there is
nothing to gain: the pass merely moves to the end of the page.

:func:`gc_paused` nests and may be entered from several worker threads at once: the collector
is paused while any batch is decoding and resumed when the last one ends, and only when it was
enabled when the first one began (code that disabled it itself keeps it disabled).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while decoding one large batch (also a decorator)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
