"""Belgian municipalities (NIS codes), postcodes and place names, aware of 2019 and 2025 mergers.

The reference tables live in ``sync/data/geo/`` and are built by ``scripts/build_geo.py`` from
Statbel REFNIS codes, the list of the 2025 mergers and the bpost postcodes (see SOURCES.md there).
They are read once, on first use. Postcodes and municipalities are many-to-many; an old
municipality name or NIS code resolves to the municipality that succeeded it on the given day.
Nothing here raises on bad input: what cannot be placed comes back with ``placed=False`` and a
reason.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources

__all__ = [
    "Municipality",
    "Placement",
    "municipalities_on",
    "municipality",
    "normalize_name",
    "resolve",
    "resolve_service_area",
]


@dataclass(frozen=True)
class Municipality:
    """A municipality as Statbel codes it, valid from ``valid_from`` to ``valid_to`` (inclusive)."""

    nis: str
    name_nl: str
    name_fr: str | None
    valid_from: date
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        """Whether this NIS code designated a municipality on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Placement:
    """Where an address or service area lies; ``reason`` says why it could not be placed."""

    nis: str | None
    municipality_nl: str | None
    postcode: str | None
    placed: bool
    reason: str | None


@dataclass(frozen=True)
class _Tables:
    municipalities: dict[str, Municipality]
    successors: dict[str, str]  # old NIS code -> the code that replaced it
    names: dict[str, frozenset[str]]  # folded municipality name (nl/fr/de) -> NIS codes
    places: dict[str, frozenset[tuple[str, str]]]  # folded place name -> (postcode, NIS code)
    postcodes: dict[str, frozenset[str]]  # postcode -> NIS codes at the source's date


_SAINTS = {"sint": "st", "saint": "st", "sainte": "ste"}
_QUALIFIER = re.compile(r"\s*\([^)]*\)")
_POSTCODE = re.compile(r"(?:BE?[- ]?)?([1-9]\d{3})")
_NIS = re.compile(r"\d{5}")


