"""Where each key of a TOML file is written: ``tomllib`` parses values but keeps no positions.

:func:`key_lines` scans the text once and maps every key path to the line it is written on:
table headers (``[a.b]``), arrays of tables (``[[a.b]]``, indexed 0, 1, … in file order),
dotted keys, inline tables and arrays (``k = { x = 1 }``, ``k = [1, 2]``). It expects a file that
``tomllib`` has already accepted; on anything it does not understand it stops and returns what it
found so far, so a position is a best effort and never an exception.
"""

from __future__ import annotations

import re

__all__ = ["KeyPath", "dotted", "key_lines", "line_of"]

KeyPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")


class _Stop(Exception):
    """The scanner met something it does not model."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}

    # --- low level ---------------------------------------------------------------------------

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def skip(self, *, newlines: bool) -> None:
        """Skip blanks and comments (and line ends when ``newlines``)."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Stop(token)
        self.pos += len(token)

    def string(self) -> str:
        """Read a basic, literal or multi-line string; returns its raw content."""
        for quote in ('"""', "'''", '"', "'"):
            if self.text.startswith(quote, self.pos):
                break
        else:
            raise _Stop("string")
        start = self.pos + len(quote)
        index = start
        while True:
            end = self.text.find(quote, index)
            if end < 0:
                raise _Stop("unterminated string")
            if quote.startswith('"') and _escaped(self.text, end):
                index = end + 1
                continue
            if len(quote) == 3:  # a multi-line string may end with extra quotes: """a"""""
                while self.text.startswith(quote[0], end + 3):
                    end += 1
            self.pos = end + len(quote)
            return self.text[start:end]

    def key(self) -> tuple[str, ...]:
        """A possibly dotted, possibly quoted key."""
        parts: list[str] = []
        while True:
            self.skip(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                match = _BARE.match(self.text, self.pos)
                if match is None:
                    raise _Stop("key")
                parts.append(match.group())
                self.pos = match.end()
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # --- structure ---------------------------------------------------------------------------

    def resolve(self, parts: tuple[str, ...]) -> KeyPath:
        """``parts`` of a header with the current index of every array of tables inserted."""
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def record(self, path: KeyPath, line: int) -> None:
        """Remember ``path`` (and its implicit parents, e.g. ``a`` of ``[a.b]``) at ``line``."""
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def value(self, path: KeyPath) -> None:
        self.skip(newlines=False)
        char = self.peek()
        if char == "{":
            self.pos += 1
            while True:
                self.skip(newlines=True)
                if self.peek() == "}":
                    self.pos += 1
                    return
                line = self.line
                key = (*path, *self.key())
                self.expect("=")
                self.record(key, line)
                self.value(key)
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                item = (*path, index)
                self.record(item, self.line)
                self.value(item)
                index += 1
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif char in ('"', "'"):
            self.string()
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.pos = len(self.text) if match is None else match.start()

    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            line = self.line
            if self.peek(2) == "[[":
                self.pos += 2
                parts = self.key()
                self.expect("]]")
                array = (*self.resolve(parts[:-1]), parts[-1])
                self.arrays[array] = self.arrays.get(array, -1) + 1
                table = (*array, self.arrays[array])
                self.record(array, line)
                self.record(table, line)
            elif self.peek() == "[":
                self.pos += 1
                parts = self.key()
                self.expect("]")
                table = self.resolve(parts)
                self.record(table, line)
            else:
                key = (*table, *self.key())
                self.expect("=")
                self.record(key, line)
                self.value(key)


def _escaped(text: str, index: int) -> bool:
    """True when the character at ``index`` is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every key path of the TOML ``text`` (tables, keys, array items) and its 1-based line."""
    scanner = _Scanner(text)
    try:
        return scanner.run()
    except _Stop:
        return scanner.lines


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, else of its nearest written parent (a missing key: its table)."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None


def dotted(path: KeyPath) -> str:
    """``endpoints.list.pagination.style`` / ``ticket.extra[1].path``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
