"""adapters._formats.tabular: hardened CSV decoding on real export bytes."""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from adapters._formats.tabular import PIECE_CHARS, read_rows, sniff_delimiter, universal_lines
from app.domain import DecodeError, ErrorContext, RecordError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
CTX = ErrorContext(system="csv-test", stream="tickets-2026-11-30.csv")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_bom_is_stripped_and_headers_are_looked_up_ignoring_case_and_spacing() -> None:
    data = fixture("freshdesk-v1-utf8-bom-crlf.csv")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data

    rows = read_rows(data, context=CTX)
    assert rows.header.names[0] == "Ticket ID"  # no "\ufeff" glued to the first column
    first = next(rows)
    assert first["Ticket ID"] == "101"
    assert first["ticket id"] == first["  TICKET   ID "] == "101"
    assert first.get("Last update time") == "2026-11-28 11:02:41"
    assert first.first("Last updated time", "Last update time") == "2026-11-28 11:02:41"
    assert first.first("No such column") is None
    assert "subject" in first and "no such column" not in first
    assert list(first)[:3] == ["Ticket ID", "Subject", "Description"]


def test_multi_line_quoted_cells_keep_their_text_and_line_numbers_stay_right() -> None:
    rows = list(read_rows(fixture("freshdesk-v1-utf8-bom-crlf.csv"), context=CTX))

    assert [row["Ticket ID"] for row in rows] == ["101", "102", "103"]
    assert rows[0]["Description"] == (
        "你好，我的订单 482913 收到的商品有破损，想申请退款。\n\n谢谢！\n— 王芳"
    )
    assert rows[1]["Subject"] == "Invoice shows the wrong VAT number, again"
    assert rows[1]["Description"] == (
        "Our invoice for November lists an old VAT number.\nCould you reissue it?"
    )
    # Row 101 spans lines 2-5, row 102 lines 6-7, row 103 is line 8.
    assert [row.line for row in rows] == [2, 6, 8]


def test_bare_cr_and_lf_inside_cells_become_lf() -> None:
    data = b'id,body\r\n1,"a\rb"\r\n2,"c\r\nd\ne"\r\n'
    rows = list(read_rows(data, context=CTX))
    assert [row["body"] for row in rows] == ["a\nb", "c\nd\ne"]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiter_is_sniffed_among_comma_tab_semicolon(delimiter: str) -> None:
    lines = [["Ticket ID", "Subject", "Status"], ["7", "退款, 尽快; 谢谢", "Open"]]
    text = "\r\n".join(
        delimiter.join(f'"{cell}"' if "," in cell or ";" in cell else cell for cell in line)
        for line in lines
    )
    rows = read_rows(text.encode(), context=CTX)
    assert rows.delimiter == delimiter
    assert [dict(row) for row in rows] == [
        {"Ticket ID": "7", "Subject": "退款, 尽快; 谢谢", "Status": "Open"}
    ]


def test_sniffing_ignores_delimiters_inside_quoted_header_cells() -> None:
    assert sniff_delimiter('"a;b;c";"d,e";f\r\n1;2;3') == ";"
    assert sniff_delimiter('"x;y;z",b,c\n') == ","
    assert sniff_delimiter("single\n1\n") == ","  # nothing to go by: comma


def test_explicit_delimiter_overrides_sniffing() -> None:
    data = b"a;b;c,d\n1;2;3,4\n"
    assert dict(next(read_rows(data, context=CTX))) == {"a": "1", "b": "2", "c,d": "3,4"}
    assert dict(next(read_rows(data, context=CTX, delimiter=","))) == {"a;b;c": "1;2;3", "d": "4"}


def test_semicolon_v2_layout_with_lf_and_unquoted_cells() -> None:
    rows = list(read_rows(fixture("freshdesk-v2-semicolon.csv"), context=CTX))
    assert rows[0]["Subject"] == "Semicolons; inside quotes"
    assert rows[0]["Description"] == "Line one\nLine two"
    assert rows[0].first("Last update time", "Last updated time") == "2026-12-01 07:45:00"
    assert rows[1]["priority"] == ""
    assert [row.line for row in rows] == [2, 4]


def test_ragged_row_is_a_record_error_naming_file_line_and_column() -> None:
    data = b"Ticket ID,Subject,Status\r\n1,ok,Open\r\n2,short\r\n"
    rows = read_rows(data, context=CTX)
    assert next(rows)["Ticket ID"] == "1"
    with pytest.raises(RecordError) as caught:
        next(rows)
    error = caught.value
    assert "tickets-2026-11-30.csv line 3" in str(error)
    assert "'Status'" in error.message
    assert error.context.stream == "tickets-2026-11-30.csv"
    assert error.context.system == "csv-test"
    assert error.context.record_id == "2"
    assert error.context.field == "Status"
    assert error.details["line"] == 3


