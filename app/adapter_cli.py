"""``tabless adapter``: IT's command line for connecting a system before rolling it out.

- ``check CONFIG``: connect and authenticate; prints the adapter's verdict, exit 0 or 1.
- ``preview CONFIG [--limit N]``: the first mapped tickets, one JSON object per line.
- ``decode --adapter NAME [--zone TZ] FILE...``: what an adapter reads from saved API
  responses, with no network (adapters that implement ``Adapter.decode_saved``).
- ``login SYSTEM [--config FILE]``: sign in through the browser (OAuth2 authorization code with
  PKCE, ``app.oauth_login``) for adapters whose ``oauth_endpoints()`` says where.

CONFIG is a TOML file with a ``[systems.<id>]`` entry in the user-config format
(``app/config/store.py``). Secrets come from the OS keyring (``app.secrets``), or with
``--secrets-from env`` from ``TABLESS_SECRET_<KEY>`` environment variables (scripted checks).
Printed text never contains a secret that was read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.config import SystemEntry, load_config
from app.domain import (
    Attachment,
    ConfigError,
    DecodeError,
    ErrorContext,
    Message,
    Person,
    RecordError,
    SecretError,
    TablessError,
    Ticket,
)
from app.oauth_login import OAuthEndpoints, sign_in
from app.registry import (
    SAVED_PART,
    Adapter,
    AdapterContext,
    adapter_classes,
    build_adapter,
    manifest_of,
)
from app.secrets import SecretStore, redact
from app.timeutil import to_iso_z, zone

ENV_SECRET_PREFIX = "TABLESS_SECRET_"  # noqa: S105 - a variable name prefix, not a secret
DEFAULT_LIMIT = 10
MAX_PREVIEW_PULLS = 100
Out = Callable[[str], Any]

# ------------------------------------------------------------------------------ JSON lines


def person_json(person: Person | None) -> dict[str, str | None] | None:
    """A requester, assignee or author; None when unknown."""
    if person is None:
        return None
    return {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "external_id": person.external_id,
    }


def _attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def message_json(message: Message) -> dict[str, Any]:
    """One conversation entry; times in UTC with ``Z``."""
    return {
        "external_id": message.external_id,
        "author": person_json(message.author),
        "body_text": message.body_text,
        "public": message.public,
        "created_at": to_iso_z(message.created_at),
        "attachments": [_attachment_json(a) for a in message.attachments],
    }


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """The printed form of a ticket: exactly these keys; unknown values stay null."""
    return {
        "system": ticket.key.system_id,
        "external_id": ticket.key.external_id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "native_status": ticket.native_status,
        "priority": ticket.priority.value if ticket.priority else None,
        "requester": person_json(ticket.requester),
        "assignee": person_json(ticket.assignee),
        "tags": list(ticket.tags),
        "created_at": to_iso_z(ticket.created_at),
        "updated_at": to_iso_z(ticket.updated_at),
        "deleted": ticket.deleted,
        "messages": [message_json(m) for m in ticket.messages],
    }


def ticket_line(ticket: Ticket) -> str:
    """One JSON object on one line (UTF-8 text kept as is)."""
    return json.dumps(ticket_json(ticket), ensure_ascii=False, separators=(",", ":"))


# -------------------------------------------------------------------------------- secrets


class KeyringSecrets(SecretStore):
    """The OS keyring; remembers what it handed out so output can be redacted."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def get(self, system_id: str, key: str) -> str:
        """The secret from the keyring."""
        value = super().get(system_id, key)
        self.read.append(value)
        return value


