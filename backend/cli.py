"""``tabless backend``: run the backend, or manage its agents.

    tabless backend [--host 127.0.0.1] [--port 8765|0] [--database-url URL] [--ready-file PATH]
    tabless backend create-agent NAME [--role agent|supervisor|admin] [--group GROUP]...
    tabless backend create-group NAME --scope own|team|department|all [--system ID]...
    tabless backend migrate [--database-url URL]

``--port 0`` picks a free port; ``--ready-file`` receives ``{"url": ..., "pid": ...}`` once the
server accepts connections (and is removed when it stops). ``create-agent`` prints the new
token on stdout, once, and puts the agent in each ``--group`` (by name); ``create-group``
prints the new permission group's id. Settings not given here come from
``TABLESS_BACKEND_*`` variables (``TABLESS_BACKEND_BOOTSTRAP_TOKEN`` creates or updates the
agent "demo" at start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.audit.wire import MAX_NAME_LENGTH
from app.domain.errors import ConfigError
from backend import crud
from backend import groups as permission_groups
from backend.core.config import Settings
from backend.core.db import Database, safe_url
from backend.core.logs import configure_logging
from backend.core.security import Role, Scope, new_token
from backend.errors import BackendRefusal

logger = logging.getLogger("tabless.backend")

DEFAULT_PORT = 8765


def backend_command(argv: list[str]) -> int:
    """Run ``tabless backend`` with ``argv`` (without the program name); the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "database_url", None):
            overrides["database_url"] = args.database_url
        settings = Settings(**overrides)
        if args.command == "create-agent":
            return _create_agent(
                settings, name=args.name, role=Role(args.role), groups=args.group or []
            )
        if args.command == "create-group":
            return _create_group(
                settings, name=args.name, scope=Scope(args.scope), systems=args.system or []
            )
        if args.command == "migrate":
            return _migrate(settings)
        return serve(settings, host=args.host, port=args.port, ready_file=args.ready_file)
    except ValidationError as exc:
        _fail(f"invalid setting: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}")
    except ConfigError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"database error: {_first_line(exc)}")
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``tabless backend --help``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="SQLAlchemy URL (sqlite:///path or postgresql://...); "
        "default: TABLESS_BACKEND_DATABASE_URL or a SQLite file in the user data directory",
    )
    parser = argparse.ArgumentParser(
        prog="tabless backend", description="The Tabless audit backend.", parents=[common]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="TCP port; 0 picks a free one"
    )
    parser.add_argument(
        "--ready-file", type=Path, help='write {"url": ...} here once connections are accepted'
    )
    parser.set_defaults(command="serve")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    create = commands.add_parser(
        "create-agent", parents=[common], help="create an agent (or replace its token)"
    )
    create.add_argument("name", help="the agent's name")
    create.add_argument("--role", choices=[role.value for role in Role], default=Role.AGENT.value)
    create.add_argument(
        "--group", action="append", metavar="GROUP", help="a permission group to join (by name)"
    )
    group = commands.add_parser("create-group", parents=[common], help="create a permission group")
    group.add_argument("name", help="the group's name")
    group.add_argument("--scope", choices=[scope.value for scope in Scope], required=True)
    group.add_argument(
        "--system", action="append", metavar="ID", help="a system its departments span"
    )
    commands.add_parser("migrate", parents=[common], help="bring the schema up to date and exit")
    return parser


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    ready_file: Path | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a clean stop."""
    from backend.main import create_app

    configure_logging(settings.log_level)
    try:
        sock = _listen(host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return 1
    url = _url_for(host, sock.getsockname()[1])
    app = create_app(settings)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", server_header=False
    )

    def on_ready() -> None:
        if ready_file is not None:
            write_ready_file(ready_file, url)
        logger.info(
            "backend ready", extra={"url": url, "database": safe_url(app.state.database.url)}
        )

    server = _Server(config, on_ready=on_ready)
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits this way when the startup (migrations) fails
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sock.close()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
    return 0 if server.started else 1


def write_ready_file(path: Path, url: str) -> None:
    """Write ``{"url", "pid"}`` to ``path`` atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    os.replace(partial, path)


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_ready`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, *, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            await asyncio.to_thread(self._on_ready)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop gracefully (a second Ctrl-C: at once). Unlike uvicorn, do not re-raise the
        signal once stopped: the command cleans up and returns 0."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def _url_for(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - only naming the wildcard, not binding it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _create_agent(settings: Settings, *, name: str, role: Role, groups: list[str]) -> int:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        _fail(f"an agent name has 1 to {MAX_NAME_LENGTH} characters")
        return 2
    database = Database(settings.database_url)
    try:
        database.migrate()
        token = new_token()
        with database.write_session() as session:
            created = crud.upsert_agent(session, name=name, role=role, token=token)
            known = {group.name: group.id for group in permission_groups.list_groups(session)}
            missing = [group for group in groups if group not in known]
            if missing:
                _fail(f"no permission group {missing[0]!r} (create-group first)")
                return 2
            for group in groups:
                permission_groups.set_membership(
                    session, group_id=known[group], agent_name=name, member=True
                )
            session.commit()
    finally:
        database.dispose()
    sys.stdout.write(token + "\n")
    verb = "created agent" if created else "replaced the token of agent"
    sys.stderr.write(f"{verb} {name!r} (role {role.value})\n")
    return 0


def _create_group(settings: Settings, *, name: str, scope: Scope, systems: list[str]) -> int:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        _fail(f"a group name has 1 to {MAX_NAME_LENGTH} characters")
        return 2
    database = Database(settings.database_url)
    try:
        database.migrate()
        with database.write_session() as session:
            try:
                group = permission_groups.create_group(
                    session,
                    name=name,
                    departments=[{"system_id": system} for system in systems],
                    scope=scope,
                )
            except BackendRefusal as exc:
                _fail(exc.message)
                return 2
            session.commit()
    finally:
        database.dispose()
    sys.stdout.write(group.id + "\n")
    sys.stderr.write(f"created permission group {name!r} ({scope.value}: {', '.join(systems)})\n")
    return 0


def _migrate(settings: Settings) -> int:
    database = Database(settings.database_url)
    try:
        database.migrate()
        sys.stderr.write(f"{safe_url(database.url)} is at revision {database.revision()}\n")
    finally:
        database.dispose()
    return 0


def _fail(message: str) -> None:
    sys.stderr.write(f"tabless backend: {message}\n")


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}"
