"""Record paths: JSONPath for JSON, XPath for XML (through ``adapters._formats.xml``), CSV columns.

A :class:`Selector` is compiled once from the mapping file and applied to many records:
``values(record)`` gives every match, ``first(record)`` the first or ``None``. JSONPath ``$`` and
XPath ``.`` are the record itself (or the page root for a page's ``records``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonpath

from adapters._formats import xml

__all__ = ["Selector", "check_selector", "compile_selector"]


class Selector:
    """One compiled record path of a given format."""

    __slots__ = ("_json", "expression", "format")

    def __init__(self, expression: str, format: str) -> None:
        self.expression = expression
        self.format = format
        self._json = jsonpath.compile(expression) if format == "json" else None

    def values(self, record: Any) -> list[Any]:
        """Every value ``record`` holds at this path (XML elements become their text)."""
        if self._json is not None:
            if not isinstance(record, Mapping | list):
                return []
            return list(self._json.findall(record))
        if self.format == "xml":
            found = record.xpath(self.expression)
            items = found if isinstance(found, list) else [found]
            return [_xml_value(item) for item in items]
        if isinstance(record, Mapping) and self.expression in record:
            return [record[self.expression]]
        return []

    def nodes(self, root: Any) -> list[Any]:
        """Matches kept as they are (XML elements stay elements): the records of a page."""
        if self.format == "xml":
            found = root.xpath(self.expression)
            return list(found) if isinstance(found, list) else [found]
        return self.values(root)

    def first(self, record: Any) -> Any:
        """The first match, or None."""
        found = self.values(record)
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"Selector({self.format}:{self.expression!r})"


def _xml_value(item: Any) -> Any:
    if hasattr(item, "itertext"):
        return "".join(item.itertext())
    if isinstance(item, bool | float):
        return item
    return str(item)


@lru_cache(maxsize=1024)
def compile_selector(expression: str, format: str) -> Selector:
    """The compiled selector for ``expression`` in ``format`` (cached)."""
    return Selector(expression, format)


def check_selector(expression: str, format: str) -> str | None:
    """Why ``expression`` is not a valid path for ``format``, or None."""
    if not expression.strip():
        return "the path is empty"
    if format == "json":
        try:
            jsonpath.compile(expression)
        except jsonpath.JSONPathError as exc:
            first = str(exc).splitlines()[0]
            return f"{expression!r} is not a valid JSONPath: {first}"
        return None
    if format == "xml":
        try:  # evaluating on an empty element compiles the expression; lxml stays in _formats
            xml.element("probe").xpath(expression)
        except Exception as exc:  # lxml.etree.XPathError and friends
            return f"{expression!r} is not a valid XPath: {exc}"
        return None
    return None
