"""Dispatch ``python -m bench NAME [options]`` to ``bench/<name>.py:main(argv)``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def _names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    """Run one benchmark."""
    if not argv or argv[0] not in _names():
        print(f"usage: python -m bench {{{','.join(_names())}}} [options]")
        return 2
    module = importlib.import_module(f"bench.{argv[0]}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
