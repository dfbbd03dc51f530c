"""Attachments: listed with name, type and size; fetched, saved or opened only when asked.

Nothing is fetched while reading the conversation. Clicking an attachment's name offers
*Save as…* and *Open*. The bytes come from the system's adapter (``fetch_attachment``, where
it implements it: Request Tracker, Zendesk) and land under a sanitised name, without an execute
bit. *Open* hands a document to the desktop's viewer (``QDesktopServices``) and refuses every
type that would run code (``.exe``, ``.sh``, ``.js``, ``.jar``…): Tabless never executes a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QStandardPaths, QUrl, Signal
from PySide6.QtGui import QCursor, QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from app.domain import Attachment
from app.registry import Adapter
from ui.bridge import run_op

MAX_BYTES = 200 * 1024 * 1024
# Types that run code when "opened" on Windows, macOS or Linux desktops.
EXECUTABLE_SUFFIXES = frozenset(
    [
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".msi",
        ".msp",
        ".msc",
        ".scr",
        ".pif",
        ".cpl",
        ".dll",
        ".sys",
        ".drv",
        ".ocx",
        ".lnk",
        ".url",
        ".reg",
        ".inf",
        ".hta",
        ".js",
        ".jse",
        ".vbs",
        ".vbe",
        ".wsf",
        ".wsh",
        ".wsc",
        ".ps1",
        ".psm1",
        ".psd1",
        ".ps1xml",
        ".chm",
        ".gadget",
        ".application",
        ".appref-ms",
        ".sh",
        ".bash",
        ".zsh",
        ".csh",
        ".ksh",
        ".command",
        ".run",
        ".bin",
        ".out",
        ".desktop",
        ".appimage",
        ".deb",
        ".rpm",
        ".app",
        ".pkg",
        ".mpkg",
        ".dmg",
        ".scpt",
        ".applescript",
        ".action",
        ".workflow",
        ".jar",
        ".jnlp",
        ".class",
        ".py",
        ".pyw",
        ".pyz",
        ".pl",
        ".rb",
        ".php",
        ".elf",
        ".so",
        ".dylib",
        ".apk",
        ".xpi",
        ".crx",
        ".iso",
        ".img",
        ".vhd",
        ".vhdx",
        ".docm",
        ".xlsm",
        ".pptm",
        ".xlam",
    ]
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-executable",
        "application/x-elf",
        "application/x-mach-binary",
        "application/java-archive",
        "application/x-java-archive",
        "application/javascript",
        "text/javascript",
        "application/x-bat",
        "application/vnd.microsoft.portable-executable",
        "application/x-apple-diskimage",
    }
)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
MAX_NAME = 150


def safe_filename(name: str) -> str:
    """``name`` as a harmless file name: no folders, control or reserved characters, no
    leading dots, no trailing dots or spaces, no device names, at most 150 characters."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    text = re.sub(r"\s+", " ", text).rstrip(". ")
    if not text:
        text = "attachment"
    if _RESERVED.match(text):
        text = "_" + text
    if len(text) > MAX_NAME:
        stem, suffix = os.path.splitext(text)
        suffix = suffix[:20]
        text = stem[: MAX_NAME - len(suffix)] + suffix
    return text


