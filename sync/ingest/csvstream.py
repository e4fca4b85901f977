"""Streaming CSV reading with bounded memory, byte caps and per-row error reports.

Both ingest paths read files that come from outside (a ZIP from the KBO site, a member
export typed in a spreadsheet): a broken line must cost one reported row, not the run, and
a hostile file must not fill memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO, NamedTuple

from sync.ingest.common import IngestError

__all__ = ["MAX_LINE_BYTES", "CsvRow", "LineSource", "csv_rows"]

#: No real KBO or member row comes near this; a longer line means a broken or hostile file.
MAX_LINE_BYTES = 1 << 20


class LineSource:
    """Text lines of a binary stream, decoded as UTF-8 one physical line at a time.

    A line that is not valid UTF-8 is still yielded (with replacement characters) and its
    number is kept in ``bad_lines``, so that the row holding it can be reported and skipped.
    A leading byte-order mark is dropped. Reading more than ``max_bytes`` raises
    :class:`IngestError`: that is the cap against decompression bombs.
    """

    def __init__(self, stream: IO[bytes], name: str, max_bytes: int) -> None:
        self.name = name
        self.bad_lines: set[int] = set()
        self.bytes_read = 0
        self._stream = stream
        self._max_bytes = max_bytes

    def __iter__(self) -> Iterator[str]:
        number = 0
        while line := self._stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            self.bytes_read += len(line)
            if self.bytes_read > self._max_bytes:
                raise IngestError(f"{self.name}: more than {self._max_bytes} bytes, refused")
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise IngestError(f"{self.name}: line {number} is longer than {MAX_LINE_BYTES}")
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            yield self._decode(line, number)

    def _decode(self, line: bytes, number: int) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_lines.add(number)
            return line.decode("utf-8", errors="replace")


class CsvRow(NamedTuple):
    """A CSV record: the line it starts on, its fields, or why it could not be read."""

    line: int
    fields: list[str]
    error: str | None


def csv_rows(lines: Iterable[str], delimiter: str, bad_lines: set[int]) -> Iterator[CsvRow]:
    """Every record of ``lines``, the header included, with the line number it starts on.

    A record the csv module rejects (bad quoting, NUL byte, a field over the size limit), or
    that holds one of the ``bad_lines`` (see :class:`LineSource`), comes out with ``error``
    set, and reading goes on with the next line.
    """
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as problem:
            fields, error = [], f"broken CSV record: {problem}"
        end = reader.line_num
        if error is None and bad_lines.intersection(range(start, end + 1)):
            error = "not valid UTF-8"
        if fields or error:  # blank lines are no records
            yield CsvRow(start, fields, error)
        if end < start:  # nothing consumed: stop rather than loop for ever
            return
        start = end + 1
