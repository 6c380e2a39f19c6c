"""Bytes in, CSV records out, with the byte offset after every record.

An import that outlives one Lambda run resumes from a byte offset (an S3 ranged
GET), so the reader must know exactly where each record ends in the *file's*
bytes.  For ASCII-compatible encodings (UTF-8, CP932) line terminators are
found in the raw bytes -- CP932 trail bytes never take the values of CR or LF
-- and each line is decoded alone, so a bad byte spoils one row, not the file.
UTF-16 is decoded as a stream and each line's size is counted back in bytes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, chain

from .limits import HEADER_CELL_CHARS

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)
_NEWLINE_TEXT = re.compile(r"\r\n|\r|\n")
_DELIMITERS = (",", "\t", ";")


class UnreadableFileError(ValueError):
    """The file cannot be read as a table; `reason` is a code, str() says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Encoding:
    """`label` is what the report shows; `codec` decodes the bytes after the BOM."""

    label: str
    codec: str
    bom_length: int

    @property
    def wide(self) -> bool:
        return self.codec.startswith("utf-16")


def detect_encoding(sample: bytes) -> Encoding:
    """Decide from the first bytes of the file; never guess silently."""
    if not sample.strip(b" \t\r\n"):
        raise UnreadableFileError("empty_file", "The file is empty.")
    if not sample.strip(b" \t\r\n\x00"):
        raise UnreadableFileError(
            "binary_file",
            "The file holds nothing but NUL bytes (zeros): it is not text. Export the sheet as CSV "
            "and upload that file.",
        )
    for bom, label, codec in _BOMS:
        if sample.startswith(bom):
            return Encoding(label, codec, len(bom))
    if b"\x00" in sample:
        raise UnreadableFileError(
            "binary_file",
            "The file holds binary data (NUL bytes), not text. Save it as CSV "
            "(UTF-8, or CSV from Excel) and upload it again.",
        )
    if _decodes(sample, "utf-8"):
        return Encoding("utf-8", "utf-8", 0)
    # A stray bad byte must not sink the file (that row alone is rejected),
    # so take the encoding that fits best, if it fits almost everywhere.
    best = min(("utf-8", "cp932"), key=lambda codec: _misfits(sample, codec))
    if _misfits(sample, best) * 200 <= len(sample):
        return Encoding(best, best, 0)
    raise UnreadableFileError(
        "unknown_encoding",
        "The text is neither UTF-8 nor Shift_JIS (CP932). Save it as UTF-8 CSV and upload it again.",
    )


