"""PySide6 6.12.0 on Python 3.11 aborted under qasync ("none_dealloc") after a few thousand
callbacks; we pin <6.12 there. This test keeps that trap from coming back unnoticed."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_many_thousands_of_qasync_callbacks_and_signals(run_async) -> None:  # type: ignore[no-untyped-def]
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)

    async def churn() -> int:
        loop = asyncio.get_running_loop()
        done = 0
        for _batch in range(40):
            futures = []
            for i in range(500):
                future = loop.create_future()
                loop.call_soon(future.set_result, i)
                futures.append(future)
                emitter.fired.emit(i)
            done += len(await asyncio.gather(*futures))
            await asyncio.sleep(0)
        return done

    assert run_async(churn()) == 20_000
    assert len(received) == 20_000
