"""Headless smoke test of the built bundle ``packaging/dist/tabless/``.

    python3 packaging/smoke.py [--bundle DIR] [--keep] [--timeout 300]

Runs, with a fresh temporary ``TABLESS_HOME`` and ``TABLESS_DEMO_HOME``:

1. ``tabless --version`` and ``tabless doctor`` (every command and adapter is registered, and
   the keyring works inside the bundle);
2. ``tabless doctor`` with ``TABLESS_SITE_CONFIG=packaging/site-config.example.toml`` (the IT
   template parses in the frozen app and names installed adapters);
3. ``tabless demo --offscreen --exit-after-sync --screenshot <tmp>/bundle.png``: the bundle starts
   itself again as ``tabless sandbox`` and ``tabless backend``, syncs every system, migrates both
   databases from the shipped Alembic scripts and saves a picture of the window;
4. when the bundle ships a Chinese catalogue, the same with ``--lang zh_CN`` (a second home):
   the window must find the catalogue (``bundle-zh_CN.png``).

It asserts exit code 0 and a non-empty PNG, then prints one JSON line with the bundle size and
the demo's run time. On Linux without a session bus each command runs in a private D-Bus
session with GNOME Keyring (keyring files in the temporary directory, never the user's).
Stdlib only; any Python 3.11+ can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "packaging" / "dist" / "tabless"
EXECUTABLE_NAME = "tabless.exe" if os.name == "nt" else "tabless"
SITE_EXAMPLE = ROOT / "packaging" / "site-config.example.toml"
ADAPTERS = ("csv", "osticket", "quality", "zendesk")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class SmokeFailure(Exception):
    """A check failed; the message says which and shows the output."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    def tail(self, lines: int = 25) -> str:
        """The last lines of both streams, for a failure message."""
        text = (self.stdout + "\n" + self.stderr).strip().splitlines()
        return "\n".join(text[-lines:])


def needs_private_keyring() -> bool:
    """True on Linux without a session bus, when the tools for a private one exist."""
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        and shutil.which("dbus-run-session") is not None
        and shutil.which("gnome-keyring-daemon") is not None
    )


def wrap(command: list[str]) -> list[str]:
    """``command`` inside a private D-Bus session with an unlocked GNOME Keyring if needed."""
    if not needs_private_keyring():
        return command
    script = (
        "printf tabless | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1;"
        f" exec {shlex.join(command)}"
    )
    return ["dbus-run-session", "--", "sh", "-c", script]


