"""``gc_paused``: the cyclic collector is paused while batches decode and resumed after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from adapters._formats.batch import gc_paused


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_resumed_after_also_after_an_error() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("a bad batch")
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_as_a_decorator_and_from_threads_the_last_batch_resumes_it() -> None:
    inside = threading.Barrier(3)
    leave = threading.Event()

    @gc_paused()
    def decode() -> None:
        inside.wait()
        leave.wait()

    workers = [threading.Thread(target=decode) for _ in range(2)]
    for worker in workers:
        worker.start()
    inside.wait()  # both batches are decoding
    assert not gc.isenabled()
    leave.set()
    for worker in workers:
        worker.join()
    assert gc.isenabled()
