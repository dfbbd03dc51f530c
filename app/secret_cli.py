"""``tabless secret``: put a system's secret into the OS keyring (never into a file).

tabless secret set SYSTEM KEY          prompts without echo
tabless secret set SYSTEM KEY --stdin  reads one line from standard input (scripts, IT)
tabless secret delete SYSTEM KEY
tabless secret check                   lists each configured system's missing secrets
"""

from __future__ import annotations

import argparse
import getpass
import sys

from app.config import load_config
from app.domain import TablessError
from app.registry import adapter_classes
from app.secrets import SecretStore


def missing_secrets(store: SecretStore) -> dict[str, list[str]]:
    """``{system_id: [secret keys the adapter declares but the keyring lacks]}``."""
    config = load_config()
    classes = adapter_classes()
    missing: dict[str, list[str]] = {}
    for system_id, entry in config.systems.items():
        cls = classes.get(entry.adapter)
        if cls is None:
            continue
        keys = [f.key for f in cls.manifest.config if f.secret and f.required]
        absent = [key for key in keys if not store.has(system_id, key)]
        if absent:
            missing[system_id] = absent
    return missing


def secret_command(argv: list[str]) -> int:
    """Run ``tabless secret``; the exit code."""
    parser = argparse.ArgumentParser(
        prog="tabless secret",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True)
    setter = sub.add_parser("set", help="store a secret")
    setter.add_argument("system")
    setter.add_argument("key")
    setter.add_argument("--stdin", action="store_true", help="read the value from stdin")
    deleter = sub.add_parser("delete", help="remove a secret")
    deleter.add_argument("system")
    deleter.add_argument("key")
    sub.add_parser("check", help="list missing secrets of configured systems")
    args = parser.parse_args(argv)
    store = SecretStore()
    try:
        if args.action == "set":
            if args.stdin:
                value = sys.stdin.readline().rstrip("\r\n")
            else:
                value = getpass.getpass(f"{args.key} for {args.system}: ")
            if not value:
                sys.stderr.write("tabless secret: empty value, nothing stored\n")
                return 1
            store.set(args.system, args.key, value)
            sys.stdout.write(f"stored {args.key} for {args.system} in {store.backend_name()}\n")
        elif args.action == "delete":
            store.delete(args.system, args.key)
            sys.stdout.write(f"deleted {args.key} for {args.system}\n")
        else:
            missing = missing_secrets(store)
            for system_id, keys in sorted(missing.items()):
                sys.stdout.write(f"{system_id}: missing {', '.join(keys)}\n")
            if not missing:
                sys.stdout.write("every configured system has its secrets\n")
            return 1 if missing else 0
    except TablessError as exc:
        sys.stderr.write(f"tabless secret: {exc}\n")
        return 2
    return 0
