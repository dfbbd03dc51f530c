"""The README's demo, headless, in a new process: exits 0 after every system synced and saves a
PNG that shows ticket rows; a broken system makes it exit non-zero naming that system; no demo
secret lands in any file it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from sandbox.osticket import OsTicketStandIn
from sandbox.quality import QualityStandIn
from sandbox.zendesk import ZendeskStandIn

DEMO_SECRETS = (
    "zd-demo-secret-8c1f4e2a",
    "demo-quality-shared-key-2f9c1e7a4b6d8053",
    "portal-demo-password",
)


def _run_demo(home: Path, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TABLESS_HOME": str(home),
        "TABLESS_DEMO_HOME": str(home / "demo"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "demo",
            "--offscreen",
            "--exit-after-sync",
            "--announce",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _events(stdout: str) -> dict[str, Any]:
    return {
        e["event"]: e
        for e in map(json.loads, filter(lambda line: line.startswith("{"), stdout.splitlines()))
    }


def _text_pixel_share(image: QImage, left: int, top: int, right: int, bottom: int) -> float:
    dark = total = 0
    for y in range(top, bottom, 3):
        for x in range(left, right, 3):
            colour = image.pixelColor(x, y)
            total += 1
            dark += colour.lightness() < 110
    return dark / total


@pytest.mark.usefixtures("real_keyring")
def test_headless_demo_exits_0_with_a_screenshot_of_ticket_rows(tmp_path: Path) -> None:
    shot = tmp_path / "inbox.png"
    result = _run_demo(tmp_path, "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr[-3000:]
    events = _events(result.stdout)
    assert events["all_synced"]["rows"] >= 300 and events["all_synced"]["failed"] == []
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    inbox_text = _text_pixel_share(image, 10, 60, image.width() // 2, image.height() - 60)
    assert inbox_text > 0.02, f"the inbox area looks empty ({inbox_text:.3%} text pixels)"

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert any(p.name == "config.toml" for p in written)
    assert any(p.name.startswith("cache.sqlite3") for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in DEMO_SECRETS:
            assert secret.encode() not in data, f"{secret!r} leaked into {path}"


@pytest.mark.usefixtures("real_keyring")
def test_a_broken_system_fails_the_headless_demo_by_name(tmp_path: Path) -> None:
    result = _run_demo(tmp_path, "--break-system", "osticket", "--timeout", "8")
    assert result.returncode == 1
    assert "system 'osticket'" in result.stderr and "503" in result.stderr
    assert "'zendesk'" not in result.stderr


def test_demo_secrets_are_the_stand_ins_own() -> None:
    """Keeps DEMO_SECRETS honest: the leak check above must look for the real values."""
    assert ZendeskStandIn.__init__.__kwdefaults__["client_secret"] == DEMO_SECRETS[0]
    assert QualityStandIn.__init__.__kwdefaults__["jwt_key"] == DEMO_SECRETS[1]
    assert OsTicketStandIn.__init__.__kwdefaults__["password"] == DEMO_SECRETS[2]
