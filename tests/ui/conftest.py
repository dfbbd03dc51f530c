"""Qt fixtures: a qasync loop on the test's QApplication."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture
def qloop(qapp):  # type: ignore[no-untyped-def]
    """An asyncio loop running inside Qt's event loop (qasync), closed after the test."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def run_async(qloop) -> Iterator:  # type: ignore[no-untyped-def]
    """``run_async(coro)`` runs a coroutine to completion on the qasync loop."""
    yield qloop.run_until_complete