class EnvSecrets(KeyringSecrets):
    """Secrets from ``TABLESS_SECRET_<KEY>`` (``client_secret``: TABLESS_SECRET_CLIENT_SECRET)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        super().__init__()
        self.environ = dict(os.environ if environ is None else environ)

    def get(self, system_id: str, key: str) -> str:
        """The secret from the environment; SecretError naming the variable when unset."""
        name = ENV_SECRET_PREFIX + key.upper()
        value = self.environ.get(name)
        if not value:
            raise SecretError(
                f"the environment variable {name} is not set", ErrorContext(system=system_id)
            )
        self.read.append(value)
        return value


# ------------------------------------------------------------------------------- commands


def load_entry(path: Path, system_id: str | None) -> SystemEntry:
    """The ``[systems.<id>]`` entry of ``path`` (the only one, or ``system_id``)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file", ErrorContext(url=str(path)))
    # The file is both layers: no site config or environment leaks into what IT tests.
    systems = load_config(site_file=path, user_file=path, environ={}).systems
    if system_id is not None:
        if system_id not in systems:
            raise ConfigError(f"{path} has no [systems.{system_id}] entry")
        return systems[system_id]
    if len(systems) != 1:
        found = ", ".join(sorted(systems)) or "none"
        raise ConfigError(
            f"{path} must hold exactly one [systems.<id>] entry (found: {found}); "
            "choose one with --system"
        )
    return next(iter(systems.values()))


async def _check(entry: SystemEntry, secrets: SecretStore) -> tuple[bool, str]:
    adapter = build_adapter(entry, secrets)
    try:
        result = await adapter.check()
    finally:
        await adapter.aclose()
    latency = f" ({result.latency_ms:.0f} ms)" if result.latency_ms is not None else ""
    return result.ok, f"{result.message}{latency}"


async def _preview(
    entry: SystemEntry, secrets: SecretStore, limit: int
) -> tuple[list[Ticket], list[RecordError]]:
    adapter = build_adapter(entry, secrets)
    tickets: list[Ticket] = []
    quarantined: list[RecordError] = []
    cursor: str | None = None
    try:
        for _ in range(MAX_PREVIEW_PULLS):
            page = await adapter.pull(cursor)
            tickets.extend(page.tickets)
            quarantined.extend(page.quarantined)
            cursor = page.cursor
            if len(tickets) >= limit or not page.has_more:
                break
    finally:
        await adapter.aclose()
    return tickets[:limit], quarantined


def _secrets(args: argparse.Namespace) -> KeyringSecrets:
    return EnvSecrets() if args.secrets_from == "env" else KeyringSecrets()


def run_check(args: argparse.Namespace, out: Out, err: Out) -> int:
    """``tabless adapter check``."""
    secrets = _secrets(args)
    try:
        entry = load_entry(Path(args.config), args.system)
        ok, message = asyncio.run(_check(entry, secrets))
    except TablessError as exc:
        err(f"FAILED: {redact(str(exc), secrets.read)}\n")
        return 1
    label = f"{entry.id} ({entry.adapter})"
    text = redact(message, secrets.read)
    (out if ok else err)(f"{'ok' if ok else 'FAILED'}: {label}: {text}\n")
    return 0 if ok else 1


def run_preview(args: argparse.Namespace, out: Out, err: Out) -> int:
    """``tabless adapter preview``."""
    if args.limit < 1:
        err("--limit must be at least 1\n")
        return 2
    secrets = _secrets(args)
    try:
        entry = load_entry(Path(args.config), args.system)
        tickets, quarantined = asyncio.run(_preview(entry, secrets, args.limit))
    except TablessError as exc:
        err(f"FAILED: {redact(str(exc), secrets.read)}\n")
        return 1
    for ticket in tickets:
        out(redact(ticket_line(ticket), secrets.read) + "\n")
    for error in quarantined:
        err(f"quarantined: {redact(str(error), secrets.read)}\n")
    return 0


def can_decode_saved(cls: type[Adapter]) -> bool:
    """True when ``cls`` (or a base below ``Adapter``) implements ``decode_saved``."""
    owner = next(klass for klass in cls.__mro__ if "decode_saved" in vars(klass))
    return owner is not Adapter


def _no_secret(key: str) -> str:
    raise SecretError(f"decoding saved files needs no secret (asked for {key!r})")


