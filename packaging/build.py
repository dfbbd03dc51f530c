"""Build the one-folder bundle ``packaging/dist/tabless/`` with PyInstaller.

Run it with the project's virtualenv (stdlib only, so nothing else is needed)::

    .venv/bin/python packaging/build.py

Steps: check that the installed ``tabless`` metadata declares the entry points pyproject.toml
declares (the frozen app finds its commands and adapters through them) and that each of them
loads, compile the translations, run PyInstaller with ``packaging/tabless.spec``, print the
bundle's size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "tabless.spec"
DIST = PACKAGING / "dist"
WORK = PACKAGING / "build"
BUNDLE = DIST / "tabless"
TRANSLATIONS = ROOT / "resources" / "translations"


class BuildError(Exception):
    """A build step failed; the message says what to do."""


def declared_entry_points() -> set[tuple[str, str, str]]:
    """(group, name, value) of every entry point in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = {("console_scripts", k, v) for k, v in project.get("scripts", {}).items()}
    for group, points in project.get("entry-points", {}).items():
        found |= {(group, name, value) for name, value in points.items()}
    return found


def installed_entry_points() -> set[tuple[str, str, str]]:
    """(group, name, value) of the installed ``tabless`` distribution (what gets bundled)."""
    try:
        dist = metadata.distribution("tabless")
    except metadata.PackageNotFoundError:
        raise BuildError(
            f"tabless is not installed in {sys.prefix}; run `python3 run.py demo` once or "
            f"`{sys.executable} -m pip install -e '{ROOT}[dev]'`"
        ) from None
    return {(point.group, point.name, point.value) for point in dist.entry_points}


def check_metadata() -> None:
    """Refuse to bundle stale metadata: a command or adapter would silently be missing."""
    missing = declared_entry_points() - installed_entry_points()
    if missing:
        listed = ", ".join(f"{group}:{name}" for group, name, _ in sorted(missing))
        raise BuildError(
            f"the installed tabless metadata lacks {listed}; pyproject.toml changed since the "
            f"last install — run `{sys.executable} -m pip install -e '{ROOT}[dev]'`"
        )


def check_entry_points_load(allow_missing_adapters: bool) -> None:
    """Every command and adapter the metadata names must import; a broken adapter is only a
    warning with ``allow_missing_adapters`` (the app skips it and logs why)."""
    broken: list[str] = []
    for point in metadata.distribution("tabless").entry_points:
        try:
            point.load()
        except Exception as exc:  # reported, with its type, below
            line = f"{point.group}:{point.name} = {point.value} ({type(exc).__name__}: {exc})"
            if allow_missing_adapters and point.group == "tabless.adapters":
                print(f"warning: adapter left out of the bundle: {line}")
            else:
                broken.append(line)
    if broken:
        raise BuildError(
            "entry points that do not load (--allow-missing-adapters to ship without broken "
            "adapters):\n  " + "\n  ".join(broken)
        )


def compile_translations() -> list[Path]:
    """Compile ``resources/translations/*.ts`` to ``.qm``; every catalogue must be compiled."""
    subprocess.run(
        [sys.executable, "-c", "from ui.i18n import compile_translations as c; c()"],
        check=True,
        cwd=ROOT,
    )
    sources = sorted(TRANSLATIONS.glob("*.ts"))
    stale = [s.name for s in sources if not s.with_suffix(".qm").exists()]
    if stale:
        raise BuildError(
            f"not compiled: {', '.join(stale)} (is pyside6-lrelease next to {sys.executable}?)"
        )
    return sorted(TRANSLATIONS.glob("*.qm"))


def run_pyinstaller(clean: bool) -> None:
    """PyInstaller with the spec; output in packaging/dist/tabless."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK),
        str(SPEC),
    ]
    if clean:
        command.insert(3, "--clean")
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode:
        raise BuildError(f"PyInstaller failed with exit code {result.returncode}")


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) of ``folder``; symbolic links are not followed or counted twice."""
    total = files = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total, files


def main(argv: list[str]) -> int:
    """Build the bundle; print one human line and one JSON line with the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's caches first")
    parser.add_argument(
        "--allow-missing-adapters",
        action="store_true",
        help="build even if an adapter entry point does not load (it is left out)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        check_metadata()
        check_entry_points_load(args.allow_missing_adapters)
        catalogues = compile_translations()
        if not catalogues:
            print("warning: no translations in resources/translations; the bundle is English-only")
        run_pyinstaller(args.clean)
    except (BuildError, subprocess.CalledProcessError) as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    size, files = folder_size(BUNDLE)
    where = BUNDLE.relative_to(ROOT)
    print(f"built {where} in {seconds:.0f} s: {size / 1e6:.1f} MB, {files} files")
    print(
        json.dumps(
            {
                "bundle": str(BUNDLE),
                "build_s": round(seconds, 1),
                "size_mb": round(size / 1e6, 1),
                "files": files,
                "translations": [path.name for path in catalogues],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
