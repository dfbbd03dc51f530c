"""Files an agent attaches to a reply: staged in the data folder until the reply is delivered.

The outbox must survive restarts and ``kill -9``, so the files are copied into
``<data>/outbox/<action id>/`` *before* the action's transaction commits (a crash in between
leaves an orphan folder, removed by :func:`sweep`, never an action without its files). The
outbox payload records name, type, size and the staged path; delivery hands them to the adapter
as :class:`OutgoingFile`; a delivered or discarded action's folder is removed.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app import paths
from app.domain import ErrorContext, TablessError
from app.registry import OutgoingFile

MAX_FILE_BYTES = 25 * 1024 * 1024  # per file; most ticket systems refuse larger uploads
MAX_FILES = 10
_UNSAFE = re.compile(r"[^\w.\- ()\[\]\u4e00-\u9fff]+")


class AttachmentRefused(TablessError):
    """A file cannot be attached (missing, too large, too many)."""


def outbox_dir() -> Path:
    """Where staged files live."""
    return paths.data_dir() / "outbox"


def safe_name(name: str) -> str:
    """A file name without path parts or characters file systems refuse."""
    base = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    cleaned = _UNSAFE.sub("_", base)[:120]
    return cleaned or "attachment"


def check(files: Sequence[Path]) -> None:
    """Refuse, with the file named, what cannot be attached."""
    if len(files) > MAX_FILES:
        raise AttachmentRefused(f"at most {MAX_FILES} files can be attached to one reply")
    for file in files:
        where = ErrorContext(field=str(file))
        if not file.is_file():
            raise AttachmentRefused(f"{file.name}: the file does not exist", where)
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise AttachmentRefused(
                f"{file.name} is {size / 1048576:.1f} MB; at most "
                f"{MAX_FILE_BYTES // 1048576} MB per file",
                where,
            )


def stage(action_id: str, files: Sequence[Path]) -> list[dict[str, Any]]:
    """Copy ``files`` for ``action_id``; returns the payload entries (blocking: call off-loop)."""
    check(files)
    folder = outbox_dir() / action_id
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[dict[str, Any]] = []
    used: set[str] = set()
    for file in files:
        name = safe_name(file.name)
        stem, suffix = Path(name).stem, Path(name).suffix
        counter = 1
        while name in used:
            counter += 1
            name = f"{stem} ({counter}){suffix}"
        used.add(name)
        target = folder / name
        shutil.copyfile(file, target)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        staged.append(
            {
                "filename": file.name,
                "content_type": kind,
                "size": target.stat().st_size,
                "path": str(target),
            }
        )
    return staged


def outgoing(entries: Iterable[Any]) -> tuple[OutgoingFile, ...]:
    """The adapter's view of a payload's ``attachments``."""
    return tuple(
        OutgoingFile(
            path=str(entry["path"]),
            filename=str(entry["filename"]),
            content_type=str(entry.get("content_type") or "application/octet-stream"),
            size=int(entry.get("size") or 0),
        )
        for entry in entries
        if isinstance(entry, dict) and entry.get("path")
    )


def release(action_id: str) -> None:
    """Remove an action's staged files (delivered or discarded)."""
    shutil.rmtree(outbox_dir() / action_id, ignore_errors=True)


def sweep(live_action_ids: Iterable[str]) -> int:
    """Remove staged folders of actions that are no longer waiting; returns how many."""
    root = outbox_dir()
    if not root.is_dir():
        return 0
    keep = set(live_action_ids)
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
