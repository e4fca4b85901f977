"""Explainable scores: how much a source record looks like a fiche, feature by feature. Pure.

Each feature compares one aspect of two profiles and lands on a *level* (``exact``, ``close``,
``differs``, ...); the weights (``weights.json``, data not code) give each level its points; a
feature that one side lacks is ``missing`` and adds nothing. The score is the sum of the points,
and its parts say why: an editor reviewing a candidate sees exactly what agreed and what did not.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from sync.matching.blocking import family
from sync.matching.normalise import is_generic
from sync.matching.profile import Place, Profile

__all__ = ["FEATURES", "LEVELS", "Part", "Score", "Weights", "default_weights", "levels", "score"]

FEATURES = ("name", "profession", "place", "address", "phone", "email", "kbo")
#: Every level a feature can land on, per kind (``missing`` aside: it weighs nothing).
_SHARED = {"profession": ("same", "related", "differs"), "place": ("same", "differs"),
           "address": ("same", "near", "sameStreet", "differs"), "phone": ("same", "differs"),
           "email": ("same", "differs"), "kbo": ("same", "differs")}
LEVELS: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {"name": ("exact", "close", "initial", "lastTypo", "firstTypo", "lastOnly",
                        "firstDiffers", "differs"),
               **_SHARED},
    "organisation": {"name": ("exact", "close", "weak", "differs"), **_SHARED},
}
#: Person name levels from best to worst: an orientation (first/last swapped or not) keeps
#: the best it reaches.
PERSON_LEVELS = ("exact", "close", "initial", "lastTypo", "firstTypo", "lastOnly", "missing",
                 "firstDiffers", "differs")


@dataclass(frozen=True)
class Weights:
    """Thresholds and points per (kind, feature, level), as ``weights.json`` gives them."""

    auto: float
    review: float
    #: The name levels that may link automatically, each with the features of which one must
    #: also agree (``initial``: an e-mail address, since colleagues share a practice's phone).
    auto_name_levels: Mapping[str, tuple[str, ...]]
    ambiguity_margin: float
    max_candidates: int
    max_review_candidates: int
    similarity: Mapping[str, float]
    points: Mapping[str, Mapping[str, Mapping[str, float]]]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Weights:
        if data["thresholds"]["auto"] < data["thresholds"]["review"]:
            raise ValueError("the auto-link threshold must not be below the review threshold")
        return cls(
            auto=float(data["thresholds"]["auto"]), review=float(data["thresholds"]["review"]),
            auto_name_levels=_name_levels(data["autoNameLevels"]),
            ambiguity_margin=float(data["ambiguityMargin"]),
            max_candidates=int(data["maxCandidates"]),
            max_review_candidates=int(data["maxReviewCandidates"]),
            similarity=dict(data["similarity"]),
            points={kind: data[kind] for kind in ("person", "organisation")},
        )

    def may_link(self, result: Score) -> bool:
        """Whether the name level of ``result`` (and what it needs besides) allows a link."""
        name = result.level("name")
        if name not in self.auto_name_levels:
            return False
        needed = self.auto_name_levels[name]
        return not needed or any(result.level(feature) == "same" for feature in needed)

    def of(self, kind: str, feature: str, level: str) -> float:
        """The points of ``level``; a level the weights do not list (``missing``) is 0."""
        return float(self.points[kind].get(feature, {}).get(level, 0.0))


def _name_levels(value: Any) -> dict[str, tuple[str, ...]]:
    """``["exact", "close"]`` or ``{"exact": [], "initial": ["email"]}``."""
    if isinstance(value, Mapping):
        return {str(level): tuple(needed) for level, needed in value.items()}
    return {str(level): () for level in value}


@cache
def default_weights() -> Weights:
    """The weights shipped in ``sync/matching/weights.json``."""
    text = resources.files("sync.matching").joinpath("weights.json").read_text("utf-8")
    return Weights.from_json(json.loads(text))


@dataclass(frozen=True)
class Part:
    """One feature's contribution: its level and the points that level is worth."""

    feature: str
    level: str
    points: float

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "level": self.level, "points": self.points}


