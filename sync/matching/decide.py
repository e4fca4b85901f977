"""From scores to a decision: link automatically, ask an editor, or create a new fiche. Pure.

A wrong merge is worse than a duplicate, so an automatic link needs three things: a score at
or above the auto threshold, a name that agrees at least closely, or an initial or a slip in a
short name backed by the same e-mail address (an address and a practice phone are shared by
colleagues; a name and an e-mail address are not), and no second fiche that could also be the
one (a second candidate at or above the review threshold and within ``ambiguityMargin``
points of the best sends both to review). Everything else that reaches the review threshold
goes to an editor with its candidates; the rest becomes a new fiche.

Ties are broken by fiche id, so the same record against the same fiches always gives the same
decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sync.matching.profile import Profile
from sync.matching.score import Score, Weights, score

__all__ = ["Scored", "Verdict", "decide", "rank"]


@dataclass(frozen=True)
class Scored:
    """One candidate fiche and its score against the record."""

    fiche_id: uuid.UUID
    score: Score
    display: str = ""

    @property
    def total(self) -> float:
        return self.score.total


@dataclass(frozen=True)
class Verdict:
    """``link`` to ``candidates[0]``; ``review`` the ``candidates``; or ``new``."""

    outcome: Literal["link", "review", "new"]
    candidates: tuple[Scored, ...] = ()

    @property
    def best(self) -> Scored | None:
        return self.candidates[0] if self.candidates else None


def rank(
    record: Profile, candidates: Iterable[tuple[uuid.UUID, Profile]], weights: Weights,
) -> list[Scored]:
    """Every candidate scored, best first (ties by fiche id)."""
    scored = [Scored(fiche_id, score(record, profile, weights), profile.display)
              for fiche_id, profile in candidates if profile.kind == record.kind]
    return sorted(scored, key=lambda s: (-s.total, s.fiche_id))


def decide(ranked: list[Scored], weights: Weights) -> Verdict:
    """The decision for candidates ranked by :func:`rank`."""
    reviewable = [s for s in ranked if s.total >= weights.review]
    if not reviewable:
        return Verdict("new")
    best = reviewable[0]
    rivals = [s for s in reviewable[1:] if best.total - s.total < weights.ambiguity_margin]
    if best.total >= weights.auto and not rivals and weights.may_link(best.score):
        return Verdict("link", (best,))
    return Verdict("review", tuple(reviewable[:weights.max_review_candidates]))
