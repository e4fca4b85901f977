"""KBO establishment units as the locations of an organisation fiche (docs/rules.md).

An establishment unit (vestigingseenheid) is a place where the enterprise works: a campus,
a practice, a care home. The directory shows each one as a location of the enterprise's own
fiche (field ``establishments``), with its number, name, address and contacts, so that a
search on a municipality finds the place where care is given and not only the registered
seat. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import JsonValue

from sync.mapping.common import address
from sync.mapping.kbo_model import KboAddress, KboContact, KboDenomination, KboEstablishment

__all__ = [
    "LANGUAGES",
    "by_language",
    "canonical_address",
    "establishments",
    "first_contact",
    "live_addresses",
]

LANGUAGES = ("nl", "fr", "de", "en")


def establishments(units: Sequence[KboEstablishment]) -> list[JsonValue]:
    """Every unit the KBO lists (a closed unit is no longer listed), by number."""
    return [_unit(unit) for unit in sorted(units, key=lambda u: u.establishment_number)]


def _unit(unit: KboEstablishment) -> dict[str, JsonValue]:
    places = [canonical_address(a) for a in live_addresses(unit.addresses, "BAET")]
    return {
        "establishmentNumber": unit.establishment_number,
        "name": _unit_name(unit.denominations),
        "startDate": unit.start_date.isoformat() if unit.start_date else None,
        "address": places[0] if places else None,
        "phone": first_contact("TEL", unit.contacts),
        "email": first_contact("EMAIL", unit.contacts),
        "website": first_contact("WEB", unit.contacts),
        "activities": list(sorted({a.nace_code for a in unit.activities})),
    }


def _unit_name(items: Sequence[KboDenomination]) -> dict[str, JsonValue] | None:
    """A unit's commercial name (what is on the door), else its name, by language."""
    for kind in ("commercial", "name"):
        found = by_language(d for d in items if d.type == kind)
        if found:
            return found
    return None


def by_language(items: Iterable[KboDenomination]) -> dict[str, JsonValue]:
    """One text per language (the first in sorted order when KBO holds several)."""
    texts: dict[str, JsonValue] = {}
    for item in sorted(items, key=lambda d: (LANGUAGES.index(d.language), d.value)):
        if item.value.strip():
            texts.setdefault(item.language, item.value.strip())
    return texts


def canonical_address(item: KboAddress) -> dict[str, JsonValue]:
    """A KBO address in the canonical shape (Dutch street name first)."""
    return address(
        street=item.street_nl or item.street_fr, number=item.house_number, box=item.box,
        postcode=item.zipcode, municipality=item.municipality_nl,
        municipality_fr=item.municipality_fr,
    )


def live_addresses(addresses: Sequence[KboAddress], kind: str) -> list[KboAddress]:
    """The addresses of ``kind`` (REGO, BAET); a struck-off address no longer holds."""
    return [a for a in addresses if a.type == kind and a.date_striking_off is None]


def first_contact(kind: str, contacts: Sequence[KboContact]) -> str | None:
    """The first (sorted) non-empty contact of ``kind`` (TEL, EMAIL, WEB)."""
    values = sorted(c.value.strip() for c in contacts if c.type == kind and c.value.strip())
    return values[0] if values else None
