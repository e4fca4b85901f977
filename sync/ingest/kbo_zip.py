"""Reading a KBO Open Data ZIP (Full or Update) as a stream of validated rows.

Nothing here touches the database. Guards: the ZIP's declared sizes and compression ratios
are checked before anything is read, and every member is read through a byte cap, so a
ZIP bomb is refused rather than decompressed.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Literal

from sync.ingest.common import IngestError, InvalidRows
from sync.ingest.csvstream import CsvRow, LineSource, csv_rows
from sync.ingest.kbo_rows import DELETE_KEY, TABLES, RowError, Table, Value, parse_date

__all__ = ["KboMeta", "KboZip", "KboZipError", "ZipLimits"]


class KboZipError(IngestError):
    """The ZIP cannot be ingested: not a ZIP, a required file missing, too big, bad meta."""


@dataclass(frozen=True)
class ZipLimits:
    """Size guards. A real Full extract is about 0.3 GB zipped and 2.5 GB unzipped, and CSV
    compresses about 10:1; DEFLATE can reach 1000:1, which only a crafted file does."""

    max_member_bytes: int = 8 << 30
    max_total_bytes: int = 32 << 30
    max_ratio: int = 100


@dataclass(frozen=True)
class KboMeta:
    """meta.csv: which extract this is."""

    extract_number: int
    extract_type: Literal["Full", "Update"]
    snapshot_date: date

    @property
    def is_full(self) -> bool:
        return self.extract_type == "Full"


class KboZip:
    """An opened KBO ZIP. Use as a context manager; :attr:`meta` is read on opening."""

    def __init__(self, path: Path, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise KboZipError(f"{path.name}: not a readable ZIP file ({error})") from None
        try:
            self._members = {
                PurePosixPath(info.filename).name.lower(): info for info in self._zip.infolist()
            }
            self._check_sizes()
            self.meta = self._read_meta()
            self._check_required()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> KboZip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._zip.close()

    def rows(self, name: str, table: Table, invalid: InvalidRows) -> Iterator[tuple[Value, ...]]:
        """The valid rows of member ``name`` read as ``table``; the others go to ``invalid``."""
        records = self._records(name)
        header = next(records, None)
        if header is None or header.error is not None:
            raise KboZipError(f"{name}: no header row")
        _check_header(name, table, header.fields)
        for record in records:
            try:
                if record.error is not None:
                    raise RowError(record.error)
                yield table.parse(record.fields)
            except RowError as error:
                invalid.add(name, record.line, str(error))

    def deleted(self, name: str, invalid: InvalidRows) -> Iterator[str]:
        """The entity numbers of a ``X_delete.csv`` (its first column, whatever its header)."""
        records = self._records(name)
        next(records, None)  # the header: EntityNumber, EnterpriseNumber or EstablishmentNumber
        for record in records:
            try:
                if record.error is not None:
                    raise RowError(record.error)
                yield str(DELETE_KEY.parse(record.fields[:1])[0])
            except RowError as error:
                invalid.add(name, record.line, str(error))

    def _records(self, name: str) -> Iterator[CsvRow]:
        info = self._members.get(name.lower())
        if info is None:
            raise KboZipError(f"required file {name} is missing from the ZIP")
        # ZipExtFile stops at the declared size; the cap is a second, independent guard.
        cap = min(info.file_size, self.limits.max_member_bytes)
        try:
            with self._zip.open(info) as stream:
                lines = LineSource(stream, name, cap)
                yield from csv_rows(lines, ",", lines.bad_lines)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise KboZipError(f"{name}: damaged ZIP data ({error})") from None

    def _check_sizes(self) -> None:
        total = 0
        for info in self._zip.infolist():
            total += info.file_size
            if info.file_size > self.limits.max_member_bytes:
                raise KboZipError(f"{info.filename}: {info.file_size} bytes unzipped, refused")
            if info.file_size > self.limits.max_ratio * max(info.compress_size, 1024):
                raise KboZipError(f"{info.filename}: compression ratio too high (ZIP bomb?)")
        if total > self.limits.max_total_bytes:
            raise KboZipError(f"the ZIP would unpack to {total} bytes, refused")

    def _read_meta(self) -> KboMeta:
        values: dict[str, str] = {}
        for record in self._records("meta.csv"):
            if len(record.fields) >= 2:
                values[record.fields[0].strip()] = record.fields[1].strip()
        return _meta(values)

    def _check_required(self) -> None:
        if self.meta.is_full:
            names = [f"{table.name}.csv" for table in TABLES]
        else:
            names = [f"{t.name}_{part}.csv" for t in TABLES for part in ("delete", "insert")]
        missing = [name for name in names if name not in self._members]
        if missing:
            kind = self.meta.extract_type
            raise KboZipError(f"required file {missing[0]} is missing from the {kind} ZIP")


def _meta(values: dict[str, str]) -> KboMeta:
    """meta.csv's Variable/Value pairs; the three we need must be there and well formed."""
    try:
        number = int(values["ExtractNumber"])
        kind = values["ExtractType"].strip().capitalize()
        snapshot = parse_date(values["SnapshotDate"])
    except KeyError as missing:
        raise KboZipError(f"meta.csv: no {missing.args[0]}") from None
    except (ValueError, RowError) as error:
        raise KboZipError(f"meta.csv: {error}") from None
    if kind not in ("Full", "Update") or snapshot is None:
        raise KboZipError(f"meta.csv: ExtractType {kind!r} / SnapshotDate unusable")
    return KboMeta(number, "Full" if kind == "Full" else "Update", snapshot)


def _check_header(name: str, table: Table, header: list[str]) -> None:
    found = tuple(column.strip() for column in header)
    if found != table.header:
        raise KboZipError(f"{name}: header {list(found)} is not {list(table.header)}")
