"""The hardened XML module: hostile documents, encodings, malformed input, safe writing."""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from adapters._formats import xml
from app.domain import DecodeError, ErrorContext

CTX = ErrorContext(system="portal", stream="tickets")

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)


def _parse(data: bytes, charset: str | None = None, **kwargs: int) -> xml.Element:
    return xml.parse_xml(data, declared_charset=charset, context=CTX, **kwargs)


@pytest.fixture
def listener(serve):  # type: ignore[no-untyped-def]
    """An HTTP server on 127.0.0.1 that records every request an XML parser might make."""
    hits: list[str] = []

    async def record(request: Request) -> PlainTextResponse:
        hits.append(request.url.path)
        return PlainTextResponse('<!ENTITY leaked "LEAKED">')

    url = serve(Starlette(routes=[Route("/{path:path}", record)]))
    return url, hits


# --- hostile documents --------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly_and_says_why() -> None:
    started = time.perf_counter()
    with pytest.raises(DecodeError) as caught:
        _parse(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert "declares entities" in caught.value.message
    assert "billion laughs" in caught.value.message
    assert caught.value.details["reason"] == "dangerous_doctype"
    assert caught.value.context.system == "portal"


def test_xxe_file_entity_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7731")
    document = (
        f'<!DOCTYPE ticket [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        "<ticket><subject>&xxe;</subject></ticket>"
    ).encode()
    with pytest.raises(DecodeError) as caught:
        _parse(document)
    assert "entity declarations are refused" in str(caught.value)
    assert "TOP-SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE t [<!ENTITY e SYSTEM "{url}/general">]><t>&e;</t>',
        '<!DOCTYPE t [<!ENTITY % p SYSTEM "{url}/parameter"> %p;]><t>&leaked;</t>',
        '<!DOCTYPE t SYSTEM "{url}/external.dtd"><t>&leaked;</t>',
    ],
    ids=["general-entity", "parameter-entity", "external-dtd"],
)
def test_xxe_over_http_is_refused_without_a_request(listener, template: str) -> None:  # type: ignore[no-untyped-def]
    url, hits = listener
    with pytest.raises(DecodeError) as caught:
        _parse(template.format(url=url).encode())
    assert caught.value.details["reason"] == "dangerous_doctype"
    assert hits == []


PARSER_ONLY = [
    '<!DOCTYPE t [<!ENTITY e SYSTEM "{url}/evil.dtd">]><t>&e;</t>',
    '<!DOCTYPE t [<!ENTITY % p SYSTEM "{url}/evil.dtd"> %p;]><t>&leaked;</t>',
    '<!DOCTYPE t SYSTEM "{url}/evil.dtd"><t>&leaked;</t>',
]


@pytest.mark.parametrize("scheme", ["file", "http"])
@pytest.mark.parametrize(
    "template", PARSER_ONLY, ids=["general-entity", "parameter-entity", "external-dtd"]
)
def test_the_parser_itself_loads_nothing_even_without_the_doctype_check(  # type: ignore[no-untyped-def]
    listener, tmp_path: Path, scheme: str, template: str
) -> None:
    """Defence in depth: the lxml parser configuration alone reads, fetches and expands nothing.

    (A default ``XMLParser(load_dtd=True)`` expands the file:// variants to ``LEAKED``.)
    """
    url, hits = listener
    (tmp_path / "evil.dtd").write_text('<!ENTITY leaked "LEAKED">')
    base = tmp_path.as_uri() if scheme == "file" else url
    parser = xml._parser()
    parser.feed(template.format(url=base).encode())
    root = parser.close()
    assert b"LEAKED" not in xml.serialize(root)
    assert hits == []


def test_harmless_doctypes_and_entity_lookalikes_are_accepted() -> None:
    assert xml.tag(_parse(b"<!DOCTYPE ticket><ticket/>")) == "ticket"
    subset = b"<!DOCTYPE t [<!-- no <!ENTITY here --><!ELEMENT t ANY>]><t>ok</t>"
    assert xml.findtext(_parse(subset), ".") == "ok"
    body = b"<t><body><![CDATA[quoted: <!DOCTYPE x [<!ENTITY a 'b'>]>]]></body></t>"
    assert "<!ENTITY" in xml.findtext(_parse(body), "body")


# --- encodings ----------------------------------------------------------------------------

GBK_DOC = '<?xml version="1.0" encoding="GBK"?>\n<t><s>发票抬头填写错误</s></t>'.encode("gbk")


def test_gbk_declared_in_the_document() -> None:
    assert xml.findtext(_parse(GBK_DOC), "s") == "发票抬头填写错误"


def test_declaration_wins_over_a_wrong_http_charset() -> None:
    assert xml.findtext(_parse(GBK_DOC, "utf-8"), "s") == "发票抬头填写错误"


def test_http_charset_is_used_when_the_document_declares_nothing() -> None:
    data = "<t><s>物流一直没有更新</s></t>".encode("gbk")
    assert xml.findtext(_parse(data, "GBK"), "s") == "物流一直没有更新"


def test_undeclared_gbk_bytes_are_detected_as_gb18030() -> None:
    data = "<t><s>账号无法登录</s></t>".encode("gbk")
    assert xml.findtext(_parse(data), "s") == "账号无法登录"


