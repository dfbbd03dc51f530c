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
    """Runs ``fn(connection, ...)`` inside one short transaction on the writer thread.

    The writer keeps one connection of its own, tuned for bulk writes (``WRITER_PRAGMAS``):
    a page cache large enough that a page of tickets, its messages and their search index
    never spill to the WAL before the commit, and fewer, larger checkpoints. Readers keep the
    engine's small defaults.
    """

    WRITER_PRAGMAS = (
        "cache_size = -65536",  # KiB: 64 MiB, used only as pages are touched
        "wal_autocheckpoint = 8192",  # pages (32 MiB of WAL) between checkpoints
    )

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-writer")
        self._connection: Connection | None = None  # used on the writer thread only

    def _writer_connection(self) -> Connection:
        if self._connection is None or self._connection.closed:
            connection = self.cache.engine.connect()
            driver = connection.connection.driver_connection
            assert driver is not None
            for pragma in self.WRITER_PRAGMAS:
                driver.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return self._connection

    def _in_transaction(self, fn: Callable[..., T], *args: object) -> T:
        connection = self._writer_connection()
        try:
            with connection.begin():
                return fn(connection, *args)
        except BaseException:
            if connection.invalidated:
                self._release()
            raise

    def _release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

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
        """Finish queued writes, release the writer's connection and stop the thread."""
        try:
            self._executor.submit(self._release).result()
        except RuntimeError:  # closed before
            return
        self._executor.shutdown(wait=True)


Writer = Callable[[Connection], T]
