"""Probable matches between source records and fiches made by hand (docs/matching.md). Pure.

``profile_of`` folds a record or a fiche into comparable features, ``blocking_keys`` says which
fiches are worth comparing, ``rank`` scores them with explainable weights and ``decide`` turns
the scores into a link, a review or a new fiche. The store (:mod:`sync.store.linking`) runs
this inside the apply transaction; ``python -m sync.matching.evaluate`` measures it.
"""

from __future__ import annotations

from sync.events import FicheUpdate, Identifier, UpdateAction
from sync.matching.blocking import MATCHED_FROM, blocking_keys, lookup_keys, stored_keys
from sync.matching.decide import Scored, Verdict, decide, rank
from sync.matching.profile import Place, Profile, profile_of
from sync.matching.score import Part, Score, Weights, default_weights, score
from sync.sources import is_matchable_source

__all__ = [
    "MATCHED_FROM",
    "Part",
    "Place",
    "Profile",
    "Score",
    "Scored",
    "Verdict",
    "Weights",
    "blocking_keys",
    "decide",
    "default_weights",
    "is_matchable",
    "kbo_numbers",
    "lookup_keys",
    "profile_of",
    "profile_of_update",
    "rank",
    "score",
    "stored_keys",
]


def is_matchable(update: FicheUpdate) -> bool:
    """Whether an update whose identifiers found no fiche may be matched by its content:
    a source whose records may be matched (:mod:`sync.sources`) giving values, not an edit, a
    withdrawal or a decision."""
    return (is_matchable_source(update.source) and update.action is UpdateAction.UPSERT
            and update.fiche_id is None and update.resolution is None
            and bool(update.identifiers))


def kbo_numbers(identifiers: tuple[Identifier, ...] | list[Identifier]) -> list[str]:
    """The enterprise numbers among ``identifiers``."""
    return [i.value for i in identifiers if i.type == "CBE"]


def profile_of_update(update: FicheUpdate) -> Profile:
    """The profile of the record an update carries."""
    return profile_of(update.kind.value, update.fields, kbo_numbers(update.identifiers))
