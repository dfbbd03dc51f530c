"""Text decoding: declared charset, then BOM, then UTF-8, then GB18030 — never a silent guess."""

from __future__ import annotations

import codecs

from app.domain import DecodeError, ErrorContext

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOM_OF = {encoding: bom for bom, encoding in _BOMS}
# GBK and GB2312 are subsets of GB18030; decoding with the superset loses nothing.
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030"}


def normalize_charset(charset: str | None) -> str | None:
    """Canonical codec name for a declared charset (``GBK`` → ``gb18030``), or None."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def strip_bom(data: bytes) -> tuple[bytes, str | None]:
    """``data`` without its byte-order mark, and the encoding the mark announces."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :], encoding
    return data, None


def decode_bytes(
    data: bytes, declared: str | None = None, *, context: ErrorContext | None = None
) -> str:
    """Decode ``data``: declared charset, then BOM, then UTF-8, then GB18030.

    Raises ``DecodeError`` with the byte offset when the declared charset does not fit.
    """
    _, bom_encoding = strip_bom(data[:4])
    # The text after the mark, decoded without first copying the bytes (``str`` reads any
    # buffer; ``bytes[3:]`` of a 50 MB export is a 50 MB copy).
    body = memoryview(data)[len(_BOM_OF[bom_encoding]) :] if bom_encoding else data
    encoding = normalize_charset(declared) or bom_encoding
    ctx = context or ErrorContext()
    if encoding:
        try:
            return str(body, encoding)
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"bytes do not match the declared encoding {encoding}",
                ErrorContext(
                    system=ctx.system,
                    stream=ctx.stream,
                    record_id=ctx.record_id,
                    url=ctx.url,
                    offset=exc.start,
                ),
            ) from exc
    try:
        return str(body, "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return str(body, "gb18030")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            "text is neither UTF-8 nor GB18030",
            ErrorContext(system=ctx.system, stream=ctx.stream, url=ctx.url, offset=exc.start),
        ) from exc