def test_ragged_rows_go_to_the_handler_and_reading_goes_on() -> None:
    data = (
        b'Ticket ID,Subject,Status\r\n1,ok,Open\r\n2,too,many,cells\r\n3,"multi\r\nline",Open\r\n'
        b"4\r\n5,last,Closed\r\n"
    )
    bad: list[RecordError] = []
    rows = list(read_rows(data, context=CTX, on_bad_row=bad.append))

    assert [row["Ticket ID"] for row in rows] == ["1", "3", "5"]
    assert [row.line for row in rows] == [2, 4, 7]
    assert [(e.context.record_id, e.details["line"], e.context.field) for e in bad] == [
        ("2", 3, "#4"),
        ("4", 6, "Subject"),
    ]
    assert "extra cell" in bad[0].message and "missing cell" in bad[1].message


def test_gbk_without_bom_decodes_through_gb18030() -> None:
    data = fixture("freshdesk-gbk-no-bom.csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    rows = list(read_rows(data, context=CTX))
    assert [row["Subject"] for row in rows] == ["发票抬头填写错误", "账号无法登录"]
    assert rows[0]["Description"] == (
        "我上周开的发票抬头写错了，\n公司名称应该是“上海星辰科技有限公司”。"
    )
    assert rows[1]["Full name"] == "张伟"


def test_declared_charset_is_used_and_a_mismatch_names_the_line() -> None:
    data = fixture("freshdesk-gbk-no-bom.csv")
    assert next(read_rows(data, context=CTX, declared_charset="GBK"))["Full name"] == "李娜"

    with pytest.raises(DecodeError) as caught:
        read_rows(data, context=CTX, declared_charset="utf-8")
    # The header is ASCII; the first Chinese byte is on line 2.
    assert caught.value.details["line"] == 2
    assert "tickets-2026-11-30.csv line 2" in caught.value.message
    assert caught.value.context.offset is not None


def test_bytes_that_are_neither_utf8_nor_gb18030_are_reported_with_their_line() -> None:
    data = b"id,name\r\n1,ok\r\n2,ok\r\n3,\xff\xfe broken\r\n"
    with pytest.raises(DecodeError) as caught:
        read_rows(data, context=CTX)
    assert caught.value.details["line"] == 4
    assert "neither UTF-8 nor GB18030" in caught.value.message
    assert caught.value.context.stream == "tickets-2026-11-30.csv"


def test_files_over_the_size_limit_are_refused_before_decoding() -> None:
    data = b"id,name\r\n" + b"1,abc\r\n" * 100
    with pytest.raises(DecodeError) as caught:
        read_rows(data, context=CTX, max_bytes=500)
    assert "over the limit of 500 bytes" in caught.value.message
    assert caught.value.details == {"size": len(data), "limit": 500}
    assert len(list(read_rows(data, context=CTX, max_bytes=len(data)))) == 100


def test_duplicate_header_column_is_refused() -> None:
    with pytest.raises(DecodeError) as caught:
        read_rows(b"Ticket ID,Subject, ticket id \r\n1,a,1\r\n", context=CTX)
    assert "appears twice" in caught.value.message
    assert caught.value.context.field == "ticket id"


@pytest.mark.parametrize(
    ("data", "line", "kept"),
    [
        (b'id,name\r\n1,ok\r\n2,"never closed\r\nmore text\r\n', 3, ["1"]),  # open quote
        (b'id,name\r\n1,"quoted"trailing\r\n', 2, []),  # text after a closing quote
    ],
)
def test_malformed_csv_is_a_decode_error_with_the_line(
    data: bytes, line: int, kept: list[str]
) -> None:
    seen: list[str] = []
    with pytest.raises(DecodeError) as caught:
        for row in read_rows(data, context=CTX):
            seen.append(row["id"])
    assert seen == kept  # rows before the break were delivered
    assert caught.value.details["line"] == line
    assert f"tickets-2026-11-30.csv line {line}: malformed CSV" in caught.value.message


def test_nul_characters_are_refused_with_their_line() -> None:
    with pytest.raises(DecodeError) as caught:
        read_rows(b"id,name\r\n1,ok\r\n2,nul\x00here\r\n", context=CTX)
    assert caught.value.details["line"] == 3
    assert "NUL" in caught.value.message


def test_empty_files_and_blank_lines() -> None:
    assert list(read_rows(b"", context=CTX)) == []
    assert list(read_rows(b"\xef\xbb\xbf", context=CTX)) == []
    rows = list(read_rows(b"id,name\r\n\r\n1,a\r\n\r\n\r\n2,b\r\n", context=CTX))
    assert [(row["id"], row.line) for row in rows] == [("1", 3), ("2", 6)]


def test_a_delimiter_must_be_one_character() -> None:
    with pytest.raises(DecodeError, match="one character"):
        read_rows(b"a,b\n", context=CTX, delimiter=",;")


def test_mixed_line_ends_keep_cells_and_line_numbers() -> None:
    # Lone CR, LF and CR LF as record ends and inside quoted cells, and a blank line: line ends
    # are normalised once for the whole text, which must not move a record or change a cell.
    data = b'id,body\r1,"a\rb"\n\r\n2,x\r3,"c\r\nd"\n4,y\n'
    rows = list(read_rows(data, context=CTX))
    assert [(row.line, row["id"], row["body"]) for row in rows] == [
        (2, "1", "a\nb"),
        (5, "2", "x"),
        (6, "3", "c\nd"),
        (8, "4", "y"),
    ]


def test_records_are_the_rows_without_row_objects() -> None:
    data = b"Ticket ID,Subject\r\n1,a\r\n2\r\n\r\n3,c\r\n4,d\r\n"
    bad: list[RecordError] = []
    reader = read_rows(data, context=CTX, on_bad_row=bad.append)
    first = next(reader)
    assert (first.line, first.cells) == (2, ("1", "a"))
    assert list(reader.records()) == [(5, ["3", "c"]), (6, ["4", "d"])]  # the same stream
    assert [(e.details["line"], e.context.field) for e in bad] == [(3, "Subject")]
    assert list(reader) == []


def test_blocks_give_the_rows_and_lines_of_records() -> None:
    # Multi-line cells (LF, CR, CR LF), blank lines and a ragged row, in blocks smaller than
    # the file: the lines worked out from the cells are the reader's own.
    data = b'id,body\r\n1,"a\r\nb"\r\n\r\n2,x\r3,"c\rd\ne"\n4\n5,y\r\n\r\n6,"f\r\n\r\ng"\r\n7,z'
    expected_bad: list[RecordError] = []
    expected = list(read_rows(data, context=CTX, on_bad_row=expected_bad.append).records())
    for size in (1, 2, 3, 100):
        bad: list[RecordError] = []
        blocks = list(read_rows(data, context=CTX, on_bad_row=bad.append).blocks(size))
        assert [record for block in blocks for record in block.records()] == expected
        assert [b.details["line"] for b in bad] == [b.details["line"] for b in expected_bad]
    assert [line for line, _cells in expected] == [2, 5, 6, 10, 12, 15]
    assert [b.details["line"] for b in expected_bad] == [9]


def test_blocks_keep_the_rows_before_a_malformed_record() -> None:
    data = b'id,body\r\n1,"a\r\nb"\r\n2,x\r\n3,"bad"quote\r\n4,y\r\n'
    kept: list[tuple[int, list[str]]] = []
    with pytest.raises(DecodeError) as caught:
        for block in read_rows(data, context=CTX).blocks(10):
            kept.extend(block.records())
    assert kept == [(2, ["1", "a\nb"]), (4, ["2", "x"])]
    assert caught.value.details["line"] == 5


def test_blocks_raise_a_ragged_row_after_the_rows_before_it_without_a_handler() -> None:
    data = b"id,body\r\n1,a\r\n2\r\n3,c\r\n"
    kept: list[tuple[int, list[str]]] = []
    with pytest.raises(RecordError) as caught:
        for block in read_rows(data, context=CTX).blocks(10):
            kept.extend(block.records())
    assert kept == [(2, ["1", "a"])]
    assert caught.value.details["line"] == 3


def _read_all(lines: Iterable[str]) -> tuple[list[list[str]], int] | str:
    """Rows and line count csv reads from ``lines``, or the error and where it stopped."""
    reader = csv.reader(lines, strict=True)
    try:
        return list(reader), reader.line_num
    except csv.Error as exc:
        return f"{exc} after line {reader.line_num}"


@pytest.mark.parametrize("piece_chars", [1, 2, 3, 7, PIECE_CHARS])
def test_lines_read_piece_by_piece_are_those_of_one_stringio(piece_chars: int) -> None:
    # Every text of up to 5 of these parts, then longer random ones: quoted cells with every
    # kind of line end inside, CR LF pairs at piece edges, lone CRs, no final line end.
    parts = ["a", ",", '"', "\r", "\n", "\r\n", " ", "中"]
    texts = ["".join(t) for size in range(6) for t in itertools.product(parts, repeat=size)]
    rng = random.Random(piece_chars)
    texts += ["".join(rng.choices([*parts, "\u2028", "\x0c"], k=60)) for _ in range(2000)]
    for text in texts:
        expected = _read_all(io.StringIO(text, newline=None))
        assert _read_all(universal_lines(text, piece_chars)) == expected, repr(text)
