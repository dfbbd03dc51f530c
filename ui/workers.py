"""Work off the GUI thread with results delivered as queued Qt signals.

``LatestOnly`` is Orange3's "restart cancels the previous task": each :meth:`start` supersedes
the one before, whose result (if it still arrives) is dropped. ``SearchRunner`` does the same
for search-as-you-type over :class:`app.cache.search.SearchSession`, which also aborts the
superseded SQLite statement itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.cache.search import SearchCancelled, SearchFilters, SearchSession


def paced_interval_ms(minimum_ms: int, cost_s: float, duty: float = 0.15) -> int:
    """How long to wait before the next background re-read: at least ``minimum_ms``, and long
    enough that re-reads costing ``cost_s`` each take at most ``duty`` of the time — a recount
    that got slow (a large sync into a large cache) backs off instead of competing with the
    loop and the sync for the interpreter all the time."""
    return max(minimum_ms, round(cost_s * 1000 * (1 - duty) / duty))


class LatestOnly(QObject):
    """Run one function at a time on a worker thread; only the latest result is delivered.
    ``last_cost_s`` is how long the last finished run took (for :func:`paced_interval_ms`)."""

    finished = Signal(int, object)
    """finished(generation, result): the latest task's result."""
    failed = Signal(int, object)
    """failed(generation, exception): the latest task raised."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-worker")
        self.generation = 0
        self.last_cost_s = 0.0
        self._shut = False

    def start(self, function: Callable[[], Any]) -> int:
        """Run ``function()`` on the worker; returns its generation (after :meth:`shutdown`:
        nothing runs — a late refresh of a closed window is not an error)."""
        self.generation += 1
        generation = self.generation
        if self._shut:
            return generation

        def run() -> None:
            if generation != self.generation:
                return  # superseded before it started
            began = time.perf_counter()
            try:
                result = function()
            except Exception as exc:  # delivered to the GUI thread, shown there
                self._emit(self.failed, generation, exc)
                return
            finally:
                self.last_cost_s = time.perf_counter() - began
            self._emit(self.finished, generation, result)

        self._executor.submit(run)
        return generation

    def _emit(self, signal: Any, generation: int, payload: object) -> None:
        if generation == self.generation:
            with contextlib.suppress(RuntimeError):  # the receiver is gone (window closed)
                signal.emit(generation, payload)

    def cancel(self) -> None:
        """Drop the result of the task that is running or queued."""
        self.generation += 1

    def shutdown(self) -> None:
        """Drop queued work and let the running task finish."""
        self.generation += 1
        self._shut = True
        self._executor.shutdown(wait=False, cancel_futures=True)


class SearchRunner(QObject):
    """Search-as-you-type: each query cancels the one before (in SQLite, not just here)."""

    finished = Signal(str, object)
    """finished(query, SearchResult): the latest query's result."""
    failed = Signal(str, object)
    """failed(query, exception): the latest query raised (not a cancellation)."""

    def __init__(self, session: SearchSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.latest = ""
        self._closed = False

    def submit(self, query: str, filters: SearchFilters | None = None, limit: int = 500) -> None:
        """Start ``query``; the previous one is aborted."""
        if self._closed:
            return
        self.latest = query
        future = self._session.submit(query, filters, limit=limit)
        future.add_done_callback(lambda done: self._done(query, done))

    def _done(self, query: str, future: Future[Any]) -> None:  # on the search thread
        if future.cancelled() or query != self.latest:
            return
        error = future.exception()
        try:
            if isinstance(error, SearchCancelled):
                return
            if error is not None:
                self.failed.emit(query, error)
            else:
                self.finished.emit(query, future.result())
        except RuntimeError:  # the receiver is gone
            pass

    def cancel(self) -> None:
        """Abort the running query (the box was cleared)."""
        self.latest = ""
        self._session.cancel()

    def close(self) -> None:
        """Release the search thread and its connection."""
        if not self._closed:
            self._closed = True
            self.cancel()
            self._session.close()