def run_decode(args: argparse.Namespace, out: Out, err: Out) -> int:
    """``tabless adapter decode``."""
    try:
        manifest = manifest_of(args.adapter)
        zone(args.zone)
    except ConfigError as exc:
        err(f"{exc.message}\n")
        return 2
    cls = adapter_classes()[args.adapter]
    if not can_decode_saved(cls):
        err(f"adapter {args.adapter} cannot decode saved files\n")
        return 1
    try:
        payloads = [Path(name).read_bytes() for name in args.files]
    except OSError as exc:
        err(f"cannot read {exc.filename}: {exc.strerror}\n")
        return 2
    context = AdapterContext(
        system_id=args.adapter,
        settings={f.key: f.default for f in manifest.config if not f.secret},
        secret=_no_secret,
        naive_zone=args.zone,
    )
    names = list(args.files)
    failed = False
    while True:  # a file the adapter cannot read is named, then the others are decoded
        try:
            tickets: list[Ticket] = cls.decode_saved(payloads, context)
            break
        except NotImplementedError:
            err(f"adapter {args.adapter} cannot decode saved files\n")
            return 1
        except DecodeError as exc:
            part = exc.details.get(SAVED_PART)
            if not isinstance(part, int) or not 0 <= part < len(payloads):
                err(f"cannot decode: {exc}\n")
                return 1
            err(f"cannot decode {names.pop(part)}: {exc.message}\n")
            del payloads[part]
            failed = True
            if not payloads:
                return 1
        except TablessError as exc:
            err(f"cannot decode: {exc}\n")
            return 1
        except ValueError as exc:  # an adapter that lets a parser's error through
            err(f"cannot decode: {exc}\n")
            return 1
    for ticket in tickets:
        out(ticket_line(ticket) + "\n")
    return 1 if failed else 0


async def _login(entry: SystemEntry, secrets: SecretStore, out: Out, timeout_s: float) -> None:
    adapter = build_adapter(entry, secrets)
    try:
        found = getattr(adapter, "oauth_endpoints", None)
        endpoints = found() if callable(found) else None
    finally:
        await adapter.aclose()
    if not isinstance(endpoints, OAuthEndpoints):
        raise ConfigError(
            f"system {entry.id!r} ({entry.adapter}) does not sign in through the browser; "
            "choose the authorization-code sign-in in its settings first",
            ErrorContext(system=entry.id, field="auth"),
        )

    def open_browser(url: str) -> bool:
        out(f"Opening the sign-in page in your browser. If it does not open, visit:\n{url}\n")
        return webbrowser.open(url)

    await sign_in(entry.id, endpoints, secrets, open_browser=open_browser, timeout_s=timeout_s)


def run_login(args: argparse.Namespace, out: Out, err: Out) -> int:
    """``tabless adapter login``: sign a system in through the browser (OAuth2 code + PKCE)."""
    secrets = KeyringSecrets()
    try:
        if args.config:
            entry = load_entry(Path(args.config), args.system)
        else:
            systems = load_config().systems
            if args.system not in systems:
                raise ConfigError(
                    f"no system {args.system!r} is configured "
                    f"(configured: {', '.join(sorted(systems)) or 'none'})"
                )
            entry = systems[args.system]
        asyncio.run(_login(entry, secrets, out, args.timeout))
    except TablessError as exc:
        err(f"FAILED: {redact(str(exc), secrets.read)}\n")
        return 1
    out(f"ok: {entry.id} ({entry.adapter}) is signed in; the tokens are in the OS keyring\n")
    return 0


SECRETS_HELP = (
    "where secrets come from: 'keyring' (default; the OS keyring entry of the system, as "
    "stored by the workstation) or 'env' (TABLESS_SECRET_<KEY>, e.g. "
    "TABLESS_SECRET_CLIENT_SECRET for the setting client_secret — for scripted checks)"
)


