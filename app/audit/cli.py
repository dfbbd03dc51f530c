"""``tabless audit verify``: check the local audit journal and, optionally, the backend's copy.

    tabless audit verify [--cache PATH] [--backend URL]

Exit code 0 when everything is intact, 1 when a chain is broken (the report names the seq and
record id of the first bad record), 2 for a usage error or an unreachable/refusing backend.
The backend token comes from the keyring (owner ``backend``, key ``backend_token``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from app.audit.signing import existing_key
from app.audit.verify import (
    Finding,
    compare,
    earliest,
    fetch_backend_chain,
    read_journal,
    verify_records,
)
from app.audit.wire import AuditRecord
from app.domain import TablessError
from app.secrets import SecretStore


def audit_command(argv: list[str], store: SecretStore | None = None) -> int:
    """Run ``tabless audit`` with ``argv`` (without the program name); the exit code.

    ``store`` is the keyring (default: Tabless's own entries).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command != "verify":
        parser.print_help()
        return 2
    try:
        return _verify(args.cache, args.backend, store or SecretStore())
    except TablessError as exc:
        sys.stderr.write(f"tabless audit: {exc}\n")
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tabless audit", description="The audit trail.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    verify = commands.add_parser(
        "verify", help="check the journal's hash chain and signatures (and the backend's copy)"
    )
    verify.add_argument("--cache", type=Path, help="the cache database (default: the user's)")
    verify.add_argument("--backend", metavar="URL", help="also check the backend's copy")
    return parser


def _verify(cache_path: Path | None, backend_url: str | None, store: SecretStore) -> int:
    from app import paths
    from app.cache import open_cache

    out = sys.stdout.write
    cache = open_cache(cache_path or paths.data_dir() / "cache.sqlite3")
    try:
        with cache.engine.connect() as conn:
            local, unreadable = read_journal(conn)
        device_id = cache.device_id
    finally:
        cache.close()
    key = existing_key(store)
    public_key = key.public_key if key else None
    finding = earliest(unreadable, verify_records(local, public_key))
    broken = _say(out, f"local journal of device {device_id}", len(local), finding)
    if public_key is None:
        out("  (no signing key in the keyring: signatures not checked)\n")
    if backend_url is None:
        return 1 if broken else 0
    try:
        remote, registered, remote_finding = _backend_chain(backend_url, device_id, store)
    except httpx.HTTPStatusError as exc:
        sys.stderr.write(
            f"tabless audit: the backend refused ({exc.response.status_code}): "
            f"{exc.response.text[:300]}\n"
        )
        return 2
    except httpx.HTTPError as exc:
        sys.stderr.write(f"tabless audit: cannot reach {backend_url}: {type(exc).__name__}\n")
        return 2
    remote_finding = earliest(remote_finding, verify_records(remote, registered))
    broken |= _say(out, "backend copy", len(remote), remote_finding)
    if registered is not None and public_key is not None and registered != public_key:
        out("  the backend has another public key registered for this device\n")
        broken = True
    mismatch = compare(local, remote)
    broken |= _say(out, "journal vs backend", min(len(local), len(remote)), mismatch)
    return 1 if broken else 0


def _backend_chain(
    backend_url: str, device_id: str, store: SecretStore
) -> tuple[list[AuditRecord], str | None, Finding | None]:
    from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY

    token = store.get(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY)
    with httpx.Client(
        base_url=backend_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    ) as client:
        return fetch_backend_chain(client, device_id)


def _say(out: Callable[[str], object], what: str, count: int, finding: Finding | None) -> bool:
    if finding is None:
        out(f"{what}: {count} records, intact\n")
        return False
    out(f"{what}: BROKEN at {finding.describe()} [{finding.problem}]\n")
    return True
