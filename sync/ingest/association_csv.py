"""Reading an association's member export (CSV) into member records, row by row.

Format (SOURCES.md §4): UTF-8 with or without BOM, a header row, ``;`` or ``,`` separated
(whichever the header line holds more of), ``"`` quoting. Columns are the JSON field names
in snake_case; the address is flattened into ``street``, ``house_number``, ``box``,
``zip_code`` and ``municipality`` (all empty: no address). Lists (``languages``,
``specialisations``, ``target_groups``, ``service_area``) are separated by ``|``.
``accepts_new_clients`` reads true/false, yes/no, ja/nee, oui/non, 1/0 (empty: unknown).
Only ``member_id`` is required in the header; ``postcode`` is read as ``zip_code``. A column
the format does not know is read past and reported (:class:`IgnoredColumns`), unless it looks
like a known column that is missing (a misspelt ``zipcode`` would silently drop every
postcode): then the file is refused, naming both (:mod:`sync.csvheader`). The whole format,
with an example: docs/csv-formats.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from sync.csvheader import HeaderError, read_header
from sync.ingest.common import IngestError
from sync.ingest.csvstream import CsvRow, LineSource, csv_rows
from sync.mapping.association import Member as MemberData

__all__ = ["COLUMNS", "OLD_NAMES", "BadMember", "IgnoredColumns", "Member", "read_members"]

COLUMNS = (
    "member_id", "nihii", "first_name", "last_name", "profession", "practice_name",
    "street", "house_number", "box", "zip_code", "municipality", "phone", "email", "website",
    "languages", "specialisations", "target_groups", "service_area", "accepts_new_clients",
    "status",
)
#: Names people use for a column of the format, read as the format's own.
OLD_NAMES = {"postcode": "zip_code"}
ADDRESS = ("street", "house_number", "box", "zip_code", "municipality")
LISTS = ("languages", "specialisations", "target_groups", "service_area")
BOOLEANS = {"true": True, "yes": True, "ja": True, "oui": True, "1": True, "y": True,
            "false": False, "no": False, "nee": False, "non": False, "0": False, "n": False}
#: A member list of 100,000 rows is a few tens of MB; anything far larger is not an export.
MAX_CSV_BYTES = 256 << 20
#: What the export's RIZIV column must hold once separators are dropped (the mapper then checks
#: the digits).
_NIHII = re.compile(r"[0-9]{11}")


class Member(NamedTuple):
    """A valid row: the line it starts on and the member it describes."""

    line: int
    data: MemberData


class BadMember(NamedTuple):
    """A skipped row, and its member id when it can be trusted (that member is kept)."""

    line: int
    reason: str
    member_id: str | None


class IgnoredColumns(NamedTuple):
    """Header columns the format does not know: read past; the run reports them."""

    columns: tuple[str, ...]


class _BadValue(ValueError):
    pass


def read_members(
    path: Path, association_id: str, source_version: int
) -> Iterator[Member | BadMember | IgnoredColumns]:
    """Stream the export's rows as :class:`Member` or :class:`BadMember`, in file order,
    after :class:`IgnoredColumns` when the header has columns the format does not know.

    Raises :class:`IngestError` when the file as a whole is unusable (no header, a column
    given twice or misspelt, too big).
    """
    with path.open("rb") as stream:
        source = LineSource(stream, path.name, MAX_CSV_BYTES)
        lines = iter(source)
        first = next(lines, None)
        if first is None:
            raise IngestError(f"{path.name}: empty file, no header row")
        delimiter = ";" if first.count(";") > first.count(",") else ","
        records = csv_rows(chain([first], lines), delimiter, source.bad_lines)
        columns, unknown = _columns(path.name, next(records))
        if unknown:
            yield IgnoredColumns(unknown)
        for record in records:
            if record.error is None and not any(field.strip() for field in record.fields):
                continue  # spreadsheets end exports with lines of bare separators
            yield _member(record, columns, association_id, source_version)


def _columns(name: str, header: CsvRow) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The header's columns (today's names) and those the format does not know."""
    if header.error:
        raise IngestError(f"{name}: header unusable ({header.error})")
    try:
        read = read_header(header.fields, COLUMNS, OLD_NAMES)
    except HeaderError as error:
        raise IngestError(f"{name}: {error}") from None
    if "member_id" not in read.columns:
        raise IngestError(f"{name}: no member_id column")
    return read.columns, read.unknown


def _member(
    record: CsvRow, columns: Sequence[str], association_id: str, version: int
) -> Member | BadMember:
    if record.error is not None or len(record.fields) != len(columns):
        reason = record.error or f"expected {len(columns)} columns, got {len(record.fields)}"
        return BadMember(record.line, reason, _trusted_id(record.fields, columns))
    values = {column: value.strip() for column, value in zip(columns, record.fields, strict=True)}
    member_id = values["member_id"] or None
    try:
        if member_id is None:
            raise _BadValue("member_id is empty")
        fields = _fields(values)
        data = MemberData(
            source_version=version, association_id=association_id, member_id=member_id, **fields
        )
    except _BadValue as error:
        return BadMember(record.line, str(error), member_id)
    except ValidationError as error:
        places = sorted({".".join(str(part) for part in e["loc"]) for e in error.errors()})
        return BadMember(record.line, "invalid " + ", ".join(places), member_id)
    return Member(record.line, data)


def _trusted_id(fields: Sequence[str], columns: Sequence[str]) -> str | None:
    """A broken row's member id, when no shifted column can have moved it: it must be in
    the first column (a stray separator shifts only the columns after it)."""
    if columns[0] != "member_id" or not fields:
        return None
    return fields[0].strip() or None


def _fields(values: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        column: values[column] or None
        for column in COLUMNS
        if column in values and column not in (*ADDRESS, *LISTS, "member_id")
    }
    for column in LISTS:
        fields[column] = tuple(p.strip() for p in values.get(column, "").split("|") if p.strip())
    address = {column: values.get(column) or None for column in ADDRESS}
    fields["address"] = address if any(address.values()) else None
    fields["accepts_new_clients"] = _boolean(values.get("accepts_new_clients", ""))
    if fields.get("nihii"):
        # RIZIV numbers are often written 1-87497-04-477 or with spaces: keep the digits.
        fields["nihii"] = "".join(c for c in fields["nihii"] if c not in " .-/")
        if not _NIHII.fullmatch(fields["nihii"]):
            raise _BadValue("invalid nihii")
    return fields


def _boolean(text: str) -> bool | None:
    if text == "":
        return None
    try:
        return BOOLEANS[text.lower()]
    except KeyError:
        raise _BadValue(f"accepts_new_clients {text[:20]!r} is not a yes/no value") from None
