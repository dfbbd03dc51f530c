"""The "wire" of the ``csv`` adapter: listing and reading export files in a folder.

Blocking file-system calls only; the adapter runs them off the event loop. OS errors become the
typed errors of ``app.domain``: a missing folder is ``UnreachableError`` ("folder /x does not
exist"), a permission problem is ``AuthError``. Hidden files (``.name``, e.g. an exporter's
``.part`` file) never match.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from adapters._formats.tabular import DEFAULT_MAX_BYTES
from app.domain import AdapterError, AuthError, DecodeError, ErrorContext, UnreachableError


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One export file as listed: its name in the folder, size and modification time."""

    name: str
    size: int
    mtime_ns: int


class ExportFolder:
    """The export folder: ``list()`` the files matching ``pattern``, ``read()`` one of them."""

    def __init__(
        self,
        path: Path,
        pattern: str = "*.csv",
        *,
        system_id: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.path = path
        self.pattern = pattern
        self.max_bytes = max_bytes
        self._system = system_id

    def list(self) -> list[ExportFile]:
        """Matching regular files, in name order. Raises when the folder cannot be listed."""
        files: list[ExportFile] = []
        try:
            with os.scandir(self.path) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not fnmatch.fnmatch(entry.name, self.pattern):
                        continue
                    try:
                        if not entry.is_file():
                            continue
                        stat = entry.stat()
                    except FileNotFoundError:  # removed while listing
                        continue
                    files.append(ExportFile(entry.name, stat.st_size, stat.st_mtime_ns))
        except OSError as exc:
            raise self._folder_error(exc) from exc
        return sorted(files, key=lambda item: item.name)

    def read(self, entry: ExportFile) -> bytes | None:
        """The bytes of ``entry``, or None when it changed since it was listed (being written).

        Raises ``DecodeError`` for a file over ``max_bytes`` (without reading it) and a typed
        ``AdapterError`` when the file cannot be opened.
        """
        context = ErrorContext(system=self._system, stream=entry.name)
        if entry.size > self.max_bytes:
            raise DecodeError(
                f"{entry.name} is {entry.size} bytes, over the limit of {self.max_bytes} bytes",
                context,
                details={"size": entry.size, "limit": self.max_bytes},
            )
        listed = (entry.size, entry.mtime_ns)
        try:
            with (self.path / entry.name).open("rb") as handle:
                before = os.fstat(handle.fileno())
                if (before.st_size, before.st_mtime_ns) != listed:
                    return None
                data = handle.read(entry.size + 1)
                after = os.fstat(handle.fileno())
        except FileNotFoundError:
            return None  # renamed or removed since the listing: look again next time
        except PermissionError as exc:
            raise AuthError(f"{entry.name} is not readable: permission denied", context) from exc
        except OSError as exc:
            raise UnreachableError(f"{entry.name} cannot be read: {exc.strerror}", context) from exc
        if len(data) != entry.size or (after.st_size, after.st_mtime_ns) != listed:
            return None
        return data

    def _folder_error(self, exc: OSError) -> AdapterError:
        context = ErrorContext(system=self._system)
        if isinstance(exc, FileNotFoundError):
            return UnreachableError(f"folder {self.path} does not exist", context)
        if isinstance(exc, NotADirectoryError):
            return UnreachableError(f"{self.path} is not a folder", context)
        if isinstance(exc, PermissionError):
            return AuthError(f"folder {self.path} is not readable: permission denied", context)
        return UnreachableError(f"folder {self.path} cannot be read: {exc.strerror}", context)
