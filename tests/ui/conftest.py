"""Qt fixtures: one qasync loop on the session's QApplication.

A second ``qasync.QEventLoop`` on the same QApplication after closing the first crashed here
(segfault in its constructor), so the whole session shares one loop, like the real app does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

SCENARIO_TIMEOUT_S = 120.0


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path: Any) -> Iterator[None]:
    """Window layout, saved searches and canned replies go to a scratch INI file per test."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    yield


@pytest.fixture(scope="session")
def qloop(qapp: Any) -> Iterator[Any]:
    """An asyncio loop running inside Qt's event loop (qasync), for the whole session."""
    from concurrent.futures import ThreadPoolExecutor

    import qasync

    loop = qasync.QEventLoop(qapp)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="loop-default")
    loop.set_default_executor(executor)  # as ui.main does: plain threads, joined at the end
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    executor.shutdown(wait=True)
    asyncio.set_event_loop(None)
    loop.close()  # while the QApplication still exists (closing at exit crashes in __del__)


@pytest.fixture
def run_async(qloop: Any) -> Any:
    """``run_async(coro)`` runs a coroutine to completion on the qasync loop.

    A scenario that has not finished after 120 s fails with the traceback of where it waited,
    instead of hanging the session.
    """

    def run(coroutine: Any) -> Any:
        return qloop.run_until_complete(asyncio.wait_for(coroutine, SCENARIO_TIMEOUT_S))

    return run


@pytest.fixture
def workstation_window(qtbot: Any, tmp_path: Any) -> Iterator[Any]:
    """A main window over a workstation with no systems (an empty cache), and its translator."""
    from app.cache import open_cache
    from app.config import SETTINGS, Config
    from app.runtime import Workstation
    from app.secrets import SecretStore
    from ui.i18n import Translations, compile_translations
    from ui.views.main_window import MainWindow

    compile_translations()
    values = {s.key: s.default for s in SETTINGS}
    ws = Workstation(
        config=Config(values, {}, []),
        cache=open_cache(tmp_path / "c.sqlite3"),
        secrets=SecretStore(service="tabless-test"),
    )
    window = MainWindow(ws)
    qtbot.addWidget(window)
    translations = Translations()
    yield window, translations
    translations.install("en")
    ws.close()
