"""The directory's export of today's fiches (CSV, docs/matching.md) as hand-made fiches. Pure.

Each row becomes the ``be.socialekaart.fiche.created`` event the directory's application would
have sent for it, so a loaded fiche is in every respect a fiche made by hand: the manual mapper
reads it, its values rank last, it carries no identifier. The practice's KBO number is not a
fiche field and not an identifier (the fiches of one organisation's services share it): it is
returned apart, for matching only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from sync import identifiers
from sync.csvheader import HeaderError, read_header
from sync.events import derived_id
from sync.mapping.common import address
from sync.professions import profession_of_label

__all__ = ["COLUMNS", "EXPORT_SOURCE", "OLD_NAMES", "ExportError", "ExportRow", "UnknownColumns",
           "fiche_id_of", "read_export"]

COLUMNS = ("id", "kind", "first_name", "last_name", "name", "profession", "street",
           "house_number", "zip_code", "municipality", "phone", "email", "kbo_number")
#: Names earlier exports used, read as today's (the association CSV says ``zip_code``: one
#: name for one thing in both files).
OLD_NAMES = {"postcode": "zip_code"}
EXPORT_SOURCE = "urn:socialekaart:link-initial"
CREATED = "be.socialekaart.fiche.created"


class ExportError(ValueError):
    """A row that cannot be loaded; the message names its line. ``label``: the profession
    label that was not understood, when that is why (the run counts them)."""

    def __init__(self, message: str, label: str | None = None) -> None:
        super().__init__(message)
        self.label = label


@dataclass(frozen=True)
class UnknownColumns:
    """Header columns the format does not know: read past, and reported."""

    columns: tuple[str, ...]

    def __str__(self) -> str:
        return (f"line 1: column(s) {', '.join(self.columns)} not used (known: "
                f"{', '.join(COLUMNS)})")


@dataclass(frozen=True)
class ExportRow:
    """One fiche of the export: its ``fiche.created`` event and its practice KBO number."""

    line: int
    fiche_id: uuid.UUID
    event: dict[str, Any]
    kbo_numbers: tuple[str, ...]


def fiche_id_of(export_id: str) -> uuid.UUID:
    """The fiche's id: the export's own when it is a UUID, else one derived from it."""
    try:
        return uuid.UUID(export_id)
    except ValueError:
        return derived_id("fiche", "export", export_id)


def read_export(
    lines: Iterable[str], at: datetime,
) -> Iterator[ExportRow | ExportError | UnknownColumns]:
    """Rows of a CSV export (``,`` or ``;``), each a row or the error that stops it; first,
    the header's unknown columns when it has any."""
    buffered = list(lines)
    header = buffered[0] if buffered else ""
    reader = csv.reader(buffered, delimiter=";" if header.count(";") > header.count(",")
                        else ",")
    try:
        read = read_header(next(reader, []), COLUMNS, OLD_NAMES)
    except HeaderError as error:
        yield ExportError(f"line 1: {error}")
        return
    names = read.columns
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        yield ExportError(f"line 1: missing column(s) {', '.join(missing)}")
        return
    if read.unknown:
        yield UnknownColumns(read.unknown)
    for number, fields in enumerate(reader, start=2):
        if not any(field.strip() for field in fields):
            continue  # blank lines, or a spreadsheet's lines of bare separators
        row = {n: v.strip() for n, v in zip(names, fields, strict=False) if n in COLUMNS}
        try:
            yield _row(number, {c: row.get(c, "") for c in COLUMNS}, at)
        except ExportError as error:
            yield error


def _row(line: int, row: dict[str, str], at: datetime) -> ExportRow:
    if not row["id"]:
        raise ExportError(f"line {line}: no id")
    kind = row["kind"].lower() or "person"
    if kind not in ("person", "organisation"):
        raise ExportError(f"line {line}: kind must be person or organisation")
    fields = _person(line, row) if kind == "person" else _organisation(row)
    fields.update(_common(row))
    fields = {k: v for k, v in fields.items() if v not in (None, "", [])}
    if not fields:
        raise ExportError(f"line {line}: no values")
    fiche_id = fiche_id_of(row["id"])
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    event = {
        "specversion": "1.0", "id": f"link-initial-{fiche_id}-{digest}", "source": EXPORT_SOURCE,
        "type": CREATED, "time": at.isoformat().replace("+00:00", "Z"), "subject": str(fiche_id),
        "datacontenttype": "application/json",
        "data": {"ficheId": str(fiche_id), "kind": kind, "fields": fields},
    }
    return ExportRow(line, fiche_id, event, _kbo(row["kbo_number"]))


def _person(line: int, row: dict[str, str]) -> dict[str, JsonValue]:
    code = row["profession"]
    known = _profession(code) if code else None
    if code and known is None:
        raise ExportError(f"line {line}: unknown profession {code[:40]!r}", label=code[:40])
    return {"name.first": row["first_name"], "name.last": row["last_name"],
            "professions": [known] if known else None}


def _organisation(row: dict[str, str]) -> dict[str, JsonValue]:
    code = row["profession"].strip()
    return {"name": {"nl": row["name"]} if row["name"] else None,
            "organisationTypes": [code] if code.startswith("org") else None}


def _common(row: dict[str, str]) -> dict[str, JsonValue]:
    where = [row[c] for c in ("street", "zip_code", "municipality")]
    place = address(street=row["street"] or None, number=row["house_number"] or None, box=None,
                    postcode=row["zip_code"] or None,
                    municipality=row["municipality"] or None) if any(where) else None
    return {"addresses": [place] if place else None, "contact.phone": row["phone"],
            "contact.email": row["email"]}


def _profession(text: str) -> JsonValue:
    """A profession given by its code (``GENERAL_PRACTITIONER``) or an everyday label
    (``huisarts``, ``thuisverpleegkundige``: :func:`sync.professions.profession_of_label`)."""
    found = profession_of_label(text)
    return dict(found.as_json()) if found else None


def _kbo(text: str) -> tuple[str, ...]:
    """The practice's enterprise number; one that fails its check digits is left out."""
    if not text:
        return ()
    try:
        return (identifiers.normalize_enterprise_number(text),)
    except identifiers.IdentifierError:
        return ()
