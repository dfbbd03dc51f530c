"""``tabless workstation`` and ``tabless demo`` (registered as tabless.commands entry points)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _window_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offscreen", action="store_true", help="render without a display")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the main window")
    parser.add_argument(
        "--exit-after-sync",
        action="store_true",
        help="exit once every system completed its first sync",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the first sync (with --exit-after-sync)",
    )
    parser.add_argument("--lang", choices=("en", "zh_CN"), help="interface language")
    parser.add_argument("--announce", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tab",
        choices=("inbox", "supervisor", "palette", "shortcuts", "customer", "audit"),
        default="inbox",
        help="the screen shown first (palette, shortcuts, audit: that dialog over the inbox; "
        "customer: the first ticket's customer in every system)",
    )


def _options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ui.main import RunOptions, offscreen

    if args.offscreen:
        offscreen()
    return RunOptions(
        screenshot=args.screenshot,
        exit_after_sync=args.exit_after_sync,
        sync_timeout_s=args.timeout,
        language=args.lang,
        tab=args.tab,
        announce=args.announce,
    )


def workstation_command(argv: list[str]) -> int:
    """Open the workstation on the configured systems."""
    parser = argparse.ArgumentParser(prog="tabless workstation")
    _window_arguments(parser)
    args = parser.parse_args(argv)
    from ui.main import run

    return run(_options(args))


def demo_command(argv: list[str]) -> int:
    """Start the stand-ins and the backend, then the workstation over them — no configuration."""
    parser = argparse.ArgumentParser(prog="tabless demo")
    _window_arguments(parser)
    parser.add_argument(
        "--live-every", type=float, default=20.0, help="seconds between simulated remote changes"
    )
    parser.add_argument(
        "--break-system",
        action="append",
        default=[],
        choices=("zendesk", "quality", "osticket"),
        help="start this stand-in broken, to see how failures look (repeatable)",
    )
    args = parser.parse_args(argv)
    from app import demo
    from app.domain import TablessError

    home = demo.demo_home()
    os.environ["TABLESS_HOME"] = str(home)
    os.environ["TABLESS_SITE_CONFIG"] = str(home / "no-site-config.toml")
    os.environ["TABLESS_KEYRING_SERVICE"] = "tabless-demo"  # never touch the agent's real secrets
    try:
        services = demo.start_services(
            home, live_every_s=args.live_every, broken=tuple(args.break_system)
        )
    except TablessError as exc:
        sys.stderr.write(f"tabless demo: {exc}\n")
        return 2
    try:
        demo.configure(services)
        from ui.main import run

        return run(_options(args))
    finally:
        services.stop()
