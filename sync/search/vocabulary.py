"""The words people search with: profession synonyms and kinds of organisation. Pure.

Synonyms are generated from the profession table (:mod:`sync.professions`): each profession's
Dutch and French names, plus the everyday words people type for it, and professions that a
searcher does not tell apart (a psychologist and a clinical psychologist) share one group.
Every group is an equivalence rule, so it works both ways: "kinesist" finds a fiche that says
"kinesitherapeut", and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sync.professions import profession

__all__ = ["CATEGORY_WEIGHTS", "GROUPS", "category", "organisation_labels", "synonym_rules"]

#: Profession codes searched as one, and the everyday words for them (lower case, Dutch first).
GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("PSYCHOLOGIST", "CLINICAL_PSYCHOLOGIST"),
     ("psychotherapeut", "psychotherapie", "therapeut", "psy")),
    (("NURSE",),
     ("thuisverpleegkundige", "verpleegkundige thuiszorg", "thuisverpleging",
      "wijkverpleegkundige", "zelfstandig verpleegkundige", "verpleger", "infirmière",
      "soins infirmiers à domicile")),
    (("PHYSIOTHERAPIST",), ("kinesist", "kine", "fysiotherapeut", "kinesitherapie", "kiné")),
    (("SPEECH_THERAPIST",), ("logopediste", "logopedie", "spraaktherapeut")),
    (("GENERAL_PRACTITIONER",), ("dokter", "huisartsenpraktijk", "generalist")),
    (("DENTIST",), ("tandheelkundige", "tandartspraktijk")),
    (("PHARMACIST",), ("apotheek", "pharmacie")),
    (("MIDWIFE",), ("vroedkundige", "verloskundige")),
    (("DIETICIAN",), ("dietist", "voedingsdeskundige", "diëtiste")),
    (("OCCUPATIONAL_THERAPIST",), ("ergotherapie",)),
    (("PODIATRIST",), ("podologie",)),
    (("CLINICAL_ORTHOPEDAGOGIST",), ("orthopedagoog",)),
    (("SOCIAL_WORKER",), ("sociaal werker", "maatschappelijk assistent")),
    (("TOBACCO_SPECIALIST",), ("rookstopbegeleider", "tabacoloog")),
)

#: CD-HCPARTY organisation codes -> (category, Dutch label a searcher would type).
_ORGANISATIONS: Mapping[str, tuple[str, str]] = {
    "orghospital": ("hospital", "ziekenhuis"),
    "orgpolyclinic": ("centre", "polikliniek"),
    "orgprimaryhealthcarecenter": ("centre", "wijkgezondheidscentrum"),
    "orgpractice": ("practice", "groepspraktijk"),
    "orgpharmacy": ("practice", "apotheek"),
    "orglaboratory": ("centre", "laboratorium"),
    "orgretirementhome": ("residential", "woonzorgcentrum"),
    "orgpsychiatriccarehome": ("residential", "psychiatrisch verzorgingstehuis"),
    "orgshelteredliving": ("residential", "beschut wonen"),
    "orgrevalidationcenter": ("centre", "revalidatiecentrum"),
    "orgprevention": ("centre", "preventie"),
}

#: How much a kind of provider weighs in the ranking. Who searches for a profession looks for
#: someone to go to: a provider or a small practice or service before a big institution that
#: merely employs that profession. Applied as a factor on the text score, never as a filter.
CATEGORY_WEIGHTS: Mapping[str, float] = {
    "individual": 1.6, "practice": 1.4, "service": 1.3, "centre": 1.0,
    "residential": 0.8, "hospital": 0.6,
}


#: Words in an organisation's name that tell its kind when it has no CD-HCPARTY type.
_NAME_HINTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("hospital", frozenset({"ziekenhuis", "az", "uz", "hôpital", "kliniek", "clinique"})),
    ("residential", frozenset({"woonzorgcentrum", "wzc", "rusthuis"})),
    ("centre", frozenset({"centrum", "centre", "cgg", "ssm"})),
    ("practice", frozenset({"praktijk", "groepspraktijk", "cabinet"})),
)


def synonym_rules() -> list[str]:
    """Solr-style equivalence lines (``a, b, c``) for the ``synonym_graph`` filter."""
    rules = []
    for codes, extra in GROUPS:
        words: list[str] = []
        for code in codes:
            known = profession(code)
            if known is None:
                raise ValueError(f"synonym group names unknown profession {code}")
            words += [known.nl.lower(), known.fr.lower()]
        rules.append(", ".join(dict.fromkeys([*words, *extra])))
    return rules


def organisation_labels(codes: Iterable[str]) -> list[str]:
    """The Dutch labels of CD-HCPARTY organisation codes (unknown codes are left out)."""
    return [_ORGANISATIONS[code][1] for code in codes if code in _ORGANISATIONS]


def category(kind: str, organisation_types: Iterable[str], name: str = "") -> str:
    """``individual`` for a person; for an organisation its largest kind by its CD-HCPARTY
    types, else by what its name says (KBO gives no types), else ``service``."""
    if kind == "person":
        return "individual"
    found = {_ORGANISATIONS[code][0] for code in organisation_types if code in _ORGANISATIONS}
    for size in ("hospital", "residential", "centre", "practice"):
        if size in found:
            return size
    words = set(re.findall(r"\w+", name.casefold()))
    for size, hints in _NAME_HINTS:
        if words & hints:
            return size
    return "service"
