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
from sync.events import derived_id
from sync.mapping.common import address
from sync.professions import profession

__all__ = ["COLUMNS", "EXPORT_SOURCE", "ExportError", "ExportRow", "fiche_id_of", "read_export"]

COLUMNS = ("id", "kind", "first_name", "last_name", "name", "profession", "street",
           "house_number", "postcode", "municipality", "phone", "email", "kbo_number")
EXPORT_SOURCE = "urn:socialekaart:link-initial"
CREATED = "be.socialekaart.fiche.created"
#: Profession codes an export may also give by their Dutch name.
_PROFESSION_CODES = (
    "PHYSICIAN", "GENERAL_PRACTITIONER", "DENTIST", "PHARMACIST", "MIDWIFE", "NURSE",
    "PRACTICAL_NURSE", "PHYSIOTHERAPIST", "PSYCHOLOGIST", "CLINICAL_PSYCHOLOGIST",
    "CLINICAL_ORTHOPEDAGOGIST", "SPEECH_THERAPIST", "DIETICIAN", "OCCUPATIONAL_THERAPIST",
    "PODIATRIST", "AUDIOLOGIST", "ORTHOPTIST", "DENTAL_HYGIENIST", "PARAMEDIC", "SOCIAL_WORKER",
    "TOBACCO_SPECIALIST", "BOV_COACH",
)


class ExportError(ValueError):
    """A row that cannot be loaded; the message names its line."""


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


def read_export(lines: Iterable[str], at: datetime) -> Iterator[ExportRow | ExportError]:
    """Rows of a CSV export (``,`` or ``;``), each a row or the error that stops it."""
    buffered = list(lines)
    header = buffered[0] if buffered else ""
    reader = csv.DictReader(buffered, delimiter=";" if header.count(";") > header.count(",")
                            else ",")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield ExportError(f"line 1: missing column(s) {', '.join(missing)}")
        return
    for number, row in enumerate(reader, start=2):
        try:
            yield _row(number, {k: (v or "").strip() for k, v in row.items() if k}, at)
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
        raise ExportError(f"line {line}: unknown profession {code[:40]!r}")
    return {"name.first": row["first_name"], "name.last": row["last_name"],
            "professions": [known] if known else None}


def _organisation(row: dict[str, str]) -> dict[str, JsonValue]:
    code = row["profession"].strip()
    return {"name": {"nl": row["name"]} if row["name"] else None,
            "organisationTypes": [code] if code.startswith("org") else None}


def _common(row: dict[str, str]) -> dict[str, JsonValue]:
    where = [row[c] for c in ("street", "postcode", "municipality")]
    place = address(street=row["street"] or None, number=row["house_number"] or None, box=None,
                    postcode=row["postcode"] or None,
                    municipality=row["municipality"] or None) if any(where) else None
    return {"addresses": [place] if place else None, "contact.phone": row["phone"],
            "contact.email": row["email"]}


def _profession(text: str) -> JsonValue:
    """A profession given by its code (``GENERAL_PRACTITIONER``) or Dutch name (``huisarts``)."""
    found = profession(text) or next(
        (p for p in map(profession, _PROFESSION_CODES) if p and p.nl.casefold() == text.casefold()),
        None)
    return dict(found.as_json()) if found else None


def _kbo(text: str) -> tuple[str, ...]:
    """The practice's enterprise number; one that fails its check digits is left out."""
    if not text:
        return ()
    try:
        return (identifiers.normalize_enterprise_number(text),)
    except identifiers.IdentifierError:
        return ()
