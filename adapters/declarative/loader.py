"""Read and fully check a mapping file; every mistake names the file, the line and the key.

``load_spec(path)`` returns a validated :class:`~adapters.declarative.spec.Spec` or raises one
``ConfigError`` listing every problem found, the first one in ``details`` (``file``, ``line``,
``key``) and all of them in ``details["problems"]``. Messages read like
``crm.toml, line 12, key endpoints.list.pagination.style: unknown value 'pages' (one of: …)``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapters.declarative.locate import KeyPath, dotted, key_lines, line_of
from adapters.declarative.spec import AUTH_KINDS, PAGINATION_STYLES, Spec
from app.domain import ConfigError, ErrorContext

__all__ = ["Problem", "load_spec", "parse_spec"]

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_CHOICES = {"kind": AUTH_KINDS, "style": PAGINATION_STYLES}


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a mapping file."""

    line: int
    key: str
    message: str

    def describe(self, file: str) -> str:
        """``crm.toml, line 12, key auth.kind: …``."""
        key = f", key {self.key}" if self.key else ""
        return f"{file}, line {self.line}{key}: {self.message}"


def load_spec(path: str | Path, *, system: str | None = None) -> Spec:
    """Read the mapping file at ``path`` and validate it; ``ConfigError`` on any mistake."""
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the mapping file {file}: {exc.strerror or exc}",
            ErrorContext(system=system, url=str(file), field="mapping"),
            details={"file": str(file), "line": None, "key": "mapping"},
        ) from exc
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise _error(file, [Problem(line, "", "the file is not UTF-8 text")], system) from exc
    return parse_spec(text, file=file, system=system)


def parse_spec(text: str, *, file: str | Path, system: str | None = None) -> Spec:
    """Validate the TOML ``text`` of the mapping file named ``file``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        line = int(found.group(1)) if found else 1
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise _error(Path(file), [Problem(line, "", f"not valid TOML: {reason}")], system) from exc
    lines = key_lines(text)
    source = data.get("source")
    fmt = source.get("format", "json") if isinstance(source, dict) else "json"
    try:
        spec = Spec.model_validate(data, context={"format": fmt if isinstance(fmt, str) else ""})
    except ValidationError as exc:
        problems = [_problem(error, data, lines) for error in exc.errors()]
        raise _error(Path(file), problems, system) from None
    problems = _cross_checks(spec, lines)
    if problems:
        raise _error(Path(file), problems, system)
    return spec


def _error(file: Path, problems: list[Problem], system: str | None) -> ConfigError:
    first = problems[0]
    listed = "\n".join(f"  {p.describe(file.name)}" for p in problems)
    more = f"\n{listed}" if len(problems) > 1 else ""
    return ConfigError(
        f"mapping file {first.describe(str(file))}{more}",
        ErrorContext(system=system, url=str(file), field=first.key or None),
        details={
            "file": str(file),
            "line": first.line,
            "key": first.key,
            "problems": [(p.line, p.key, p.message) for p in problems],
        },
    )


def _resolve(loc: tuple[int | str, ...], data: Any) -> tuple[KeyPath, bool]:
    """The key path ``loc`` names in ``data`` (pydantic's union tags left out) and whether the
    last key is written in the file."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_dict = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and part < len(current)
        if in_dict or in_list:
            path.append(part)
            current = current[part]
        elif last and isinstance(part, str) and isinstance(current, dict):
            path.append(part)
            return tuple(path), False
        # else: a union tag or model name pydantic inserted; not a key of the file
    return tuple(path), True


def _problem(error: Any, data: dict[str, Any], lines: dict[KeyPath, int]) -> Problem:
    kind = str(error.get("type", ""))
    path, written = _resolve(tuple(error.get("loc", ())), data)
    message = str(error.get("msg", "invalid value"))
    ctx = error.get("ctx") or {}
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "")).strip("'\"")
        path = (*path, tag)
        written = kind == "union_tag_invalid"
        choices = ", ".join(_CHOICES.get(tag, ()))
        given = ctx.get("tag")
        message = (
            f"unknown value {given!r} (one of: {choices})"
            if written
            else f"the key is required (one of: {choices})"
        )
    elif kind == "missing":
        written = False
        message = "the key is required"
    elif kind == "extra_forbidden":
        message = "unknown key (check the spelling; see docs/declarative-adapters.md)"
    elif kind.startswith("value_error"):
        message = message.removeprefix("Value error, ")
    line = line_of(lines, path) if written else line_of(lines, path[:-1])
    return Problem(line or 1, dotted(path), message)


def _cross_checks(spec: Spec, lines: dict[KeyPath, int]) -> list[Problem]:
    """What one model cannot see alone: format-dependent keys and combinations."""
    problems: list[Problem] = []

    def need(path: KeyPath, message: str) -> None:
        problems.append(Problem(line_of(lines, path[:-1]) or 1, dotted(path), message))

    def refuse(path: KeyPath, message: str) -> None:
        problems.append(Problem(line_of(lines, path) or 1, dotted(path), message))

    fmt = spec.source.format
    endpoints = spec.endpoints
    if fmt != "csv" and endpoints.list_.records is None:
        need(("endpoints", "list", "records"), f"the key is required for {fmt} payloads")
    if fmt == "csv":
        for path, value in (
            (("endpoints", "list", "records"), endpoints.list_.records),
            (("endpoints", "detail", "record"), endpoints.detail and endpoints.detail.record),
            (
                ("endpoints", "messages", "records"),
                endpoints.messages and endpoints.messages.records,
            ),
        ):
            if value is not None:
                refuse(path, "a CSV payload has no record path: every row is a record")
    auth = spec.auth
    if auth.kind == "api_key" and (auth.header is None) == (auth.query is None):
        need(("auth", "header"), "an api_key is sent in a header or a query parameter: give one")
    messages = endpoints.messages
    if messages is not None:
        if spec.message is None:
            need(("message",), "[endpoints.messages] needs a [message] field mapping")
        if fmt == "csv" and messages.path is None:
            need(("endpoints", "messages", "path"), "CSV messages need their own endpoint")
        if fmt != "csv" and messages.records is None:
            need(("endpoints", "messages", "records"), "the key is required")
    elif spec.message is not None:
        need(
            ("endpoints", "messages"),
            "[message] is mapped but no [endpoints.messages] says where messages are",
        )
    message = spec.message
    if message is not None:
        given = [k for k in ("public", "internal", "kind") if getattr(message, k) is not None]
        if len(given) > 1:
            refuse(("message", given[1]), "give one of message.public, internal or kind")
        if message.kind is not None and not message.kinds:
            need(("message", "kinds"), "message.kind needs a kinds table (native value = kind)")
    status = endpoints.status
    if status is not None:
        native = set(spec.status.values)
        for unified, value in status.values.items():
            if value not in native:
                refuse(
                    ("endpoints", "status", "values", unified),
                    f"{value!r} is not a native status of [status.values]",
                )
    return problems