def _decodes(sample: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return False
    return True


def _misfits(sample: bytes, codec: str) -> int:
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(sample, final=False)
    return text.count("\ufffd")


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of comma, tab and semicolon outside quotes (comma on a tie)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(slots=True)
class Line:
    text: str
    end: int  # byte offset in the file just after this line
    bad_bytes: bool = False


def iter_lines(chunks: Iterable[bytes], encoding: Encoding, start: int) -> Iterator[Line]:
    """Physical lines with their terminators; `start` is the file offset of chunks[0]."""
    if encoding.wide:
        yield from _wide_lines(chunks, encoding.codec, start)
    else:
        yield from _narrow_lines(chunks, encoding.codec, start)


def _narrow_lines(chunks: Iterable[bytes], codec: str, start: int) -> Iterator[Line]:
    if codec == "utf-8-sig":
        codec = "utf-8"
    pending = b""
    offset = start
    for chunk in chunks:
        lines = (pending + chunk).splitlines(keepends=True)  # bytes split on CR, LF, CRLF only
        # The last piece may be cut mid-line, or be the CR of a CRLF whose LF opens the next chunk.
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for raw in lines:
            offset += len(raw)
            yield _decoded(raw, codec, offset)
    if pending:
        yield _decoded(pending, codec, offset + len(pending))


def _decoded(raw: bytes, codec: str, end: int) -> Line:
    try:
        return Line(raw.decode(codec), end)
    except UnicodeDecodeError:
        return Line(raw.decode(codec, errors="replace"), end, bad_bytes=True)


def _wide_lines(chunks: Iterable[bytes], codec: str, start: int) -> Iterator[Line]:
    decoder = codecs.getincrementaldecoder(codec)(errors="surrogatepass")
    pending = ""
    offset = start
    for chunk in chunks:
        buffer = pending + decoder.decode(chunk)
        begin = 0
        for match in _NEWLINE_TEXT.finditer(buffer):
            stop = match.end()
            if stop == len(buffer) and buffer[-1] == "\r":
                break
            line = buffer[begin:stop]
            offset += len(line.encode(codec, errors="surrogatepass"))
            yield _whole(line, offset)
            begin = stop
        pending = buffer[begin:]
    cut = False
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # the file ends halfway through a character: that row is spoilt
        cut = True
    if pending or cut:
        end = offset + len(pending.encode(codec, errors="surrogatepass")) + (1 if cut else 0)
        last = _whole(pending + ("\ufffd" if cut else ""), end)
        last.bad_bytes |= cut
        yield last


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole(text: str, end: int) -> Line:
    """A line of a UTF-16 file; half a surrogate pair (bytes no text can hold) spoils the row."""
    if _LONE_SURROGATE.search(text):
        return Line(_LONE_SURROGATE.sub("\ufffd", text), end, bad_bytes=True)
    return Line(text, end)


@dataclass(slots=True)
class Record:
    values: list[str]
    line: int  # physical line number where the record starts (header is line 1)
    end: int  # byte offset just after the record
    next_line: int  # line number where the next record starts
    error: str | None = None  # "encoding" or "malformed_row"


class RecordReader:
    """csv.reader over tracked lines: each record knows its line and end offset.

    An unclosed quote would swallow the rest of the file into one cell; csv's
    field size limit (128 KiB) stops it, and that record alone is rejected."""

    def __init__(self, lines: Iterator[Line], delimiter: str, first_line: int) -> None:
        self._lines = lines
        self._next_line = first_line
        self._lines_used = 0
        self._end = 0
        self._bad = False
        self._reader = csv.reader(self._feed(), delimiter=delimiter, strict=False)

    def _feed(self) -> Iterator[str]:
        for line in self._lines:
            self._lines_used += 1
            self._end = line.end
            self._bad = self._bad or line.bad_bytes
            yield line.text

    def __iter__(self) -> Iterator[Record]:
        while True:
            line_number = self._next_line
            try:
                values = next(self._reader)
                error = "encoding" if self._bad else None
            except StopIteration:
                return
            except csv.Error:
                values, error = [], "malformed_row"
            self._next_line += self._lines_used
            self._lines_used = 0
            self._bad = False
            if not any(values) and error is None:
                continue  # blank line
            yield Record(values, line_number, self._end, self._next_line, error)


def read_records(
    chunks: Iterable[bytes], encoding: Encoding, start: int, delimiter: str, first_line: int
) -> Iterator[Record]:
    """The records of the file from byte offset `start` (where `first_line` begins): what
    RecordReader(iter_lines(...)) yields, faster for UTF-8 and CP932.  Those decode a
    chunk's whole lines at once and hand csv.reader the lines as they are, with no object
    per line; a chunk with a bad byte (or a character str.splitlines takes for a line end)
    is decoded line by line as iter_lines does."""
    if encoding.wide:
        return iter(RecordReader(iter_lines(chunks, encoding, start), delimiter, first_line))
    return _narrow_records(chunks, encoding.codec, start, delimiter, first_line)


class _Block:
    """The lines csv.reader is reading: where each ends in the file, which hold bad bytes."""

    __slots__ = ("bad", "ends", "first")

    def __init__(self) -> None:
        self.ends: list[int] = []  # file offset after each line of the current chunk
        self.first = 0  # csv.reader's line_num of the chunk's first line, less one
        self.bad: set[int] = set()  # line_nums of lines decoded with replacement characters


def _narrow_texts(chunks: Iterable[bytes], codec: str, start: int, block: _Block) -> Iterator[list[str]]:
    """Each chunk's whole lines as one list, `block` set for them just before csv.reader
    reads the first: chained, csv.reader takes the lines from the lists at C speed, and
    this generator only wakes once a chunk, not once a line."""
    if codec == "utf-8-sig":
        codec = "utf-8"
    pending = b""
    offset = start
    read = 0  # lines handed out so far
    for chunk in chunks:
        data = pending + chunk
        raws = data.splitlines(keepends=True)  # bytes split on CR, LF, CRLF only
        # The last piece may be cut mid-line, or be the CR of a CRLF whose LF opens the next chunk.
        pending = raws.pop() if raws and not raws[-1].endswith(b"\n") else b""
        if not raws:
            continue
        texts: list[str] = []
        with contextlib.suppress(UnicodeDecodeError):
            texts = data[: len(data) - len(pending)].decode(codec).splitlines(keepends=True)
        if len(texts) != len(raws):  # a bad byte, or a line end only str knows (\f, \x85, \u2028 ...)
            texts = []
            for number, raw in enumerate(raws, start=read + 1):
                line = _decoded(raw, codec, 0)
                if line.bad_bytes:
                    block.bad.add(number)
                texts.append(line.text)
        block.first = read
        block.ends = list(accumulate(map(len, raws), initial=offset))
        del block.ends[0]
        offset = block.ends[-1]
        read += len(raws)
        yield texts
    if pending:
        line = _decoded(pending, codec, 0)
        block.first = read
        block.ends = [offset + len(pending)]
        if line.bad_bytes:
            block.bad.add(read + 1)
        yield [line.text]


def _narrow_records(
    chunks: Iterable[bytes], codec: str, start: int, delimiter: str, first_line: int
) -> Iterator[Record]:
    block = _Block()
    lines = chain.from_iterable(_narrow_texts(chunks, codec, start, block))
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    done = 0  # lines read by the records so far
    bad = block.bad
    while True:
        try:
            for values in reader:
                read = reader.line_num
                error = None
                if bad:
                    if any(n in bad for n in range(done + 1, read + 1)):
                        error = "encoding"
                    bad.difference_update(range(done + 1, read + 1))
                if error is None and not any(values):
                    done = read
                    continue  # blank line
                yield Record(
                    values, first_line + done, block.ends[read - 1 - block.first], first_line + read, error
                )
                done = read
            return
        except csv.Error:
            read = reader.line_num
            bad.difference_update(range(done + 1, read + 1))
            yield Record(
                [], first_line + done, block.ends[read - 1 - block.first], first_line + read, "malformed_row"
            )
            done = read


MAX_HEADER_CELL = HEADER_CELL_CHARS


@dataclass(frozen=True)
class Header:
    cells: list[str]
    delimiter: str
    end: int  # byte offset after the header line
    line: int  # its physical line number


def read_header(lines: Iterator[Line]) -> Header:
    """The first non-blank line, split by the delimiter it uses most."""
    for number, line in enumerate(lines, start=1):
        if line.bad_bytes:
            raise UnreadableFileError("unknown_encoding", "The header line cannot be decoded.")
        if not line.text.strip():
            continue
        delimiter = sniff_delimiter(line.text)
        try:
            cells = next(csv.reader([line.text], delimiter=delimiter))
        except csv.Error:
            raise UnreadableFileError(
                "unreadable_header",
                f"The first line cannot be read as column names (a cell longer than {csv.field_size_limit()} "
                "characters, or an unclosed quote). Put the column names, such as email and name, on the first line.",
            ) from None
        if any(len(cell) > MAX_HEADER_CELL for cell in cells):
            raise UnreadableFileError(
                "unreadable_header",
                f"A column name is longer than {MAX_HEADER_CELL} characters: the first line must hold "
                "the column names, such as email and name.",
            )
        return Header([c.strip() for c in cells], delimiter, line.end, number)
    raise UnreadableFileError("empty_file", "The file is empty.")