def is_executable(name: str, content_type: str | None = None) -> bool:
    """True when opening the file would run code (by any of its suffixes, or its type)."""
    if Path(safe_filename(name)).suffix.lower() in EXECUTABLE_SUFFIXES:
        return True
    return (content_type or "").split(";")[0].strip().lower() in EXECUTABLE_TYPES


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2)``, ``name (3)``… when taken."""
    target = folder / name
    stem, suffix = os.path.splitext(name)
    number = 2
    while target.exists():
        target = folder / f"{stem} ({number}){suffix}"
        number += 1
    return target


def write_private(target: Path, data: bytes) -> Path:
    """Write ``data`` atomically, readable by the agent only and never executable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tabless-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def downloads_folder() -> Path:
    """The agent's Downloads folder (or the temp folder when the desktop has none)."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(found) if found else Path(tempfile.gettempdir())


class AttachmentHandler(QObject):
    """Answers the conversation's attachment clicks for the main window."""

    saved = Signal(str)
    """saved(path): an attachment was written to ``path``."""
    opened = Signal(str)
    """opened(path): an attachment was handed to the desktop's viewer."""
    refused = Signal(str)
    """refused(message): an attachment was not opened or saved; the message says why."""

    def __init__(self, window: QMainWindow, open_folder: Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ws: Any = window.ws  # type: ignore[attr-defined]
        self.panel: Any = window.conversation  # type: ignore[attr-defined]
        self.open_folder = open_folder or Path(tempfile.gettempdir()) / "tabless-attachments"
        self.menu: QMenu | None = None
        self.dialog: QFileDialog | None = None
        self.panel.attachment_requested.connect(self.offer)
        self.refused.connect(lambda text: window.statusBar().showMessage(text, 15_000))
        self.saved.connect(
            lambda path: window.statusBar().showMessage(
                QCoreApplication.translate("Attachments", "Saved {path}").format(path=path), 10_000
            )
        )

    def _meta(self, message_id: int, position: int) -> tuple[str, Attachment] | None:
        meta = self.panel.attachment(message_id, position)
        ticket = self.panel.ticket
        if meta is None or ticket is None:
            return None
        attachment = Attachment(
            filename=str(meta.get("filename") or "attachment"),
            content_type=meta.get("content_type"),
            size=meta.get("size"),
            url=meta.get("url"),
        )
        return str(ticket.system_id), attachment

    def offer(self, message_id: int, position: int) -> QMenu | None:
        """The Save as… / Open menu of one attachment, at the mouse pointer."""
        found = self._meta(message_id, position)
        if found is None:
            return None
        system_id, attachment = found
        menu = QMenu(self.window)
        can_fetch = self.can_fetch(system_id)
        save = menu.addAction(QCoreApplication.translate("Attachments", "Save as…"))
        save.setEnabled(can_fetch)
        save.triggered.connect(lambda: self.ask_where(system_id, attachment))
        open_ = menu.addAction(QCoreApplication.translate("Attachments", "Open"))
        executable = is_executable(attachment.filename, attachment.content_type)
        open_.setEnabled(can_fetch and not executable)
        if executable:
            open_.setToolTip(self.refusal(attachment))
        open_.triggered.connect(lambda: self.open(system_id, attachment))
        if not can_fetch:
            menu.addAction(
                QCoreApplication.translate(
                    "Attachments", "This system does not let Tabless download attachments"
                )
            ).setEnabled(False)
        self.menu = menu
        menu.popup(QCursor.pos())
        return menu

    def can_fetch(self, system_id: str) -> bool:
        """Whether the system's adapter can download attachments (overrides
        ``Adapter.fetch_attachment``; ``Capability.ATTACHMENTS`` is about uploads)."""
        adapter = self.ws.adapters.get(system_id)
        return adapter is not None and type(adapter).fetch_attachment is not (
            Adapter.fetch_attachment
        )

    @staticmethod
    def refusal(attachment: Attachment) -> str:
        """Why an executable attachment is not opened."""
        return QCoreApplication.translate(
            "Attachments",
            "{name} is a program or script. Tabless never opens or runs such files; "
            "save it and have it checked if you need it.",
        ).format(name=safe_filename(attachment.filename))

    async def fetch(self, system_id: str, attachment: Attachment) -> bytes:
        """The attachment's bytes from its system (refused above ``MAX_BYTES``)."""
        if not self.can_fetch(system_id):
            raise PermissionError(
                QCoreApplication.translate(
                    "Attachments", "This system does not let Tabless download attachments"
                )
            )
        data = await self.ws.adapters[system_id].fetch_attachment(attachment)
        if len(data) > MAX_BYTES:
            raise ValueError(
                QCoreApplication.translate("Attachments", "The attachment is larger than 200 MB.")
            )
        return bytes(data)

    def ask_where(self, system_id: str, attachment: Attachment) -> QFileDialog:
        """A non-blocking Save dialog proposing the sanitised name in Downloads."""
        dialog = QFileDialog(
            self.window, QCoreApplication.translate("Attachments", "Save attachment")
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(str(downloads_folder() / safe_filename(attachment.filename)))
        dialog.fileSelected.connect(lambda path: self.save(system_id, attachment, Path(path)))
        self.dialog = dialog
        dialog.open()
        return dialog

    def save(self, system_id: str, attachment: Attachment, target: Path) -> Any:
        """Download and write to ``target`` (its folder, sanitised name); emits ``saved``."""
        target = target.parent / safe_filename(target.name)

        def write(data: bytes) -> None:
            try:
                self.saved.emit(str(write_private(target, data)))
            except OSError as exc:
                self._failed(attachment, exc)

        return run_op(
            self.fetch(system_id, attachment),
            on_success=write,
            on_error=lambda exc: self._failed(attachment, exc),
        )

    def open(self, system_id: str, attachment: Attachment) -> Any:
        """Download into a private temp folder and show it in the desktop's viewer — never
        for programs or scripts."""
        if is_executable(attachment.filename, attachment.content_type):
            self.refused.emit(self.refusal(attachment))
            return None

        def show(data: bytes) -> None:
            try:
                self.open_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                path = write_private(
                    unique_path(self.open_folder, safe_filename(attachment.filename)), data
                )
            except OSError as exc:
                self._failed(attachment, exc)
                return
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
            self.opened.emit(str(path))

        return run_op(
            self.fetch(system_id, attachment),
            on_success=show,
            on_error=lambda exc: self._failed(attachment, exc),
        )

    def _failed(self, attachment: Attachment, error: BaseException) -> None:
        self.refused.emit(
            QCoreApplication.translate("Attachments", "Could not get {name}: {error}").format(
                name=safe_filename(attachment.filename), error=error
            )
        )