@dataclass(frozen=True, slots=True)
class Runner:
    """Runs the bundle's executable from a neutral directory, keeping each command's output."""

    executable: Path
    tmp: Path
    timeout: float

    def __call__(self, label: str, args: list[str], env: dict[str, str]) -> Outcome:
        """Run ``tabless *args``; the output goes to ``<tmp>/<label>.log``; never raises on a
        non-zero exit."""
        started = time.monotonic()
        try:
            result = subprocess.run(
                wrap([str(self.executable), *args]),
                env=env,
                cwd=self.tmp,  # nothing may come from the source tree
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SmokeFailure(
                f"`tabless {' '.join(args)}` did not finish in {self.timeout:.0f} s"
            ) from exc
        outcome = Outcome(
            result.returncode, result.stdout, result.stderr, time.monotonic() - started
        )
        log = f"$ tabless {' '.join(args)}\n{outcome.stdout}\n--- stderr ---\n{outcome.stderr}"
        (self.tmp / f"{label}.log").write_text(log, encoding="utf-8")
        return outcome


def expect(condition: bool, message: str, outcome: Outcome | None = None) -> None:
    """Raise SmokeFailure with ``message`` (and the command's output) unless ``condition``."""
    if not condition:
        details = f"\n--- output (tail) ---\n{outcome.tail()}" if outcome else ""
        raise SmokeFailure(message + details)


def clean_environment(tmp: Path) -> dict[str, str]:
    """The user's environment with every TABLESS_ variable replaced by fresh temp locations."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESS_")}
    env.update(
        TABLESS_HOME=str(tmp / "home"),
        TABLESS_DEMO_HOME=str(tmp / "demo"),
        TABLESS_SITE_CONFIG=str(tmp / "no-site.toml"),
    )
    if needs_private_keyring():
        env["XDG_DATA_HOME"] = str(tmp / "xdg-data")  # the private keyring's files
    return env


def check_doctor(run: Runner, env: dict[str, str]) -> None:
    """``--version`` and ``doctor`` work; all adapters are registered; the keyring is usable."""
    version = run("version", ["--version"], env)
    expect(version.code == 0 and version.stdout.startswith("tabless "), "--version", version)
    doctor = run("doctor", ["doctor"], env)
    expect(doctor.code == 0, f"`tabless doctor` exited with {doctor.code}", doctor)
    expect("(ok)" in doctor.stdout, "doctor: the keyring is not available", doctor)
    adapters_line = next(
        (line for line in doctor.stdout.splitlines() if line.startswith("adapters:")), ""
    )
    missing = [name for name in ADAPTERS if name not in adapters_line]
    expect(not missing, f"doctor: adapters missing from the bundle: {missing}", doctor)


def check_site_example(run: Runner, env: dict[str, str]) -> int:
    """``doctor`` reads the IT example site config; returns how many systems it listed."""
    doctor = run("doctor-site", ["doctor"], {**env, "TABLESS_SITE_CONFIG": str(SITE_EXAMPLE)})
    # A fresh keyring holds none of the example's secrets: doctor must parse every system, say
    # which secrets are missing (exit 1) and report no configuration error.
    systems = [line for line in doctor.stdout.splitlines() if line.startswith("system:")]
    expect(
        "config:      ERROR" not in doctor.stdout,
        "doctor rejected packaging/site-config.example.toml",
        doctor,
    )
    expect(len(systems) >= len(ADAPTERS), "doctor listed too few example systems", doctor)
    unexplained = [
        line for line in systems if not (line.endswith("— ok") or "MISSING SECRETS" in line)
    ]
    expect(
        doctor.code in (0, 1) and not unexplained,
        f"doctor exited {doctor.code} for other reasons than missing secrets",
        doctor,
    )
    return len(systems)


def check_demo(run: Runner, env: dict[str, str], png: Path, language: str = "") -> Outcome:
    """The demo syncs every system headless and writes a non-empty PNG (in ``language``)."""
    args = ["demo", "--offscreen", "--exit-after-sync", "--screenshot", str(png)]
    if language:
        args += ["--lang", language]
    demo = run(f"demo-{language or 'default'}", args, env)
    expect(demo.code == 0, f"`tabless {' '.join(args)}` exited with {demo.code}", demo)
    expect("no compiled translation" not in demo.stderr, f"{language}: catalogue not found", demo)
    expect(png.is_file() and png.stat().st_size > 0, f"no screenshot at {png}", demo)
    expect(png.read_bytes()[:8] == PNG_SIGNATURE, f"{png} is not a PNG", demo)
    return demo


def bundle_size(bundle: Path) -> tuple[int, int]:
    """(bytes, files) of the bundle folder, symbolic links not followed."""
    total = files = 0
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total, files


def main(argv: list[str]) -> int:
    """Run the checks; one JSON line on stdout; exit 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle", type=Path, default=BUNDLE, help="the bundle folder (default: %(default)s)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per command")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    executable = bundle / EXECUTABLE_NAME
    if not executable.is_file():
        print(f"no bundle at {executable}; run packaging/build.py first", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="tabless-smoke-"))
    png = tmp / "bundle.png"
    env = clean_environment(tmp)
    run = Runner(executable, tmp, args.timeout)
    size, files = bundle_size(bundle)
    report: dict[str, object] = {"bundle": str(bundle), "size_mb": round(size / 1e6, 1)}
    report["files"] = files
    report["private_keyring"] = needs_private_keyring()
    try:
        check_doctor(run, env)
        report["site_example_systems"] = check_site_example(run, env)
        demo = check_demo(run, env, png)
        if any((bundle / "_internal" / "resources" / "translations").glob("*_zh_CN.qm")):
            zh_env = {**env, "TABLESS_DEMO_HOME": str(tmp / "demo-zh_CN")}
            check_demo(run, zh_env, tmp / "bundle-zh_CN.png", "zh_CN")
            report["zh_CN"] = True
    except SmokeFailure as exc:
        report.update(ok=False, error=str(exc), tmp=str(tmp))
        print(json.dumps(report, ensure_ascii=False))
        return 1
    report.update(
        ok=True, demo_s=round(demo.seconds, 1), png=str(png), png_bytes=png.stat().st_size
    )
    if args.keep:
        report["tmp"] = str(tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        report["png"] = None  # removed with the temporary directory; --keep keeps them
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
