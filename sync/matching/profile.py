"""What matching compares: a fiche's or a source record's features, already normalised. Pure.

A profile is built the same way from a canonical update's ``fields`` (a source record) and from
a fiche's visible values, so both sides of a comparison went through the same folding. It is
stored next to the fiche (``match_profile``) as JSON, so a candidate costs no re-normalisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from sync import geo
from sync.matching import normalise
from sync.professions import profession

__all__ = ["PROFILE_FIELDS", "Place", "Profile", "profile_of"]

#: The only fields :func:`profile_of` reads: equal values of these give an equal profile
#: (:mod:`sync.matching.memo` relies on it; tests/unit/test_matching_memo.py checks it).
PROFILE_FIELDS = ("name.first", "name.last", "name", "professions", "declaredProfessions",
                  "organisationTypes", "addresses", "contact.phone", "contact.email")


@dataclass(frozen=True)
class Place:
    """One address: where (NIS code of the current municipality, else the postcode) and the
    street and number as keys."""

    nis: str
    postcode: str
    street: str
    number: str


@dataclass(frozen=True)
class Profile:
    """The normalised features of one fiche or one source record.

    ``first``/``last`` are a person's name words; ``names`` an organisation's names (one per
    language), each as its words. ``professions`` holds profession codes (persons) or CD-HCPARTY
    organisation codes. ``kbo`` holds enterprise numbers: an organisation's own, or the number
    of the practice a person works in.
    """

    kind: str
    first: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    names: tuple[tuple[str, ...], ...] = ()
    professions: tuple[str, ...] = ()
    places: tuple[Place, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    kbo: tuple[str, ...] = ()
    display: str = ""

    def to_json(self) -> dict[str, Any]:
        """The profile as stored in ``match_profile.profile`` (what ``asdict`` gives, made
        directly: this runs for every fiche written)."""
        return {
            "kind": self.kind, "first": list(self.first), "last": list(self.last),
            "names": [list(name) for name in self.names], "professions": list(self.professions),
            "places": [{"nis": p.nis, "postcode": p.postcode, "street": p.street,
                        "number": p.number} for p in self.places],
            "phones": list(self.phones), "emails": list(self.emails), "kbo": list(self.kbo),
            "display": self.display,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            kind=data["kind"], first=tuple(data["first"]), last=tuple(data["last"]),
            names=tuple(tuple(n) for n in data["names"]),
            professions=tuple(data["professions"]),
            places=tuple(Place(**p) for p in data["places"]), phones=tuple(data["phones"]),
            emails=tuple(data["emails"]), kbo=tuple(data["kbo"]), display=data["display"],
        )


def profile_of(
    kind: str, fields: Mapping[str, JsonValue], kbo_numbers: Iterable[str] = (),
) -> Profile:
    """The profile of a fiche's visible values or a record's fields (``kbo_numbers``: the CBE
    identifiers, plus the practice number an export gave)."""
    first, last = _text(fields.get("name.first")), _text(fields.get("name.last"))
    names = _organisation_names(fields.get("name")) if kind == "organisation" else ()
    display = " ".join(filter(None, (first, last))) if kind == "person" else next(
        (v for v in _name_texts(fields.get("name"))), "")
    return Profile(
        kind=kind,
        first=normalise.person_tokens(first) if kind == "person" else (),
        last=normalise.person_tokens(last) if kind == "person" else (),
        names=names,
        professions=_codes(fields),
        places=_places(fields.get("addresses")),
        phones=_distinct(normalise.phone(_text(fields.get("contact.phone")))),
        emails=_distinct(normalise.email(_text(fields.get("contact.email")))),
        kbo=tuple(sorted(set(kbo_numbers))),
        display=display[:120],
    )


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _distinct(*values: str) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}))


def _name_texts(value: JsonValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for _, text in sorted(value.items()) if isinstance(text, str)]
    return []


def _organisation_names(value: JsonValue) -> tuple[tuple[str, ...], ...]:
    found = {normalise.organisation_tokens(text) for text in _name_texts(value)}
    return tuple(sorted(name for name in found if name))


def _codes(fields: Mapping[str, JsonValue]) -> tuple[str, ...]:
    """Profession codes (registered and declared), or organisation type codes."""
    codes: set[str] = set()
    for name in ("professions", "declaredProfessions", "organisationTypes"):
        items = fields.get(name)
        for item in items if isinstance(items, list) else ():
            code = item.get("code") if isinstance(item, dict) else item
            if isinstance(code, str) and code.strip():
                known = profession(code)
                codes.add(known.code if known else code.strip())
    return tuple(sorted(codes))


def _places(value: JsonValue) -> tuple[Place, ...]:
    found: set[Place] = set()
    for item in value if isinstance(value, list) else ():
        if not isinstance(item, dict):
            continue
        postcode = _text(item.get("postcode")) or ""
        nis = _text(item.get("nis")) or _nis(postcode, _text(item.get("municipality")))
        found.add(Place(nis=nis, postcode=postcode.strip(),
                        street=normalise.street(_text(item.get("street"))),
                        number=normalise.house_number(_text(item.get("houseNumber")))))
    return tuple(sorted(found, key=lambda p: (p.nis, p.postcode, p.street, p.number)))


def _nis(postcode: str, municipality: str | None) -> str:
    """The NIS code when the address did not carry one (it always does after mapping)."""
    if not postcode and not municipality:
        return ""
    return geo.resolve(postcode or None, municipality).nis or ""