def normalize_name(name: str) -> str:
    """Fold a place name for matching: no accents, case or punctuation; Sint/Saint/St alike."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[^0-9a-z]+", " ", re.sub(r"['’`]", "", bare.casefold())).split()
    return " ".join(_SAINTS.get(word, word) for word in words)


def municipality(nis: str) -> Municipality | None:
    """The municipality with this NIS code (current or former), or None if the code is unknown."""
    return _tables().municipalities.get(nis.strip())


def municipalities_on(day: date) -> tuple[Municipality, ...]:
    """All municipalities that existed on ``day``, ordered by NIS code."""
    found = (m for m in _tables().municipalities.values() if m.valid_on(day))
    return tuple(sorted(found, key=lambda m: m.nis))


def resolve(postcode: str | None, municipality: str | None, *, on: date | None = None) -> Placement:
    """Place a postcode and/or municipality (or section, or former municipality) name.

    The municipality is the one valid ``on`` that day (default: today). When both are given
    they must agree; an unrecognised name falls back to the postcode and an unknown or malformed
    postcode to the name. Ambiguous or unknown input gives ``placed=False`` with a reason.
    """
    return _resolve(postcode, municipality, on or date.today())


@functools.lru_cache(maxsize=16384)
def _resolve(postcode: str | None, municipality: str | None, day: date) -> Placement:
    """:func:`resolve` on ``day``: the same few thousand addresses come again and again."""
    tables = _tables()
    name, raw_code = (municipality or "").strip(), (postcode or "").strip()
    code = _clean_postcode(raw_code)
    if code is None and not name:
        bad = f"{raw_code!r} is not a Belgian postcode" if raw_code else "nothing given"
        return _unplaced(None, bad)
    by_postcode = _by_postcode(code, day, tables)
    by_name = _by_name(name, day, tables, all_tiers=bool(by_postcode))
    if by_postcode and by_name:
        conflict = f"postcode {code} does not lie in {name!r}"
        return _pick(by_postcode & by_name, code, conflict, f"{code} {name}")
    if by_postcode:
        return _pick(by_postcode, code, "", f"postcode {code}")
    unknown = f"unknown municipality {name!r} on {day}" if name else f"unknown postcode {code}"
    return _pick(by_name, code, unknown, repr(name))


def resolve_service_area(item: str, *, on: date | None = None) -> Placement:
    """Place a service area given as a municipality name or a 5-digit NIS code (old codes too)."""
    text, day = item.strip(), on or date.today()
    if not _NIS.fullmatch(text):
        return resolve(None, text, on=day)
    if text not in _tables().municipalities:
        return _unplaced(None, f"unknown NIS code {text}")
    expired = f"NIS code {text} not valid on {day}"
    return _pick(_as_of_all([text], day, _tables()), None, expired, text)


def _clean_postcode(raw: str | None) -> str | None:
    match = _POSTCODE.fullmatch((raw or "").strip().upper())
    return match.group(1) if match else None


def _by_postcode(code: str | None, day: date, tables: _Tables) -> frozenset[str]:
    return _as_of_all(tables.postcodes.get(code or "", ()), day, tables)


def _by_name(name: str, day: date, tables: _Tables, *, all_tiers: bool) -> frozenset[str]:
    """Codes for a name; without a postcode, municipality names win over section names."""
    municipal: set[str] = set()
    sections: set[str] = set()
    for part in filter(None, (p.strip() for p in name.split("/"))):  # 'Brussel/Bruxelles'
        found_municipal, found_sections = _lookup(part, tables)
        municipal |= found_municipal
        sections |= found_sections
    if all_tiers:
        return _as_of_all(municipal | sections, day, tables)
    return _as_of_all(municipal, day, tables) or _as_of_all(sections, day, tables)


def _lookup(name: str, tables: _Tables) -> tuple[frozenset[str], frozenset[str]]:
    """Municipality and section matches for a name, else for the name without its '(qualifier)'."""
    for key in (normalize_name(name), normalize_name(_QUALIFIER.sub("", name))):
        municipal = tables.names.get(key, frozenset())
        sections = frozenset(nis for _, nis in tables.places.get(key, ()))
        if municipal or sections:
            return municipal, sections
    return frozenset(), frozenset()


def _as_of_all(codes: Iterable[str], day: date, tables: _Tables) -> frozenset[str]:
    return frozenset(filter(None, (_as_of(code, day, tables) for code in codes)))


def _as_of(nis: str, day: date, tables: _Tables) -> str | None:
    """Follow mergers and renumberings forward to the code valid on ``day``."""
    current: str | None = nis
    while current is not None:
        found = tables.municipalities.get(current)
        if found is None or day < found.valid_from:
            return None
        if found.valid_on(day):
            return current
        current = tables.successors.get(current)
    return None


def _pick(codes: frozenset[str], postcode: str | None, empty: str, what: str) -> Placement:
    if len(codes) == 1:
        (nis,) = codes
        return Placement(nis, _tables().municipalities[nis].name_nl, postcode, True, None)
    if not codes:
        return _unplaced(postcode, empty)
    names = ", ".join(f"{_tables().municipalities[c].name_nl} ({c})" for c in sorted(codes))
    return _unplaced(postcode, f"{what} is ambiguous: {names}")


def _unplaced(postcode: str | None, reason: str) -> Placement:
    return Placement(None, None, postcode, False, reason)


def _rows(name: str) -> Iterator[dict[str, str]]:
    source = resources.files("sync") / "data" / "geo" / name
    yield from csv.DictReader(source.read_text(encoding="utf-8").splitlines())


def _municipality(row: dict[str, str]) -> Municipality:
    valid_to = date.fromisoformat(row["valid_to"]) if row["valid_to"] else None
    from_ = date.fromisoformat(row["valid_from"])
    return Municipality(row["nis"], row["name_nl"], row["name_fr"] or None, from_, valid_to)


@functools.cache
def _tables() -> _Tables:
    rows = list(_rows("municipalities.csv"))
    names: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        for name in filter(None, (row["name_nl"], row["name_fr"], row["name_de"])):
            names[normalize_name(name)].add(row["nis"])
            names[normalize_name(_QUALIFIER.sub("", name))].add(row["nis"])
    places: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    postcodes: defaultdict[str, set[str]] = defaultdict(set)
    for row in _rows("postcodes.csv"):
        places[normalize_name(row["place"])].add((row["postcode"], row["nis"]))
        postcodes[row["postcode"]].add(row["nis"])
    return _Tables(
        municipalities={row["nis"]: _municipality(row) for row in rows},
        successors={row["old_nis"]: row["new_nis"] for row in _rows("successors.csv")},
        names={key: frozenset(value) for key, value in names.items()},
        places={key: frozenset(value) for key, value in places.items()},
        postcodes={key: frozenset(value) for key, value in postcodes.items()},
    )
