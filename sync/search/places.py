"""Municipalities as a searcher names them, and where they lie. Pure, read from ``sync/data/geo``.

* :func:`place_names`: every name under which a municipality is searched: its Dutch, French and
  German names, the names of the municipalities merged into it (2019, 2025: "Nevele" is in
  Deinze, "Borsbeek" in Antwerpen) and the places (deelgemeenten) of its postcodes.
* :func:`centroid`: a representative point per municipality (``centroids.csv``, built by
  ``scripts/build_centroids.py`` from GeoNames; no download at run time).
* :func:`find_place`: the municipality named in a query, with the rest of the query.
"""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

from sync import geo

__all__ = ["Point", "QueryPlace", "centroid", "find_place", "place_names"]

Point = tuple[float, float]


@dataclass(frozen=True)
class QueryPlace:
    """A municipality named in a query: the one named, the one it is today, the other words."""

    named_nis: str
    current_nis: str
    name: str
    rest: str

    @property
    def origin(self) -> Point | None:
        """Where "near" is measured from: the named (possibly former) municipality, else today's."""
        return centroid(self.named_nis) or centroid(self.current_nis)


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("sync") / "data" / "geo" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def _centroids() -> dict[str, Point]:
    return {row["nis"]: (float(row["lat"]), float(row["lon"])) for row in _rows("centroids.csv")}


def centroid(nis: str) -> Point | None:
    """The municipality's point (latitude, longitude), or None when it has none."""
    return _centroids().get(nis)


def current(nis: str) -> str | None:
    """The NIS code that designates ``nis``'s territory today (itself when still valid)."""
    return geo.resolve_service_area(nis).nis


@functools.cache
def _names() -> dict[str, tuple[str, ...]]:
    found: defaultdict[str, dict[str, None]] = defaultdict(dict)
    for row in _rows("municipalities.csv"):
        today = current(row["nis"])
        if today is not None:
            for name in (row["name_nl"], row["name_fr"], row["name_de"]):
                if name:
                    found[today][name] = None
    for row in _rows("postcodes.csv"):
        today = current(row["nis"])
        if today is not None:
            found[today][row["place"]] = None
    return {nis: tuple(names) for nis, names in found.items()}


def place_names(nis: str) -> tuple[str, ...]:
    """Every name a searcher may use for the municipality ``nis`` is in (see module doc)."""
    today = current(nis)
    return _names().get(today, ()) if today else ()


def find_place(text: str, max_words: int = 4) -> QueryPlace | None:
    """The first, longest run of words in ``text`` that names exactly one municipality.

    Municipality names win over section names; a name shared by several municipalities
    ("Beveren") names none, and the words stay part of the text query.
    """
    words = text.split()
    for size in range(min(max_words, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            found = _named(" ".join(words[start:start + size]))
            if found is not None:
                named, today = found
                rest = " ".join(words[:start] + words[start + size:])
                return QueryPlace(named, today, geo.municipality(today).name_nl  # type: ignore[union-attr]
                                  if geo.municipality(today) else today, rest)
    return None


def _named(phrase: str) -> tuple[str, str] | None:
    """(the code of the municipality of that name, today's code), or None."""
    codes = _by_name().get(geo.normalize_name(phrase), frozenset())
    if len(codes) == 1:
        (named,) = codes
        today = current(named)
        return (named, today) if today else None
    placement = geo.resolve(None, phrase)  # a section name: Zolder, Gijzegem, ...
    if placement.placed and placement.nis is not None:
        return placement.nis, placement.nis
    return None


@functools.cache
def _by_name() -> dict[str, frozenset[str]]:
    """Folded municipality name (any language, any period) -> the codes that bore it."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for row in _rows("municipalities.csv"):
        for name in (row["name_nl"], row["name_fr"], row["name_de"]):
            if name:
                found[geo.normalize_name(name)].add(row["nis"])
    # A name borne by a municipality before and after a merger (Tielt, Hasselt) is one place.
    return {key: _one_place(codes) for key, codes in found.items()}


def _one_place(codes: set[str]) -> frozenset[str]:
    todays = {current(code) for code in codes}
    if len(todays) == 1 and len(codes) > 1:
        newest = max(codes, key=lambda c: geo.municipality(c).valid_from)  # type: ignore[union-attr]
        return frozenset({newest})
    return frozenset(codes)
