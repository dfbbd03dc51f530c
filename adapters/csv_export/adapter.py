"""``CsvExportAdapter``: nightly export files in a folder → tickets, one changed file per pull.

The cursor (JSON) remembers, per file name, ``[size, mtime_ns, sha256]`` of what was read, and,
per ticket id, the epoch second of the newest "Last update time" handed out::

    {"v": 1, "files": {"tickets-2026-11-30.csv": [5120, 1764547200000000000, "9f…"]},
     "seen": {"17": 1764500000}}

A pull lists the folder, takes the changed files (new, or size/mtime differ) in name order and
reads the first one that is not being written; ``has_more`` says more changed files wait.
A file whose content hash did not change is only re-stamped. A ticket is returned only when its
row is at least as new as the newest version already returned, so when the same ticket is in
several files the latest "Last update time" wins, whichever file is read last. Unreadable rows
are quarantined (file, line, column); the rest of the file is kept. Read-only: ``perform()``
keeps the base default.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from adapters._formats.batch import gc_paused
from adapters._formats.tabular import RecordBlock, read_rows
from adapters.base import Adapter, AdapterContext, CheckResult, PullResult
from adapters.csv_export.client import ExportFile, ExportFolder
from adapters.csv_export.manifest import MANIFEST
from adapters.csv_export.mapping import RowMapper, missing_columns, resolve_columns
from app.domain import (
    AdapterError,
    ConfigError,
    DecodeError,
    ErrorContext,
    RecordError,
    Ticket,
)
from app.timeutil import zone

CURSOR_VERSION = 1
_NAMED_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
_NOT_HASHED = ""  # files recorded without reading their content (refused as too large)
BLOCK_ROWS = 256  # rows mapped column by column at a time (``RowMapper.map_block``); their
# cells stay in the CPU cache between the column passes (256: 2-3% faster than 1024 or 128)


@dataclass(frozen=True, slots=True)
class PullStats:
    """What the last pull did with the folder (diagnostics; the cursor holds the real state)."""

    listed: int
    read: tuple[str, ...] = ()
    busy: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


@dataclass(slots=True)
class _Cursor:
    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> _Cursor:
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
            if raw.get("v") != CURSOR_VERSION:
                raise ValueError("unknown cursor version")
            files = {
                str(name): (int(size), int(mtime), str(digest))
                for name, (size, mtime, digest) in raw["files"].items()
            }
            seen = {str(key): int(value) for key, value in raw["seen"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DecodeError(
                f"the csv sync cursor is unreadable ({exc}); a full sync starts over",
                ErrorContext(stream="cursor"),
            ) from exc
        return cls(files, seen)

    def dump(self) -> str:
        files = {name: list(value) for name, value in sorted(self.files.items())}
        seen = dict(sorted(self.seen.items(), key=lambda item: int(item[0])))
        return json.dumps(
            {"v": CURSOR_VERSION, "files": files, "seen": seen}, separators=(",", ":")
        )

    def changed(self, entry: ExportFile) -> bool:
        known = self.files.get(entry.name)
        return known is None or known[:2] != (entry.size, entry.mtime_ns)


class CsvExportAdapter(Adapter):
    """Reads a folder of nightly Freshdesk ticket exports. Settings: folder, pattern, delimiter."""

    manifest = MANIFEST

    @classmethod
    def decode_saved(cls, payloads: list[bytes], context: AdapterContext) -> list[Ticket]:
        """Tickets in saved export files; the folder setting is not needed."""
        import dataclasses

        reader = cls(dataclasses.replace(context, settings={**context.settings, "folder": "."}))
        tickets: list[Ticket] = []
        for number, data in enumerate(payloads, start=1):
            tickets.extend(reader._parse(f"file-{number}.csv", data)[0])
        return tickets

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        folder = context.settings.get("folder")
        if not folder:
            raise ConfigError("the csv adapter needs a folder", ErrorContext(system=self.system_id))
        pattern = context.settings.get("pattern") or MANIFEST.field("pattern").default
        if "/" in pattern or "\\" in pattern:
            raise ConfigError(
                f"pattern {pattern!r} must be a file name pattern, not a path",
                ErrorContext(system=self.system_id, field="pattern"),
            )
        zone(context.naive_zone)  # a wrong zone fails here, not on every row
        self.delimiter = _delimiter(context.settings.get("delimiter"), self.system_id)
        self.folder = ExportFolder(
            Path(str(folder)).expanduser(), str(pattern), system_id=self.system_id
        )
        self.last_pull: PullStats | None = None

    async def check(self) -> CheckResult:
        """Is the folder there and readable, and how many export files does it hold."""
        started = time.perf_counter()
        try:
            files = await asyncio.to_thread(self.folder.list)
        except AdapterError as exc:
            return CheckResult(ok=False, message=exc.message)
        except Exception as exc:  # check() never raises
            return CheckResult(ok=False, message=f"folder {self.folder.path} cannot be read: {exc}")
        latency = (time.perf_counter() - started) * 1000
        where = f"folder {self.folder.path}"
        if not files:
            message = f"{where} is readable; no files match {self.folder.pattern} yet"
        else:
            noun = "export file" if len(files) == 1 else "export files"
            message = f"{where}: {len(files)} {noun} (newest: {files[-1].name})"
        return CheckResult(ok=True, message=message, latency_ms=latency)

    async def pull(self, cursor: str | None) -> PullResult:
        """Read the next changed export file; listing, reading and parsing run off the loop."""
        result, stats = await asyncio.to_thread(self._pull_blocking, cursor)
        self.last_pull = stats
        return result

    # -- blocking part, in a worker thread -----------------------------------------------------

    def _pull_blocking(self, cursor: str | None) -> tuple[PullResult, PullStats]:
        state = _Cursor.load(cursor)
        listing = self.folder.list()
        names = {entry.name for entry in listing}
        state.files = {name: value for name, value in state.files.items() if name in names}
        pending = [entry for entry in listing if state.changed(entry)]
        tickets: list[Ticket] = []
        quarantined: list[RecordError] = []
        read: list[str] = []
        busy: list[str] = []
        unchanged: list[str] = []
        remaining: list[ExportFile] = []
        for position, entry in enumerate(pending):
            try:
                data = self.folder.read(entry)
            except AdapterError as exc:
                # Reported once; tried again when the file changes.
                quarantined.append(_as_record_error(exc))
                state.files[entry.name] = (entry.size, entry.mtime_ns, _NOT_HASHED)
                remaining = pending[position + 1 :]
                break
            if data is None:
                busy.append(entry.name)
                continue
            read.append(entry.name)
            digest = hashlib.sha256(data).hexdigest()
            known = state.files.get(entry.name)
            state.files[entry.name] = (entry.size, entry.mtime_ns, digest)
            if known is not None and known[2] == digest:
                unchanged.append(entry.name)  # touched, same content: nothing to parse
                continue
            found, errors = self._parse(entry.name, data)
            tickets = _newer_than_seen(found, state.seen)
            quarantined.extend(errors)
            remaining = pending[position + 1 :]
            break
        stats = PullStats(len(listing), tuple(read), tuple(busy), tuple(unchanged))
        result = PullResult(
            tickets=tickets,
            cursor=state.dump(),
            has_more=bool(remaining),
            quarantined=quarantined,
        )
        return result, stats

    @gc_paused()
    def _parse(self, name: str, data: bytes) -> tuple[list[Ticket], list[RecordError]]:
        """Tickets of one file (latest row per ticket) and the rows that could not be read."""
        context = ErrorContext(system=self.system_id, stream=name)
        errors: list[RecordError] = []
        try:
            rows = read_rows(
                data, context=context, delimiter=self.delimiter, on_bad_row=errors.append
            )
        except DecodeError as exc:
            return [], [_as_record_error(exc)]
        columns = resolve_columns(rows.header)
        missing = missing_columns(columns)
        if missing:
            error = RecordError(
                f"{name}: required column {', '.join(repr(c) for c in missing)} not in the header",
                ErrorContext(system=self.system_id, stream=name, field=missing[0]),
                details={"line": 1, "column": missing[0], "header": list(rows.header.names)},
            )
            return [], [error]
        mapper = RowMapper(
            rows.header,
            columns,
            system_id=self.system_id,
            file=name,
            naive_zone=self.context.naive_zone,
        )
        latest: dict[str, Ticket] = {}
        mark = 0  # errors[mark:] were met while reading the current block
        try:
            for block in rows.blocks(BLOCK_ROWS):
                _keep_latest(_map_block(mapper, block, errors, mark), latest)
                mark = len(errors)
        except DecodeError as exc:  # the file breaks off (bad quoting, NUL): keep what was read
            errors.append(_as_record_error(exc))
        return list(latest.values()), errors


def _map_block(
    mapper: RowMapper, block: RecordBlock, errors: list[RecordError], mark: int
) -> list[Ticket]:
    """The tickets of ``block``; its unreadable rows join ``errors`` in line order.

    ``errors[mark:]`` are the ragged rows the reader met while reading ``block``.
    """
    tickets = mapper.map_block(block.rows)
    if tickets is not None:
        return tickets
    tickets = []
    found = errors[mark:]
    for line, cells in block.records():
        try:
            tickets.append(mapper.map_cells(line, cells))
        except RecordError as exc:
            found.append(exc)
    errors[mark:] = sorted(found, key=lambda error: error.details.get("line") or 0)
    return tickets


_EXTERNAL_ID = attrgetter("key.external_id")


def _keep_latest(tickets: list[Ticket], latest: dict[str, Ticket]) -> None:
    """Keep in ``latest`` the newest row of each ticket (the later row on a tie)."""
    fresh = dict(zip(map(_EXTERNAL_ID, tickets), tickets, strict=True))
    if len(fresh) == len(tickets) and latest.keys().isdisjoint(fresh):  # the usual case
        latest.update(fresh)
        return
    for ticket in tickets:
        previous = latest.get(ticket.key.external_id)
        if previous is None or ticket.updated_at >= previous.updated_at:
            latest[ticket.key.external_id] = ticket


def _newer_than_seen(tickets: list[Ticket], seen: dict[str, int]) -> list[Ticket]:
    """Keep the tickets at least as new as the newest version handed out; update ``seen``."""
    fresh: list[Ticket] = []
    for ticket in tickets:
        stamp = int(ticket.updated_at.timestamp())
        ticket_id = ticket.key.external_id
        if stamp >= seen.get(ticket_id, stamp):
            fresh.append(ticket)
            seen[ticket_id] = stamp
    return fresh


def _as_record_error(exc: AdapterError) -> RecordError:
    if isinstance(exc, RecordError):
        return exc
    return RecordError(exc.message, exc.context, details=dict(exc.details))


def _delimiter(value: Any, system_id: str) -> str | None:
    if value is None or value == "":
        return None
    text = _NAMED_DELIMITERS.get(str(value).casefold(), str(value))
    if len(text) != 1:
        raise ConfigError(
            f"delimiter {value!r} must be one character (or 'tab')",
            ErrorContext(system=system_id, field="delimiter"),
        )
    return text
