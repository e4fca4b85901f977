"""The KBO Open Data CSV tables (cookbook R018.00, SOURCES.md §3) and how one row is read.

Validation here is structural (numbers, dates, required values): a row that fails is skipped
and reported. Code vocabularies (language, address type, ...) are kept as the KBO writes them
in the mirror; the state query keeps only the codes the event model knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "DELETE_KEY",
    "TABLES",
    "RowError",
    "Table",
    "enterprise_number",
    "entity_number",
    "parse_date",
]

Value = str | date | None


class RowError(ValueError):
    """Why one CSV row cannot be used (the message goes into the ingest report)."""


_NUMBER = re.compile(r"[0-9]{4}\.[0-9]{3}\.[0-9]{3}|[0-9](\.[0-9]{3}){3}|[0-9]{10}")
_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")


def entity_number(text: str) -> str:
    """An enterprise, establishment or branch number as 10 digits without dots.

    Enterprise numbers (first digit 0 or 1) must pass the mod-97 check; establishment
    numbers are only checked for shape, their check is not published (DOMAIN.md).
    """
    if not _NUMBER.fullmatch(text):
        raise RowError(f"not an entity number: {text[:20]!r}")
    digits = text.replace(".", "")
    if digits[0] in "01" and 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise RowError(f"enterprise number {text!r} fails its check digits")
    return digits


def enterprise_number(text: str) -> str:
    """An enterprise number (0xxx.xxx.xxx or 1xxx.xxx.xxx) as 10 digits."""
    digits = entity_number(text)
    if digits[0] not in "01":
        raise RowError(f"not an enterprise number: {text!r}")
    return digits


def establishment_number(text: str) -> str:
    """An establishment unit number (2.xxx.xxx.xxx to 8.xxx.xxx.xxx) as 10 digits."""
    digits = entity_number(text)
    if digits[0] not in "2345678":
        raise RowError(f"not an establishment unit number: {text!r}")
    return digits


def parse_date(text: str) -> date | None:
    """``dd-mm-yyyy`` to a date; empty is null."""
    if text == "":
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        raise RowError(f"not a dd-mm-yyyy date: {text[:20]!r}")
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise RowError(f"no such date: {text!r}") from None


def _text(text: str) -> str | None:
    return text or None


def _required(text: str) -> str:
    if text == "":
        raise RowError("a required value is empty")
    return text


@dataclass(frozen=True)
class Table:
    """One KBO table: its CSV header, its mirror columns and how each value is read."""

    name: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    readers: tuple[Callable[[str], Value], ...]

    @property
    def key(self) -> str:
        """The mirror column a ``_delete.csv`` file names (the first one)."""
        return self.columns[0]

    def parse(self, row: Sequence[str]) -> tuple[Value, ...]:
        """Convert one CSV row, or raise :class:`RowError`."""
        if len(row) != len(self.header):
            raise RowError(f"expected {len(self.header)} columns, got {len(row)}")
        return tuple(read(value.strip()) for read, value in zip(self.readers, row, strict=True))


def _table(name: str, spec: Sequence[tuple[str, str, Callable[[str], Value]]]) -> Table:
    return Table(
        name,
        tuple(csv for csv, _, _ in spec),
        tuple(db for _, db, _ in spec),
        tuple(read for _, _, read in spec),
    )


#: In the order an Update applies them; each is also a mirror table ``kbo.<name>``.
TABLES: tuple[Table, ...] = (
    _table("enterprise", [
        ("EnterpriseNumber", "enterprise_number", enterprise_number),
        ("Status", "status", _required),
        ("JuridicalSituation", "juridical_situation", _text),
        ("TypeOfEnterprise", "type_of_enterprise", _text),
        ("JuridicalForm", "juridical_form", _text),
        ("JuridicalFormCAC", "juridical_form_cac", _text),
        ("StartDate", "start_date", parse_date),
    ]),
    _table("establishment", [
        ("EstablishmentNumber", "establishment_number", establishment_number),
        ("StartDate", "start_date", parse_date),
        ("EnterpriseNumber", "enterprise_number", enterprise_number),
    ]),
    _table("denomination", [
        ("EntityNumber", "entity_number", entity_number),
        ("Language", "language", _required),
        ("TypeOfDenomination", "type_of_denomination", _required),
        ("Denomination", "denomination", _required),
    ]),
    _table("address", [
        ("EntityNumber", "entity_number", entity_number),
        ("TypeOfAddress", "type_of_address", _required),
        ("CountryNL", "country_nl", _text),
        ("CountryFR", "country_fr", _text),
        ("Zipcode", "zipcode", _text),
        ("MunicipalityNL", "municipality_nl", _text),
        ("MunicipalityFR", "municipality_fr", _text),
        ("StreetNL", "street_nl", _text),
        ("StreetFR", "street_fr", _text),
        ("HouseNumber", "house_number", _text),
        ("Box", "box", _text),
        ("ExtraAddressInfo", "extra_address_info", _text),
        ("DateStrikingOff", "date_striking_off", parse_date),
    ]),
    _table("contact", [
        ("EntityNumber", "entity_number", entity_number),
        ("EntityContact", "entity_contact", _text),
        ("ContactType", "contact_type", _required),
        ("Value", "value", _required),
    ]),
    _table("activity", [
        ("EntityNumber", "entity_number", entity_number),
        ("ActivityGroup", "activity_group", _required),
        ("NaceVersion", "nace_version", _required),
        ("NaceCode", "nace_code", _required),
        ("Classification", "classification", _text),
    ]),
)

#: A ``_delete.csv`` row: one entity number (header EntityNumber, EnterpriseNumber or
#: EstablishmentNumber, whichever: only the first column is read).
DELETE_KEY = Table("delete", ("EntityNumber",), ("entity_number",), (entity_number,))
