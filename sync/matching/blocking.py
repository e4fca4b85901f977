"""Blocking keys: which fiches are worth scoring against a record at all. Pure.

Scoring a record against 60,000 fiches is wasteful; scoring it against the fiches that share
at least one key with it is fast (an index lookup) and loses almost no true pair, because a
true pair shares several keys at once. The keys, all prefixed by the kind of fiche:

- ``g``: municipality (NIS code, else postcode) + profession family or organisation type;
- ``t``: municipality + one distinctive word of the name (catches a missing profession);
- ``n``: the whole name, in any order, anywhere (catches a practice that moved);
- ``p``, ``e``, ``k``: a phone number, an e-mail address, an enterprise number.
"""

from __future__ import annotations

from sync.matching.normalise import is_generic
from sync.matching.profile import Profile

__all__ = ["FAMILIES", "blocking_keys", "family"]

#: Professions that an editor and a source name differently for the same person.
FAMILIES = {
    "GENERAL_PRACTITIONER": "PHYSICIAN",
    "CLINICAL_PSYCHOLOGIST": "PSYCHOLOGIST",
    "CLINICAL_ORTHOPEDAGOGIST": "PSYCHOLOGIST",
}


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