@dataclass(frozen=True)
class Score:
    """A record against one fiche: the total and the parts it is the sum of."""

    total: float
    parts: tuple[Part, ...]

    def level(self, feature: str) -> str:
        return next((p.level for p in self.parts if p.feature == feature), "missing")

    def explain(self) -> str:
        """``name exact +8, place same +2, ...`` (missing features left out)."""
        return ", ".join(f"{p.feature} {p.level} {p.points:+g}" for p in self.parts
                         if p.level != "missing")


def score(record: Profile, fiche: Profile, weights: Weights) -> Score:
    """How much ``record`` looks like ``fiche`` (profiles of the same kind)."""
    found = levels(record, fiche, weights)
    parts = tuple(Part(f, found[f], weights.of(record.kind, f, found[f])) for f in FEATURES)
    return Score(round(sum(p.points for p in parts), 2), parts)


def levels(record: Profile, fiche: Profile, weights: Weights) -> dict[str, str]:
    """The level each feature lands on (what :func:`score` gives points to)."""
    return {
        "name": (_person_name(record, fiche) if record.kind == "person"
                 else _organisation_name(record, fiche, weights)),
        "profession": _codes(record.professions, fiche.professions),
        "place": _place(record.places, fiche.places),
        "address": _address(record.places, fiche.places, weights),
        "phone": _overlap(record.phones, fiche.phones),
        "email": _overlap(record.emails, fiche.emails),
        "kbo": _overlap(record.kbo, fiche.kbo),
    }


# -- names --------------------------------------------------------------------------------

def _person_name(a: Profile, b: Profile) -> str:
    whole_a, whole_b = sorted((*a.first, *a.last)), sorted((*b.first, *b.last))
    if len(whole_a) >= 2 and whole_a == whole_b:
        return "exact"  # the same words, whichever field each was typed in
    found = [_oriented(a.first, a.last, first, last)
             for first, last in ((b.first, b.last), (b.last, b.first))]
    return min(found, key=PERSON_LEVELS.index)


def _oriented(
    first_a: tuple[str, ...], last_a: tuple[str, ...],
    first_b: tuple[str, ...], last_b: tuple[str, ...],
) -> str:
    last = _last_name(last_a, last_b)
    if last in ("missing", "differs"):
        return last
    first = _first_name(first_a, first_b)
    if first == "missing":
        return "lastOnly"
    if first == "differs":
        return "firstDiffers"
    if first in ("initial", "firstTypo"):
        return first if last != "typo" else "differs"
    if last == "typo":
        return "lastTypo"
    return "exact" if last == first == "same" else "close"