def test_gbk_is_read_as_its_gb18030_superset() -> None:
    # U+20000 exists only in GB18030 (four bytes); a strict GBK decoder would fail here.
    data = '<?xml version="1.0" encoding="GBK"?><t>\U00020000字</t>'.encode("gb18030")
    assert xml.findtext(_parse(data), ".") == "\U00020000字"


def test_bytes_that_contradict_the_declared_charset_fail_with_the_offset() -> None:
    data = '<?xml version="1.0" encoding="UTF-8"?><t>中文</t>'.encode("gbk")
    with pytest.raises(DecodeError) as caught:
        _parse(data)
    assert "declared encoding utf-8" in caught.value.message
    assert caught.value.context.offset == data.index("中文".encode("gbk"))


def test_a_wrong_http_charset_without_declaration_is_an_error_not_a_guess() -> None:
    with pytest.raises(DecodeError, match="declared encoding utf-8"):
        _parse("<t>中文</t>".encode("gbk"), "utf-8")


def test_an_unknown_declared_encoding_is_named() -> None:
    with pytest.raises(DecodeError, match="unknown encoding 'x-klingon'"):
        _parse(b'<?xml version="1.0" encoding="x-klingon"?><t/>')


def test_a_byte_order_mark_decides_the_encoding() -> None:
    data = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="UTF-16"?><t>退款</t>'.encode(
        "utf-16-le"
    )
    assert xml.findtext(_parse(data), ".") == "退款"


# --- malformed input ----------------------------------------------------------------------


def test_truncated_xml_reports_line_and_column() -> None:
    data = '<?xml version="1.0" encoding="GBK"?>\n<tickets>\n<ticket id="1"><subject>订单'.encode(
        "gbk"
    )
    with pytest.raises(DecodeError) as caught:
        _parse(data)
    assert caught.value.message.startswith("malformed XML at line 3, column ")
    assert caught.value.details["line"] == 3
    assert caught.value.details["column"] > 0
    assert caught.value.context.stream == "tickets"


def test_empty_payload_is_malformed() -> None:
    with pytest.raises(DecodeError, match="Document is empty"):
        _parse(b"")


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(DecodeError, match="over the limit of 64 bytes"):
        _parse(b"<t>" + b"x" * 100 + b"</t>", max_bytes=64)


# --- reading helpers ----------------------------------------------------------------------


def test_reading_helpers() -> None:
    root = _parse(
        b'<t n="7" bad="x"><a> padded </a><a>second</a><empty/><b><![CDATA[ raw ]]></b></t>'
    )
    assert xml.findtext(root, "a") == "padded"
    assert xml.findtext(root, "b", strip=False) == " raw "
    assert xml.findtext(root, "empty", "-") == "-"
    assert xml.findtext(root, "missing", "-") == "-"
    assert xml.attr(root, "n") == "7"
    assert xml.attr(root, "missing", "?") == "?"
    assert xml.int_attr(root, "n", 0, context=CTX) == 7
    assert xml.int_attr(root, "missing", 3, context=CTX) == 3
    with pytest.raises(DecodeError) as caught:
        xml.int_attr(root, "bad", 0, context=CTX)
    assert caught.value.context.field == "bad"
    assert [xml.findtext(a, ".") for a in xml.children(root, "a")] == ["padded", "second"]


def test_fingerprint_is_stable_and_sees_every_change() -> None:
    first = _parse(b"<t id='1'><s>a</s></t>")
    assert xml.fingerprint(first) == xml.fingerprint(_parse(b'<t id="1"><s>a</s></t>'))
    assert xml.fingerprint(first) != xml.fingerprint(_parse(b'<t id="1"><s>b</s></t>'))


# --- writing ------------------------------------------------------------------------------


def test_serialized_user_text_round_trips_in_gbk() -> None:
    text = "您好：\n已退款 😀 <b>&amp; ]]> done"
    root = xml.element("reply", kind="客服")
    xml.subelement(root, "message", text)
    data = xml.serialize(root, encoding="GBK")
    assert data.startswith(b'<?xml version="1.0" encoding="GBK"?>')
    assert "已退款".encode("gbk") in data  # really GBK, not UTF-8
    parsed = _parse(data)
    assert xml.findtext(parsed, "message", strip=False) == text
    assert xml.attr(parsed, "kind") == "客服"


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    root = xml.element("note", "bell\x07 and vertical\x0btab")
    assert xml.findtext(_parse(xml.serialize(root)), ".") == "bell\ufffd and vertical\ufffdtab"


def test_ids_are_collected_for_xpath_id_unless_an_adapter_needs_none() -> None:
    data = b'<r><t xml:id="t1">one</t><t xml:id="t2">two</t></r>'
    with_ids = xml.parse_xml(data, declared_charset=None, context=ErrorContext())
    without = xml.parse_xml(data, declared_charset=None, context=ErrorContext(), ids=False)
    assert [t.text for t in with_ids.xpath("id('t2')")] == ["two"]  # mapping files may use it
    assert without.xpath("id('t2')") == []
    assert xml.serialize(without) == xml.serialize(with_ids)