def parser() -> argparse.ArgumentParser:
    """The ``tabless adapter`` argument parser."""
    top = argparse.ArgumentParser(
        prog="tabless adapter",
        description="Check, preview and decode a system's adapter before rolling it out.",
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name, run, summary in (
        ("check", run_check, "connect and authenticate; exit 0 when it works, 1 otherwise"),
        ("preview", run_preview, "print the first mapped tickets as JSON lines"),
    ):
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument("config", help="TOML file with a [systems.<id>] entry")
        sub.add_argument("--system", help="which [systems.<id>] entry, when there are several")
        sub.add_argument(
            "--secrets-from", choices=("keyring", "env"), default="keyring", help=SECRETS_HELP
        )
        if name == "preview":
            sub.add_argument(
                "--limit", type=int, default=DEFAULT_LIMIT, help="tickets to print (default 10)"
            )
        sub.set_defaults(run=run)
    decode = commands.add_parser(
        "decode",
        help="print what an adapter reads from saved API responses (no network)",
        description="Print, as JSON lines, the tickets a built-in adapter reads from saved API "
        "responses (a page, a ticket, its comments). Nothing is sent anywhere.",
    )
    decode.add_argument("--adapter", required=True, help="adapter name, e.g. zendesk")
    decode.add_argument(
        "--zone", default="UTC", help="zone of naive timestamps (default UTC), e.g. Asia/Shanghai"
    )
    decode.add_argument("files", nargs="+", metavar="FILE", help="saved response bodies")
    decode.set_defaults(run=run_decode)
    login = commands.add_parser(
        "login",
        help="sign a system in through the browser (OAuth2 authorization code + PKCE)",
        description="Open the system's sign-in page in the browser, receive the answer on "
        "127.0.0.1 and store the tokens in the OS keyring.",
    )
    login.add_argument("system", help="the system id ([systems.<id>])")
    login.add_argument(
        "--config", help="TOML file with the [systems.<id>] entry (default: your configuration)"
    )
    login.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the browser (300)"
    )
    login.set_defaults(run=run_login)
    drift = commands.add_parser(
        "drift",
        help="what the adapters tolerated: unknown fields, missing fields, unmapped values",
        description="Print, as JSON lines, the schema drift the workstation's adapters noticed "
        "(newest first): a field the system started sending, an expected field that went "
        "missing, a value with no mapping. Read from the local cache; nothing is sent.",
    )
    drift.add_argument("system", nargs="?", help="only this system id")
    drift.add_argument("--cache", help="cache file (default: the workstation's)")
    drift.set_defaults(run=run_drift)
    return top


def run_drift(args: argparse.Namespace, out: Out, err: Out) -> int:
    """``tabless adapter drift [SYSTEM]``: one JSON object per drift row; exit 0."""
    from app import paths
    from app.cache import drift, open_cache
    from app.timeutil import to_iso_z

    path = Path(args.cache) if args.cache else paths.data_dir() / "cache.sqlite3"
    if not path.exists():
        err(f"FAILED: no cache at {path} (has the workstation run on this machine?)\n")
        return 1
    cache = open_cache(path)
    try:
        with cache.engine.connect() as conn:
            rows = drift.report(conn, args.system)
    finally:
        cache.close()
    for row in rows:
        note = {
            "system": row.system_id,
            "stream": row.stream,
            "field": row.field,
            "kind": row.kind,
            "value": row.value or None,
            "example_record": row.example_record,
            "seen": row.seen,
            "first_seen": to_iso_z(row.first_seen),
            "last_seen": to_iso_z(row.last_seen),
        }
        out(json.dumps(note, ensure_ascii=False) + "\n")
    if not rows:
        err("no schema drift noticed\n")
    return 0


def adapter_command(argv: Sequence[str], *, out: Out | None = None, err: Out | None = None) -> int:
    """Entry point of ``tabless adapter``; returns the exit code."""
    args = parser().parse_args(list(argv))
    run: Callable[[argparse.Namespace, Out, Out], int] = args.run
    return run(args, out or sys.stdout.write, err or sys.stderr.write)