def _last_name(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    if not a or not b:
        return "missing"
    key_a, key_b = "".join(a), "".join(b)  # 'van den broeck' and 'vandenbroeck' agree
    if key_a == key_b:
        return "same"
    if _typo(key_a, key_b) or _part_of(a, b) or _undoubled(key_a) == _undoubled(key_b):
        return "close"  # one slip of the keyboard, or one of a double name
    shortest = min(len(key_a), len(key_b))
    allowed = 2 if shortest >= 7 else 1 if shortest >= 3 else 0
    if OSA.distance(key_a, key_b, score_cutoff=allowed) <= allowed:
        return "typo"  # 'moens'/'moes', but also 'maes'/'maas': a slip, or another family
    return "differs"


def _first_name(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    if not a or not b:
        return "missing"
    if all(len(w) == 1 for w in a) or all(len(w) == 1 for w in b):
        initials_a, initials_b = "".join(w[0] for w in a), "".join(w[0] for w in b)
        short, long_ = sorted((initials_a, initials_b), key=len)
        return "initial" if long_.startswith(short) else "differs"
    key_a, key_b = "".join(a), "".join(b)
    if key_a == key_b:
        return "same"
    if _typo(key_a, key_b) or _undoubled(key_a) == _undoubled(key_b) or a[0] == b[0]:
        return "close"  # 'katrien'/'katrijn'; 'lotte'/'lote'; 'jan pieter'/'jan'
    if min(len(key_a), len(key_b)) >= 3 and OSA.distance(key_a, key_b, score_cutoff=1) <= 1:
        return "firstTypo"  # 'ilse'/'iles', but also 'tim'/'tom': two colleagues, or a slip
    return "differs"


def _undoubled(word: str) -> str:
    """A doubled letter typed once, or a letter typed twice, is the commonest slip."""
    return "".join(c for i, c in enumerate(word) if i == 0 or c != word[i - 1])


def _typo(a: str, b: str) -> bool:
    """At most one edit (two for long words): a typo, not another name (``maes``/``maas``)."""
    shortest = min(len(a), len(b))
    allowed = 2 if shortest >= 10 else 1 if shortest >= 5 else 0
    return OSA.distance(a, b, score_cutoff=allowed) <= allowed


def _part_of(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One name is a word of the other, a double name (``peeters janssens``/``peeters``)."""
    short, long_ = sorted((a, b), key=len)
    return len(long_) > len(short) and all(w in long_ for w in short) and len("".join(short)) >= 4


def _organisation_name(a: Profile, b: Profile, weights: Weights) -> str:
    if not a.names or not b.names:
        return "missing"
    best = max(_name_similarity(x, y, weights) for x in a.names for y in b.names)
    for level, cutoff in (("exact", "organisationExact"), ("close", "organisationClose"),
                          ("weak", "organisationWeak")):
        if best >= weights.similarity[cutoff]:
            return level
    return "differs"


def _name_similarity(a: tuple[str, ...], b: tuple[str, ...], weights: Weights) -> float:
    """Word order does not matter; one name inside the other counts as close, unless all
    they share are words like 'apotheek' or 'praktijk'. When both names have distinctive
    words, those must agree too: 'Wijkgezondheidscentrum Botermarkt' is not 'De Sleep', and
    'Dienstencentrum Ter Linde' is not 'Woonzorgcentrum Ter Linde'."""
    text_a, text_b = " ".join(a), " ".join(b)
    similarity = fuzz.token_sort_ratio(text_a, text_b) / 100
    distinct_a = [w for w in a if not is_generic(w)]
    distinct_b = [w for w in b if not is_generic(w)]
    if set(distinct_a) & set(distinct_b):
        subset = fuzz.token_set_ratio(text_a, text_b) / 100
        similarity = max(similarity, min(subset, weights.similarity["subsetCredit"]))
    if distinct_a and distinct_b:
        own = fuzz.token_sort_ratio(" ".join(distinct_a), " ".join(distinct_b)) / 100
        similarity = min(similarity, own)
    return similarity


# -- the other features -------------------------------------------------------------------

def _codes(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    if not a or not b:
        return "missing"
    if set(a) & set(b):
        return "same"
    if {family(c) for c in a} & {family(c) for c in b}:
        return "related"
    return "differs"


def _where(place: Place) -> str:
    return place.nis or (f"pc{place.postcode}" if place.postcode else "")


def _place(a: tuple[Place, ...], b: tuple[Place, ...]) -> str:
    where_a, where_b = {_where(p) for p in a} - {""}, {_where(p) for p in b} - {""}
    if not where_a or not where_b:
        return "missing"
    return "same" if where_a & where_b else "differs"


def _address(a: tuple[Place, ...], b: tuple[Place, ...], weights: Weights) -> str:
    """Street and number, compared only within the same municipality (the place says the rest)."""
    found = [_street(x, y, weights) for x in a for y in b
             if _where(x) and _where(x) == _where(y)]
    order = ("same", "near", "sameStreet", "differs", "missing")
    return min(found, key=order.index) if found else "missing"


def _street(a: Place, b: Place, weights: Weights) -> str:
    """``same`` street and number, ``near`` (a few doors apart), ``sameStreet`` or ``differs``."""
    if not a.street or not b.street:
        return "missing"
    close = a.street == b.street or (
        fuzz.ratio(a.street, b.street) / 100 >= weights.similarity["streetClose"])
    if not close:
        return "differs"
    if a.number and a.number == b.number:
        return "same"
    doors = _number_distance(a.number, b.number)
    return "near" if doors is not None and doors <= weights.similarity["nearDoors"] else (
        "sameStreet")


def _number_distance(a: str, b: str) -> int | None:
    """How many numbers apart two house numbers are (``12`` and ``12A`` are 0 apart)."""
    digits_a, digits_b = a.rstrip(string.ascii_lowercase), b.rstrip(string.ascii_lowercase)
    if not digits_a.isdigit() or not digits_b.isdigit():
        return None
    return abs(int(digits_a) - int(digits_b))


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    if not a or not b:
        return "missing"
    return "same" if set(a) & set(b) else "differs"
