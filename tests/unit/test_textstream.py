import codecs
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.textstream import (
    Encoding,
    RecordReader,
    UnreadableFileError,
    detect_encoding,
    iter_lines,
    read_header,
    read_records,
    sniff_delimiter,
)

JAPANESE = "髙橋 ①～ ㈱ 﨑"


def read_all(data: bytes, chunk: int = 7):
    encoding = detect_encoding(data[:4096])
    chunks = (data[i : i + chunk] for i in range(encoding.bom_length, len(data), chunk))
    lines = iter_lines(chunks, encoding, encoding.bom_length)
    header = read_header(lines)
    records = list(RecordReader(lines, header.delimiter, header.line + 1))
    return encoding, header, records


@pytest.mark.parametrize(
    ("codec", "label"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp932", "cp932"),
        ("utf-16", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
    ],
)
def test_encodings_are_detected_and_japanese_survives(codec, label):
    text = f"email,name\r\na@example.com,{JAPANESE}\r\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    encoding, header, records = read_all(data)
    assert encoding.label == label
    assert header.cells == ["email", "name"]
    assert records[0].values == ["a@example.com", JAPANESE]


def test_shift_jis_is_told_apart_from_utf8_by_its_bytes():
    data = "メールアドレス,氏名\na@example.com,山田\n".encode("cp932")
    assert detect_encoding(data).label == "cp932"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"\r\n \r\n", "empty_file"),
        (b"PK\x03\x04\x00\x00binary", "binary_file"),
        (b"\x00" * 4096, "binary_file"),
        (b"\x81\x20\x81\x7f\xe3\x81" * 20, "unknown_encoding"),
    ],
)
def test_unreadable_files_say_why(data, reason):
    with pytest.raises(UnreadableFileError) as error:
        detect_encoding(data)
    assert error.value.reason == reason and str(error.value)
    if data.strip(b"\x00") == b"" and data:
        assert "NUL bytes" in str(error.value) and "empty" not in str(error.value)


@pytest.mark.parametrize("cell", ["x" * 3 * 1024 * 1024, "x" * 201])
def test_a_header_that_is_not_column_names_says_what_the_first_line_must_hold(cell):
    text = f"email,{cell}\nhana@example.jp,Hana\n"
    lines = iter_lines(iter([text.encode()]), Encoding("utf-8", "utf-8", 0), 0)
    with pytest.raises(UnreadableFileError) as error:
        read_header(lines)
    assert error.value.reason == "unreadable_header"
    assert "first line" in str(error.value) and "column names" in str(error.value)


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ("email,name,age", ","),
        ("email\tname\tage", "\t"),
        ("email;name;age", ";"),
        ('"a,b";c;d', ";"),
        ("email", ","),
    ],
)
def test_delimiter_is_sniffed_outside_quotes(line, delimiter):
    assert sniff_delimiter(line) == delimiter


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings_and_quoted_newlines(newline):
    text = newline.join(["email,note", 'a@x.com,"one, two"', 'b@x.com,"line1\nline2"', "c@x.com,end", ""])
    _, _, records = read_all(text.encode())
    assert [r.values for r in records] == [
        ["a@x.com", "one, two"],
        ["b@x.com", "line1\nline2"],
        ["c@x.com", "end"],
    ]
    assert [r.line for r in records] == [2, 3, 5]


def test_a_bad_byte_spoils_one_row_not_the_file():
    good = "".join(f"{i}@x.com,山田 {i}\n" for i in range(40))
    data = f"email,name\n{good}".encode("cp932") + b"b@x.com,\x81\x20\n" + "c@x.com,髙\n".encode("cp932")
    encoding, _, records = read_all(data)
    assert encoding.label == "cp932"
    assert [r.error for r in records[-2:]] == ["encoding", None]
    assert records[-1].values == ["c@x.com", "髙"]


cells = st.text(alphabet=st.sampled_from([*list('ab ,;"\n\r\t髙①～'), "x"]), max_size=8)
tables = st.lists(st.lists(cells, min_size=2, max_size=2), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    rows=tables,
    codec=st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
    chunk=st.integers(min_value=1, max_value=64),
    lineterminator=st.sampled_from(["\r\n", "\n"]),
)
def test_any_table_written_by_csv_reads_back(rows, codec, chunk, lineterminator):
    """Whatever the csv module writes, the streaming reader reads back, at any chunk size."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(["email", "name"])
    writer.writerows(rows)
    _, _, records = read_all(out.getvalue().encode(codec), chunk)
    assert [r.values for r in records] == rows


@settings(max_examples=100, deadline=None)
@given(rows=tables, codec=st.sampled_from(["utf-8-sig", "cp932", "utf-16"]), data=st.data())
def test_resuming_at_any_record_end_reads_the_rest(rows, codec, data):
    """The checkpoint contract: a ranged read from a record's end offset yields exactly the rest."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows([["email", "name"], *rows])
    raw = out.getvalue().encode(codec)
    encoding, header, records = read_all(raw)
    if not records:
        return
    cut = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
    start = records[cut].end
    lines = iter_lines(iter([raw[start:]]), encoding, start)
    rest = list(RecordReader(lines, header.delimiter, records[cut].next_line))
    assert [(r.values, r.line, r.end) for r in rest] == [
        (r.values, r.line, r.end) for r in records[cut + 1 :]
    ]


# What a marketer's file may hold: quotes, commas and line ends inside cells, ragged rows,
# Japanese text, characters str.splitlines takes for line ends (form feed, NEL, U+2028),
# and bytes that are no text at all.
_PIECES = [
    "a",
    "x" * 40,
    "髙橋",
    "あ",
    ",",
    ";",
    '"',
    '""',
    "\r\n",
    "\n",
    "\r",
    " ",
    "\x0c",
    "\x85",
    "\u2028",
]
_BAD_BYTES = [b"\xff", b"\x81", b"\xe3\x81", b"\x00", b"\xed\xa0\x80"]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
    bad=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(_BAD_BYTES)), max_size=2),
    chunk=st.sampled_from([1, 2, 5, 64, 1 << 20]),
)
def test_the_fast_record_path_reads_exactly_what_the_line_by_line_path_reads(pieces, codec, bad, chunk):
    """read_records (whole chunks decoded at once) against RecordReader over iter_lines:
    the same cells, line numbers, end offsets and errors, on any input."""
    text = "email,name,note\r\n" + "".join(pieces)
    data = text.encode(codec, errors="replace")
    if codec != "utf-16":
        for position, junk in bad:
            at = position % (len(data) + 1)
            data = data[:at] + junk + data[at:]
    try:
        encoding, header, slow = read_all(data, chunk)
    except UnreadableFileError:
        return
    rest = data[header.end :]
    chunks = (rest[i : i + chunk] for i in range(0, len(rest), chunk))
    fast = list(read_records(chunks, encoding, header.end, header.delimiter, header.line + 1))
    assert [(r.values, r.line, r.end, r.next_line, r.error) for r in fast] == [
        (r.values, r.line, r.end, r.next_line, r.error) for r in slow
    ]


def test_a_bad_byte_inside_a_quoted_newline_spoils_that_record_and_no_other():
    data = 'email,note\r\na@x.com,"one\r\ntw\xffo"\r\nb@x.com,fine\r\n'.encode("latin-1")
    encoding = Encoding("utf-8", "utf-8", 0)
    header = read_header(iter_lines(iter([data]), encoding, 0))
    records = list(read_records(iter([data[header.end :]]), encoding, header.end, ",", header.line + 1))
    assert [(r.line, r.error) for r in records] == [(2, "encoding"), (4, None)]
    assert records[-1].end == len(data)
