"""The ``tabless`` command line.

Qt-free commands live here; the workstation, the demo, the backend and the sandbox register
themselves through the ``tabless.commands`` entry points, so this module never imports Qt, the
backend or the sandbox.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any, cast

from app import __version__

Command = Callable[[list[str]], int]
GROUP = "tabless.commands"
DISTRIBUTION = "tabless"  # ours (pyproject's project name): where our own commands are declared


def _plugins() -> dict[str, Callable[[], Command]]:
    """Every command of every installed distribution, by name."""
    from importlib.metadata import entry_points

    return {point.name: point.load for point in entry_points(group=GROUP)}


def _plugin(name: str) -> Callable[[], Command] | None:
    """The loader of command ``name``: one of our own distribution's commands (read without
    importlib.metadata, see :func:`_own_commands`), else any installed distribution's."""
    own = _own_commands().get(name)
    if own is not None:
        return functools.partial(_load, own)
    return _plugins().get(name)


def _own_commands() -> dict[str, str]:
    """Our distribution's commands (``name -> "module:attribute"``) from its
    ``entry_points.txt``, found on ``sys.path`` as importlib.metadata finds it — without
    importing importlib.metadata, which costs ``tabless workstation`` about 40 ms before its
    first paint. Empty when there is no such file (say, an egg-info or zipped install): then
    importlib.metadata looks."""
    for folder in sys.path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for name in names:
            if name.startswith(f"{DISTRIBUTION}-") and name.endswith(".dist-info"):
                path = os.path.join(folder or ".", name, "entry_points.txt")
                try:
                    with open(path, encoding="utf-8") as handle:
                        return _section(handle.read(), GROUP)
                except OSError:
                    return {}
    return {}


def _section(text: str, group: str) -> dict[str, str]:
    """The ``name = value`` lines of the ``[group]`` section of an entry_points.txt."""
    found: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def _load(value: str) -> Command:
    """The object an entry point's ``module:attribute`` value names (as ``EntryPoint.load``)."""
    module, _, attribute = value.partition(":")
    target: Any = import_module(module.strip())
    for part in attribute.split("[")[0].strip().split(".") if attribute.strip() else ():
        target = getattr(target, part)
    return cast(Command, target)


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
    if not args or args[0] in {"-h", "--help"}:
        commands = {**_plugins(), **BUILTIN}
        sys.stdout.write(
            f"usage: tabless {{{','.join(sorted(commands))}}} [options]\n"
            "Run `tabless COMMAND --help` for a command's options.\n"
        )
        return 0
    if args[0] == "--version":
        sys.stdout.write(f"tabless {__version__}\n")
        return 0
    name, rest = args[0], args[1:]
    load = BUILTIN.get(name) or _plugin(name)
    if load is None:
        sys.stderr.write(f"tabless: unknown command {name!r}; try --help\n")
        return 2
    return load()(rest)


if __name__ == "__main__":
    raise SystemExit(main())
