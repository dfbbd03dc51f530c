"""QApplication + qasync loop: paints the cached inbox, then opens the workstation core."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.heap import settle_heap

if TYPE_CHECKING:
    from app.config import Config
    from app.runtime import Workstation
    from ui.views.main_window import MainWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run the window."""

    screenshot: Path | None = None
    exit_after_sync: bool = False
    sync_timeout_s: float = 120.0
    language: str | None = None
    announce: bool = False  # print progress events (JSON lines) for the benchmark
    tab: str = "inbox"  # which tab to show first: inbox or supervisor


def _announce(enabled: bool, event: str, **fields: object) -> None:
    if enabled:
        sys.stdout.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
        sys.stdout.flush()


HEAVY_MODULES = ("sqlalchemy", "alembic", "httpx", "lxml", "keyring", "adapters", "app.sync")
"""What the first paint should not wait for (``inbox_painted`` reports which were loaded)."""


def loaded_before_paint() -> list[str]:
    """The :data:`HEAVY_MODULES` already imported."""
    return [name for name in HEAVY_MODULES if name in sys.modules]


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once)."""
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName("Tabless")
        QCoreApplication.setApplicationName("Tabless")
        app = QApplication(argv or sys.argv[:1])
    assert isinstance(app, QApplication)
    return app


def _window_state_next_to_config() -> None:
    """Keep the window's layout (QSettings) in an INI file beside ``config.toml``, so a
    TABLESS_HOME (the demo, tests) never touches the agent's own layout."""
    from PySide6.QtCore import QSettings

    from app.paths import config_dir

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(config_dir()))


def _paint_shell(options: RunOptions) -> MainWindow | None:
    """Show the window over the cached inbox before the core is imported: the configuration,
    the translations and the first page of the cache (stdlib sqlite3) are all it needs. None
    (after saying why on stderr) when the configuration cannot be read."""
    from app.cache.inbox import InboxPreview
    from app.config import load_config
    from app.domain import TablessError
    from ui import i18n, timefmt
    from ui.views.main_window import MainWindow

    _window_state_next_to_config()
    try:
        config = load_config()
    except TablessError as exc:
        sys.stderr.write(f"tabless: {exc}\n")
        return None
    translations = i18n.Translations()
    translations.install(options.language or str(config.get("language") or ""))
    timefmt.set_agent_zone(str(config.get("agent_zone") or ""))
    # a picture shows the default layout, not the agent's last one
    window = MainWindow(
        config=config,
        preview=InboxPreview.open(cache_file()),
        restore_layout=options.screenshot is None,
    )
    window.translations = translations  # type: ignore[attr-defined]
    window.show()
    window.inbox.viewport().repaint()  # the cached inbox is painted before anything else loads
    _announce(
        options.announce,
        "inbox_painted",
        rows=window.inbox_model.rowCount(),
        loaded=loaded_before_paint(),
    )
    return window


def cache_file() -> Path:
    """The agent's cache (the preview reads it first, then the core opens it)."""
    from app import paths

    return paths.data_dir() / "cache.sqlite3"


def _open_core(config: Config) -> Workstation:
    """Import and open the core: SQLAlchemy, the migrations, keyring, the adapters, sync (no
    Qt object is made here, so it runs on a worker thread while the shell stays responsive)."""
    from ui.views.main_window import import_core

    import_core()
    from app.runtime import open_workstation

    return open_workstation(config=config, cache_path=cache_file())


async def _session(app: QApplication, window: MainWindow, options: RunOptions) -> int:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from app.domain import TablessError

    # Parsing off the loop (asyncio.to_thread) uses plain threads, joined at exit.
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="parse")
    asyncio.get_running_loop().set_default_executor(executor)
    closed = asyncio.Event()
    app.setQuitOnLastWindowClosed(False)  # the session ends by itself after cleaning up
    window.closed.connect(closed.set)
    first_row = asyncio.Event()

    def first_ticket() -> None:
        if window.inbox_model.rowCount() and not first_row.is_set():
            first_row.set()
            _announce(options.announce, "first_ticket", rows=window.inbox_model.rowCount())

    window.inbox_model.modelReset.connect(first_ticket)
    window.inbox_model.rowsInserted.connect(first_ticket)
    first_ticket()  # the cached inbox is already on screen
    try:
        workstation = await asyncio.to_thread(_open_core, window.config)
    except TablessError as exc:
        sys.stderr.write(f"tabless: {exc}\n")
        window.close()
        executor.shutdown(wait=False, cancel_futures=True)
        return 2
    if closed.is_set():  # the agent closed the window while the core was loading
        workstation.close()
        executor.shutdown(wait=False, cancel_futures=True)
        return 0
    window.attach(workstation)
    _announce(options.announce, "core_attached", rows=window.inbox_model.rowCount())
    workstation.start()
    settle_heap()
    code = 0
    try:
        if options.exit_after_sync:
            failures = await workstation.sync.wait_first_sync(options.sync_timeout_s)
            failures.update(workstation.failed_systems)
            window.refresh_views()
            window.supervisor.refresh()
            _announce(
                options.announce,
                "all_synced",
                rows=window.inbox_model.rowCount(),
                failed=sorted(failures),
            )
            for system_id, error in sorted(failures.items()):
                sys.stderr.write(
                    f"tabless: system {system_id!r} ({workstation.title(system_id)}) did not "
                    f"complete its first sync: {error}\n"
                )
            if window.inbox_model.rowCount():
                window.inbox.selectRow(0)
            window.tabs.setCurrentIndex(1 if options.tab == "supervisor" else 0)
            shown: QWidget = window
            if options.tab == "palette":
                shown = window.open_palette()
                shown.query.setText("set st")  # type: ignore[attr-defined]
            elif options.tab == "shortcuts":
                shown = window.open_cheat_sheet()
            elif options.tab == "customer":
                window.customer_tickets()
            elif options.tab == "audit":
                viewer = window.open_audit_log()
                shown = viewer
                await asyncio.sleep(3)  # the demo's actions reach the backend
                try:
                    await viewer.run_search()
                except Exception as exc:  # the picture shows the error line then
                    log.warning("audit search failed: %s", exc)
            await asyncio.sleep(0.6)  # let layouts (and a customer look-up) settle
            if options.screenshot:
                options.screenshot.parent.mkdir(parents=True, exist_ok=True)
                if not shown.grab().save(str(options.screenshot)):
                    sys.stderr.write(f"tabless: could not write {options.screenshot}\n")
                    code = 3
            code = code or (1 if failures else 0)
        else:
            await closed.wait()
    finally:
        window.close()
        await workstation.stop()
        workstation.close()
        executor.shutdown(wait=False, cancel_futures=True)
    return code


def run(options: RunOptions) -> int:
    """Run the window until it closes (or until the first sync, headless); the exit code.

    The window paints the cached inbox first; qasync, then the core (on a worker thread) load
    after that, and the window is attached to the core once it is open.
    """
    app = application()
    from ui import i18n

    if not getattr(sys, "frozen", False):  # the bundle ships compiled .qm files
        i18n.compile_translations()
    window = _paint_shell(options)
    if window is None:
        return 2
    import qasync

    result: int = qasync.run(_session(app, window, options))
    return result


def offscreen() -> None:
    """Render without a display (must run before the QApplication exists)."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
