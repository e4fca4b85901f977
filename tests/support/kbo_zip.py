"""Builds KBO Open Data ZIPs in the real format (cookbook R018.00, SOURCES.md §3) from rows.

Headers are written here from the specification, not imported from the reader, so that a
test fails when the reader and the published format drift apart. Values are strings exactly
as they appear in the files: numbers with dots, dates dd-mm-yyyy, codes as codes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "activity",
    "address",
    "contact",
    "denomination",
    "enterprise",
    "enterprise_number",
    "establishment",
    "establishment_number",
    "write_full_zip",
    "write_update_zip",
]

Row = Sequence[str]

HEADERS: dict[str, tuple[str, ...]] = {
    "enterprise": ("EnterpriseNumber", "Status", "JuridicalSituation", "TypeOfEnterprise",
                   "JuridicalForm", "JuridicalFormCAC", "StartDate"),
    "establishment": ("EstablishmentNumber", "StartDate", "EnterpriseNumber"),
    "denomination": ("EntityNumber", "Language", "TypeOfDenomination", "Denomination"),
    "address": ("EntityNumber", "TypeOfAddress", "CountryNL", "CountryFR", "Zipcode",
                "MunicipalityNL", "MunicipalityFR", "StreetNL", "StreetFR", "HouseNumber", "Box",
                "ExtraAddressInfo", "DateStrikingOff"),
    "contact": ("EntityNumber", "EntityContact", "ContactType", "Value"),
    "activity": ("EntityNumber", "ActivityGroup", "NaceVersion", "NaceCode", "Classification"),
}
DELETE_HEADERS = {"enterprise": "EnterpriseNumber", "establishment": "EstablishmentNumber"}
CODES = [("TypeOfEnterprise", "1", "NL", "Natuurlijk persoon"),
         ("TypeOfEnterprise", "2", "NL", "Rechtspersoon")]


def _with_check(first8: int) -> str:
    return f"{first8:08d}{97 - first8 % 97:02d}"


def enterprise_number(first8: int) -> str:
    """``0403.019.261`` from ``4030192``: the KBO's dotted form with its mod-97 check."""
    digits = _with_check(first8)
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def establishment_number(first8: int) -> str:
    """``2.xxx.xxx.xxx`` from a first8 of 20000000 or more (mod-97 check digits too)."""
    digits = _with_check(first8)
    return f"{digits[0]}.{digits[1:4]}.{digits[4:7]}.{digits[7:]}"


def enterprise(number: str, *, kind: str = "2", form: str = "014", start: str = "01-01-1990",
               status: str = "AC", situation: str = "000") -> Row:
    """An enterprise.csv row; kind 1 is a natural person, 2 a legal person."""
    return (number, status, situation, kind, form if kind == "2" else "", "", start)


def establishment(number: str, owner: str, *, start: str = "01-01-2000") -> Row:
    return (number, start, owner)


def denomination(entity: str, name: str, *, language: str = "2", kind: str = "001") -> Row:
    """Language 1 fr, 2 nl, 3 de, 4 en; kind 001 name, 002 abbreviation, 003 commercial."""
    return (entity, language, kind, name)


def address(entity: str, *, kind: str = "REGO", zipcode: str = "9700",
            municipality: tuple[str, str] = ("Oudenaarde", "Audenarde"),
            street: tuple[str, str] = ("Markt", "Markt"), number: str = "1", box: str = "",
            struck_off: str = "") -> Row:
    return (entity, kind, "België" if kind == "REGO" else "", "Belgique" if kind == "REGO" else "",
            zipcode, municipality[0], municipality[1], street[0], street[1], number, box, "",
            struck_off)


def contact(entity: str, kind: str, value: str, *, of: str = "ENT") -> Row:
    return (entity, of, kind, value)


def activity(entity: str, nace: str, *, version: str = "2008", group: str = "001",
             classification: str = "MAIN") -> Row:
    return (entity, group, version, nace, classification)


def _csv(header: Sequence[str], rows: Sequence[Row]) -> bytes:
    """KBO style: every non-empty value in double quotes, empty values bare, CRLF."""
    def line(values: Sequence[str]) -> str:
        return ",".join('"' + v.replace('"', '""') + '"' if v else "" for v in values)
    return "".join(line(values) + "\r\n" for values in [header, *rows]).encode()


def _meta(extract_number: int, kind: str, snapshot: str) -> bytes:
    return _csv(("Variable", "Value"), [
        ("SnapshotDate", snapshot), ("ExtractTimestamp", f"{snapshot} 05:32:11"),
        ("ExtractType", kind), ("ExtractNumber", str(extract_number)), ("Version", "1.0.0"),
    ])


def _write(path: Path, members: Mapping[str, bytes], omit: Sequence[str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if name not in omit:
                archive.writestr(name, content)
    return path


def write_full_zip(path: Path, extract_number: int, tables: Mapping[str, Sequence[Row]], *,
                   snapshot: str = "28-11-2026", omit: Sequence[str] = (),
                   raw: Mapping[str, bytes] | None = None) -> Path:
    """A Full extract holding ``tables`` (name -> rows; absent tables are empty).

    ``raw`` replaces or adds members byte for byte; ``omit`` leaves members out.
    """
    members = {"meta.csv": _meta(extract_number, "Full", snapshot),
               "code.csv": _csv(("Category", "Code", "Language", "Description"), CODES)}
    for name, header in HEADERS.items():
        members[f"{name}.csv"] = _csv(header, tables.get(name, []))
    members["branch.csv"] = _csv(("Id", "StartDate", "EnterpriseNumber"), [])
    return _write(path, {**members, **(raw or {})}, omit)


def write_update_zip(path: Path, extract_number: int, *,
                     deletes: Mapping[str, Sequence[str]] | None = None,
                     inserts: Mapping[str, Sequence[Row]] | None = None,
                     snapshot: str = "29-11-2026", omit: Sequence[str] = ()) -> Path:
    """An Update extract: per table ``X_delete.csv`` (entity numbers) and ``X_insert.csv``."""
    deletes, inserts = deletes or {}, inserts or {}
    members = {"meta.csv": _meta(extract_number, "Update", snapshot)}
    for name, header in HEADERS.items():
        numbers = [(number,) for number in deletes.get(name, [])]
        members[f"{name}_delete.csv"] = _csv((DELETE_HEADERS.get(name, "EntityNumber"),), numbers)
        members[f"{name}_insert.csv"] = _csv(header, inserts.get(name, []))
    return _write(path, members, omit)
