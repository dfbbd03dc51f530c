"""Translations: our .ts files compiled to .qm, plus Qt's own ``qtbase_`` strings.

English is the source language; Simplified Chinese (zh_CN) is complete. The language follows the
system unless the user chose one; switching live sends ``QEvent.LanguageChange`` to every widget.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)
LANGUAGES = ("en", "zh_CN")


def translations_dir() -> Path:
    """Where our .ts/.qm files live (inside the package or the frozen bundle)."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources" / "translations"


def _lrelease() -> str | None:
    candidates = [Path(sys.executable).with_name("pyside6-lrelease"), Path("pyside6-lrelease")]
    for candidate in candidates:
        found = shutil.which(str(candidate))
        if found:
            return found
    return None


def compile_translations(directory: Path | None = None) -> list[Path]:
    """Compile every ``.ts`` newer than its ``.qm`` (the build step; also run in dev)."""
    folder = directory or translations_dir()
    tool = _lrelease()
    compiled: list[Path] = []
    for source in sorted(folder.glob("*.ts")):
        target = source.with_suffix(".qm")
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        if tool is None:
            log.warning("pyside6-lrelease not found; %s stays uncompiled", source.name)
            continue
        subprocess.run([tool, "-silent", str(source), "-qm", str(target)], check=True)  # noqa: S603
        compiled.append(target)
    return compiled


class Translations:
    """Installs and swaps the translators of the running application."""

    def __init__(self) -> None:
        self._installed: list[QTranslator] = []
        self.language = "en"

    def install(self, language: str | None = None) -> str:
        """Switch to ``language`` (None/empty: the system's); returns the language in use."""
        app = QCoreApplication.instance()
        assert app is not None
        for translator in self._installed:
            app.removeTranslator(translator)
        self._installed.clear()
        wanted = language or QLocale.system().name()
        self.language = "zh_CN" if wanted.startswith("zh") else "en"
        if self.language == "en":
            return self.language
        ours = QTranslator(app)
        if ours.load(f"tabless_{self.language}", str(translations_dir())):
            app.installTranslator(ours)
            self._installed.append(ours)
        else:
            log.warning("no compiled translation for %s in %s", self.language, translations_dir())
        qt = QTranslator(app)
        qt_path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt.load(f"qtbase_{self.language}", qt_path):
            app.installTranslator(qt)
            self._installed.append(qt)
        return self.language


def ui_sources(root: Path | None = None) -> list[Path]:
    """Every Python file of the UI (what lupdate scans)."""
    base = root or Path(__file__).resolve().parent
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def fill_translations(ts_file: Path, table: dict[str, str]) -> list[str]:
    """Write ``table``'s translations into ``ts_file``; returns source texts still missing."""
    from html import escape

    text = ts_file.read_text(encoding="utf-8")
    missing: list[str] = []
    out: list[str] = []
    for block in text.split("<message>"):
        if "<source>" not in block:
            out.append(block)
            continue
        source = block.split("<source>", 1)[1].split("</source>", 1)[0]
        plain = (
            source.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", '"')
            .replace("&apos;", "'")
            .replace("&amp;", "&")
        )
        head, _, rest = block.partition("<translation")
        tail = (
            rest.split("</translation>", 1)[1]
            if "</translation>" in rest
            else (rest.split("/>", 1)[1])
        )
        if plain in table:
            out.append(
                f"{head}<translation>{escape(table[plain], quote=False)}</translation>{tail}"
            )
        else:
            missing.append(plain)
            out.append(block)
    ts_file.write_text("<message>".join(out), encoding="utf-8")
    return missing


def update_translations() -> list[str]:
    """Re-scan the UI with lupdate and fill zh_CN from ``zh_CN.toml``; the missing texts."""
    import tomllib

    folder = translations_dir()
    tool = shutil.which(str(Path(sys.executable).with_name("pyside6-lupdate"))) or "pyside6-lupdate"
    ts_file = folder / "tabless_zh_CN.ts"
    subprocess.run(  # noqa: S603 - our own tool and files
        [tool, "-silent", "-no-obsolete", *map(str, ui_sources()), "-ts", str(ts_file)],
        check=True,
    )
    table = tomllib.loads((folder / "zh_CN.toml").read_text(encoding="utf-8"))
    return fill_translations(ts_file, table)


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        still_missing = update_translations()
        sys.stdout.write("".join(f"missing: {m}\n" for m in still_missing))
        raise SystemExit(1 if still_missing else 0)
    raise SystemExit("usage: python -m ui.i18n update")
