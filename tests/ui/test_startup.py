"""Cold start in a new process: the window paints the cached inbox, then the rest comes up.

Runs ``tabless workstation --offscreen --announce --exit-after-sync`` over a cache filled as
``bench inbox`` does (no systems configured) and reads its announce events.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.inbox import fill
from ui.main import HEAVY_MODULES
from ui.models.inbox import PAGE

TICKETS = 500


@pytest.fixture(scope="module")
def events(tmp_path_factory: Any) -> dict[str, dict[str, Any]]:
    """The announce events of one cold start, by name."""
    home = Path(tmp_path_factory.mktemp("startup"))
    (home / "data").mkdir()
    fill(home / "data" / "cache.sqlite3", TICKETS)
    env = {
        **os.environ,
        "TABLESS_HOME": str(home),
        "TABLESS_SITE_CONFIG": str(home / "no-site-config.toml"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    command = [sys.executable, "-m", "app.cli", "workstation", "--offscreen", "--announce"]
    done = subprocess.run(
        [*command, "--exit-after-sync", "--timeout", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line["event"]: line for line in lines}


def test_the_first_paint_shows_real_cached_rows_then_the_core_comes_up(
    events: dict[str, dict[str, Any]],
) -> None:
    painted = events["inbox_painted"]
    assert painted["rows"] == PAGE  # the first page of the cache, before the exact count
    assert isinstance(painted["loaded"], list)
    assert events["core_attached"]["t"] >= painted["t"]  # the core loads after the paint
    assert events["all_synced"]["rows"] == TICKETS
    assert events["all_synced"]["t"] >= events["core_attached"]["t"]


def test_the_first_paint_does_not_wait_for_the_heavy_modules(
    events: dict[str, dict[str, Any]],
) -> None:
    assert set(HEAVY_MODULES) >= {"sqlalchemy", "alembic", "httpx", "lxml", "keyring"}
    assert events["inbox_painted"]["loaded"] == []  # none of HEAVY_MODULES before the paint


def _config() -> Any:
    from app.config import SETTINGS, Config

    return Config({s.key: s.default for s in SETTINGS}, {}, [])


def _shell(qtbot: Any, tmp_path: Path) -> tuple[Any, Path, Any]:
    """A shown shell window over a cache of TICKETS tickets: (window, cache path, config)."""
    from app.cache.inbox import InboxPreview
    from ui.views.main_window import MainWindow

    path = tmp_path / "cache.sqlite3"
    fill(path, TICKETS)
    config = _config()
    window = MainWindow(config=config, preview=InboxPreview.open(path), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    return window, path, config


def _core(config: Any, path: Path) -> Any:
    """The workstation core over the cache at ``path``."""
    from app.cache import open_cache
    from app.runtime import Workstation
    from app.secrets import SecretStore

    return Workstation(
        config=config, cache=open_cache(path), secrets=SecretStore(service="tabless-test")
    )


def test_the_shell_is_interactive_and_the_core_takes_over_in_place(
    qtbot: Any, tmp_path: Path
) -> None:
    window, path, config = _shell(qtbot, tmp_path)
    window.resize(1000, 500)
    model, table = window.inbox_model, window.inbox
    assert model.rowCount() == PAGE and not model.attached
    assert model.index(0, 1).data()  # real rows, from the preview
    qtbot.waitUntil(lambda: model.rowCount() == TICKETS)  # the preview's background count
    table.scrollTo(model.index(350, 0))  # a page the preview reads on demand
    table.selectRow(350)
    selected, scrolled = window.current_ticket_id(), table.verticalScrollBar().value()
    assert selected is not None and scrolled > 0
    resets: list[str] = []
    model.modelReset.connect(lambda: resets.append("reset"))
    model.rowsRemoved.connect(lambda *_: resets.append("removed"))

    ws = _core(config, path)
    with qtbot.waitSignal(window.attached):
        window.attach(ws)
    try:
        assert model.attached and window.is_attached
        qtbot.waitUntil(lambda: not window.refresh_due())  # the core's first re-read
        assert resets == []  # no empty table, no reset: the rows stayed on screen
        assert model.rowCount() == TICKETS
        assert window.current_ticket_id() == selected
        assert table.verticalScrollBar().value() == scrolled
        assert window.conversation.ticket_id == selected  # the core's panes came up
    finally:
        window.close()
        ws.close()


def test_a_shell_closed_before_the_core_came_up_closes_cleanly(qtbot: Any, tmp_path: Path) -> None:
    from ui.views.main_window import MainWindow

    window = MainWindow(config=_config(), preview=None, restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    assert window.inbox_model.rowCount() == 0  # no cache yet: an empty inbox, opening
    assert window.statusBar().currentMessage()
    with qtbot.waitSignal(window.closed):
        window.close()


def test_a_search_typed_before_the_core_came_up_runs_once_it_is_there(
    qtbot: Any, tmp_path: Path
) -> None:
    window, path, config = _shell(qtbot, tmp_path)
    window.search.setText("no such words anywhere")
    assert window.inbox_model.rowCount() == PAGE  # nothing searched yet: no core
    ws = _core(config, path)
    window.attach(ws)
    try:
        qtbot.waitUntil(lambda: window.inbox_model.view.ticket_ids is not None)
        assert window.inbox_model.rowCount() == 0  # the search ran: nothing matches
    finally:
        window.close()
        ws.close()


def test_our_commands_are_found_as_importlib_metadata_finds_them_without_loading_it() -> None:
    from importlib.metadata import distribution

    from app import cli
    from ui.cli import workstation_command

    declared = distribution(cli.DISTRIBUTION).entry_points.select(group=cli.GROUP)
    assert cli._own_commands() == {point.name: point.value for point in declared}
    load = cli._plugin("workstation")
    assert load is not None and load() is workstation_command
    probe = (
        "import sys, app.cli\n"
        "assert app.cli._plugin('workstation') is not None\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
