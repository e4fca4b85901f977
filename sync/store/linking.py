"""Matching inside the apply transaction: link a record to a fiche, or hold it for review.

The :class:`~sync.store.apply.Applier` asks a :class:`Linker` who a record is when its
identifiers name no fiche; the linker scores the fiches that share a blocking key with it
(:mod:`sync.matching`) and answers with a :class:`Link` (apply the record to that fiche), a
:class:`Held` (keep the update waiting for an editor, make no fiche) or ``None`` (a new fiche,
as before). The linker never calls the applier: editors' decisions and splits, which need
its write path, are orchestrated by the applier (:mod:`sync.store.decisions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import structlog

from sync.emitted import Emitted, fiche_linked, match_review_needed
from sync.events import FicheUpdate, Identifier, Source
from sync.matching import Verdict, Weights, decide, rank
from sync.merge import Decision
from sync.store.fiches import FicheRepository
from sync.store.matching import MatchStore, record_display
from sync.store.results import ApplyResult, Held, Link

__all__ = ["Linker"]

log = structlog.get_logger(__name__)


class Linker:
    """Matching decisions for one unit of work."""

    def __init__(
        self, store: MatchStore, weights: Weights, topics: dict[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self._weights = weights
        self.topics = topics
        self.clock = clock
        self._links: dict[uuid.UUID, Link] = {}

    # -- a record whose identifiers found no fiche -----------------------------------------

    async def identify(self, update: FicheUpdate) -> uuid.UUID | Held | None:
        """The fiche a record probably is (locked), a review to hold, or None (new)."""
        waiting = await self.store.pending_of(update.source, update.record_id)
        newest = max((row.source_version for row in waiting), default=None)
        if newest is not None and newest >= update.source_version:
            # This version (a redelivery) or a newer one already waits: nothing to do.
            return Held(Verdict("review"), stale=True,
                        duplicate=newest == update.source_version)
        record = self.store.record_profile(update)
        id_types = [i.type for i in update.identifiers]
        found = await self.store.candidates(record, update.source, update.record_id, id_types,
                                            self._weights.max_candidates)
        ranked = rank(record, found, self._weights)
        while True:
            verdict = decide(ranked, self._weights)
            if verdict.outcome == "new":
                return None
            if verdict.outcome == "review":
                return Held(verdict)
            best = ranked[0]
            if await self.store.still_free(best.fiche_id, update.source, id_types):
                self._links[update.update_id] = Link(best.fiche_id, best.total, None, "auto",
                                                     update.origin)
                return best.fiche_id
            ranked = ranked[1:]  # another record of this source took it a moment ago

    def link_for(self, update: FicheUpdate) -> Link | None:
        """The link :meth:`identify` decided for ``update``, if it did."""
        return self._links.pop(update.update_id, None)

    async def hold(self, repo: FicheRepository, update: FicheUpdate, held: Held) -> ApplyResult:
        """Keep ``update`` waiting with its candidates; tell editors when a pair is new."""
        if held.duplicate:
            return ApplyResult(update, "duplicate", reason="this version waits for review")
        if held.stale:
            return ApplyResult(update, "stale", reason="a newer version waits for review")
        now = self.clock()
        rows = await self.store.hold(update, held.verdict.candidates, now)
        await self.store.supersede(update.source, update.record_id, now,
                                   keep=[match_id for match_id, _ in rows])
        if any(new for _, new in rows):
            listed = [{"matchId": str(match_id), "ficheId": str(s.fiche_id), "score": s.total}
                      for (match_id, _), s in zip(rows, held.verdict.candidates, strict=True)]
            display = record_display(update)
            await repo.enqueue([match_review_needed(update, listed, display, now)], self.topics)
        best = held.verdict.candidates[0]
        log.info("record held for review", source=update.source.value,
                 record_id=update.record_id, candidates=len(rows), best_score=best.total,
                 fiche_id=str(best.fiche_id))
        return ApplyResult(update, "pending-review", reason=(
            f"{len(rows)} candidate(s) for review, best {best.total:g} ({best.score.explain()})"))

    # -- after any write -------------------------------------------------------------------

    async def after_write(
        self, decision: Decision, update: FicheUpdate, identifiers: list[Identifier],
        link: Link | None, now: datetime,
    ) -> list[Emitted]:
        """Keep the fiche's profile current, close what the record no longer waits for, and
        announce a link."""
        state = decision.state
        self.store.written(state.fiche_id)
        if decision.event_type is not None or link is not None:
            await self.store.refresh(state.fiche_id, state.kind, state.visible, identifiers,
                                     {source for source, _ in state.records}, now)
        if update.source is not Source.MANUAL:
            await self.store.supersede(update.source, update.record_id, now)
        if link is None:
            return []
        await self.store.record_link(state.fiche_id, update, score=link.score,
                                     match_id=link.match_id, linked_by=link.decided_by, now=now)
        log.info("record linked", source=update.source.value, record_id=update.record_id,
                 fiche_id=str(state.fiche_id), score=link.score, decided_by=link.decided_by)
        return [fiche_linked(update, state.fiche_id, state.version, identifiers,
                             score=link.score, match_id=link.match_id,
                             decided_by=link.decided_by, cause=link.cause, now=now)]
