"""Blocking keys: which fiches are worth scoring against a record at all. Pure.

Scoring a record against 60,000 fiches is wasteful; scoring it against the fiches that share
at least one key with it is fast (an index lookup) and loses almost no true pair, because a
true pair shares several keys at once. The keys, all prefixed by the kind of fiche:

- ``g``: municipality (NIS code, else postcode) + profession family or organisation type;
- ``t``: municipality + one distinctive word of the name (catches a missing profession);
- ``n``: the whole name, in any order, anywhere (catches a practice that moved);
- ``p``, ``e``, ``k``: a phone number, an e-mail address, an enterprise number.

A fiche's keys are stored once per automated source that may still send a record of it
(:func:`stored_keys`): a fiche holding a CoBRHA record is never a candidate for another CoBRHA
record, so the records of that source do not even meet it in the index (:func:`lookup_keys`).
Without this, a key as broad as "nurses in Antwerp" would lead every new CoBRHA nurse there to
thousands of fiches only to exclude them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.matching.normalise import is_generic
from sync.matching.profile import Profile

__all__ = ["FAMILIES", "MATCHED_FROM", "blocking_keys", "family", "lookup_keys", "stored_keys"]

#: Professions that an editor and a source name differently for the same person.
FAMILIES = {
    "GENERAL_PRACTITIONER": "PHYSICIAN",
    "CLINICAL_PSYCHOLOGIST": "PSYCHOLOGIST",
    "CLINICAL_ORTHOPEDAGOGIST": "PSYCHOLOGIST",
}


#: The automated sources whose records of a kind are matched (SOURCES.md): CoBRHA sends
#: professionals and organisations, the associations their members, the KBO enterprises.
MATCHED_FROM: dict[str, tuple[str, ...]] = {
    "person": ("cobrha", "association"),
    "organisation": ("cobrha", "kbo"),
}


def stored_keys(keys: frozenset[str], kind: str, held: Iterable[str]) -> frozenset[str]:
    """The index rows of a fiche of ``kind`` with ``keys`` that holds records of the sources
    ``held``: each key once per source that may still send it a record."""
    sources = [s for s in MATCHED_FROM.get(kind, ()) if s not in set(held)]
    return frozenset(f"{source}|{key}" for source in sources for key in keys)


def lookup_keys(keys: frozenset[str], source: str) -> frozenset[str]:
    """The index rows a record of ``source`` with ``keys`` looks up."""
    return frozenset(f"{source}|{key}" for key in keys)


def family(code: str) -> str:
    """The family of a profession code (``GENERAL_PRACTITIONER`` is a ``PHYSICIAN``)."""
    return FAMILIES.get(code, code)


def blocking_keys(profile: Profile) -> frozenset[str]:
    """Every key of ``profile``; two profiles are compared when they share one."""
    kind = profile.kind[0]
    places = {p.nis or f"pc{p.postcode}" for p in profile.places if p.nis or p.postcode}
    keys = {f"{kind}|g|{place}|{family(code)}" for place in places
            for code in profile.professions}
    keys |= {f"{kind}|t|{place}|{word}" for place in places for word in _distinctive(profile)}
    keys |= {f"{kind}|n|{name}" for name in _whole_names(profile)}
    keys |= {f"{kind}|p|{number}" for number in profile.phones}
    keys |= {f"{kind}|e|{address}" for address in profile.emails}
    keys |= {f"{kind}|k|{number}" for number in profile.kbo}
    return frozenset(keys)


def _distinctive(profile: Profile) -> set[str]:
    words = {*profile.first, *profile.last} if profile.kind == "person" else {
        w for name in profile.names for w in name}
    return {w for w in words if len(w) >= 3 and not is_generic(w)}


def _whole_names(profile: Profile) -> set[str]:
    if profile.kind == "person":
        words = [*profile.first, *profile.last]
        return {" ".join(sorted(words))} if len(words) >= 2 else set()
    return {" ".join(sorted(name)) for name in profile.names if len(name) >= 2}
