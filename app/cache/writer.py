"""The single writer: every cache write runs on one dedicated thread, off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection

from app.cache.engine import Cache

P = ParamSpec("P")
T = TypeVar("T")


class CacheWriter:
    """Runs ``fn(connection, ...)`` inside one short transaction on the writer thread."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-writer")

    def _in_transaction(self, fn: Callable[..., T], *args: object) -> T:
        with self.cache.engine.begin() as connection:
            return fn(connection, *args)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Await ``fn(connection, *args)`` committed on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self._in_transaction, fn, *args)
        )

    def run_sync(self, fn: Callable[..., T], *args: object) -> T:
        """Blocking variant for scripts and the CLI (never from the event loop)."""
        return self._executor.submit(self._in_transaction, fn, *args).result()

    def close(self) -> None:
        """Finish queued writes and stop the thread."""
        self._executor.shutdown(wait=True)


Writer = Callable[[Connection], T]
