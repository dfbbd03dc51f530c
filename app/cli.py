"""The ``tabless`` command line.

Qt-free commands live here; the workstation, the demo, the backend and the sandbox register
themselves through the ``tabless.commands`` entry points, so this module never imports Qt, the
backend or the sandbox.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points

from app import __version__

Command = Callable[[list[str]], int]


def _plugins() -> dict[str, Callable[[], Command]]:
    return {point.name: point.load for point in entry_points(group="tabless.commands")}


def doctor_command(argv: list[str]) -> int:
    """``tabless doctor``: where files live, which keyring is active, which adapters exist."""
    from app import paths
    from app.config import load_config
    from app.domain import TablessError
    from app.registry import adapter_classes, broken_adapters
    from app.secrets import SecretStore

    argparse.ArgumentParser(prog="tabless doctor").parse_args(argv)
    out = sys.stdout.write
    out(f"Tabless {__version__}\n")
    out(f"data:        {paths.data_dir()}\n")
    out(f"user config: {paths.config_dir() / 'config.toml'}\n")
    site = paths.site_config_file()
    out(f"site config: {site}{'' if site.exists() else ' (not found)'}\n")
    store = SecretStore()
    try:
        store.ensure_available()
        out(f"keyring:     {store.backend_name()} (ok)\n")
    except TablessError as exc:
        out(f"keyring:     NOT AVAILABLE — {exc}\n")
    out(f"adapters:    {', '.join(sorted(adapter_classes()))}\n")
    for name, reason in sorted(broken_adapters().items()):
        out(f"adapter:     {name} UNUSABLE — {reason}\n")
    try:
        config = load_config()
    except TablessError as exc:
        out(f"config:      ERROR — {exc}\n")
        return 1
    from app.secret_cli import missing_secrets

    missing = missing_secrets(store) if config.systems else {}
    for system_id, entry in config.systems.items():
        lacking = missing.get(system_id)
        state = f"MISSING SECRETS: {', '.join(lacking)}" if lacking else "ok"
        out(f"system:      {system_id} ({entry.adapter}, {entry.title}) — {state}\n")
    return 1 if missing else 0


def _adapter_command() -> Command:
    from app.adapter_cli import adapter_command

    return adapter_command


def _secret_command() -> Command:
    from app.secret_cli import secret_command

    return secret_command


def _audit_command() -> Command:
    from app.audit.cli import audit_command

    return audit_command


BUILTIN: dict[str, Callable[[], Command]] = {
    "doctor": lambda: doctor_command,
    "secret": _secret_command,
    "audit": _audit_command,
    "adapter": _adapter_command,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tabless`` executable."""
    args = sys.argv[1:] if argv is None else argv
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    commands: dict[str, Callable[[], Command]] = {**_plugins(), **BUILTIN}
    if not args or args[0] in {"-h", "--help"}:
        sys.stdout.write(
            f"usage: tabless {{{','.join(sorted(commands))}}} [options]\n"
            "Run `tabless COMMAND --help` for a command's options.\n"
        )
        return 0
    if args[0] == "--version":
        sys.stdout.write(f"tabless {__version__}\n")
        return 0
    name, rest = args[0], args[1:]
    if name not in commands:
        sys.stderr.write(f"tabless: unknown command {name!r}; try --help\n")
        return 2
    return commands[name]()(rest)


if __name__ == "__main__":
    raise SystemExit(main())
