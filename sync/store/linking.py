"""Matching inside the apply transaction: link, hold for review, decide, split.

The :class:`~sync.store.apply.Applier` asks a :class:`Linker` who a record is when its
identifiers name no fiche; the linker scores the fiches that share a blocking key with it
(:mod:`sync.matching`) and answers with a :class:`Link` (apply the record to that fiche), a
:class:`Held` (keep the update waiting for an editor, make no fiche) or ``None`` (a new fiche,
as before). Editors' decisions and splits come back as updates and are carried out here, with
the applier's own write path, so every guarantee of an ordinary update holds for them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from sync.emitted import Emitted, fiche_linked, fiche_unlinked, match_review_needed
from sync.errors import PermanentError
from sync.events import (
    EventOrigin,
    FicheUnlinkedData,
    FicheUpdate,
    Identifier,
    Source,
    UpdateAction,
    derived_id,
)
from sync.matching import Verdict, Weights, decide, rank
from sync.merge import Decision, FicheState, new_state
from sync.store.fiches import Conn, FicheRepository
from sync.store.matching import MatchStore, record_display

if TYPE_CHECKING:
    from sync.store.apply import ApplyResult

__all__ = ["Held", "Link", "Linker"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Link:
    """Apply the record to ``fiche_id``: matching (``auto``) or an editor decided so."""

    fiche_id: uuid.UUID
    score: float | None
    match_id: uuid.UUID | None
    decided_by: str
    cause: EventOrigin


@dataclass(frozen=True)
class Held:
    """Keep the update waiting for an editor (``stale``: a newer version already waits)."""

    verdict: Verdict
    stale: bool = False


class Placer(Protocol):
    """What the linker needs of the applier: its write path."""

    async def place(self, repo: FicheRepository, update: FicheUpdate,
                    linker: Linker) -> ApplyResult: ...

    async def write(self, repo: FicheRepository, state: FicheState, update: FicheUpdate,
                    linker: Linker, link: Link | None = None) -> ApplyResult: ...


class Linker:
    """Matching decisions for one unit of work."""

    def __init__(
        self, conn: Conn, weights: Weights, topics: dict[str, str],
        clock: Callable[[], datetime], store: MatchStore | None = None,
    ) -> None:
        self.store = store or MatchStore(conn)
        self._weights = weights
        self._topics = topics
        self._clock = clock
        self._links: dict[uuid.UUID, Link] = {}

    # -- a record whose identifiers found no fiche -----------------------------------------

    async def identify(self, update: FicheUpdate) -> uuid.UUID | Held | None:
        """The fiche a record probably is (locked), a review to hold, or None (new)."""
        waiting = await self.store.pending_of(update.source, update.record_id)
        if waiting and max(row.source_version for row in waiting) >= update.source_version:
            return Held(Verdict("review"), stale=True)
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
        from sync.store.apply import ApplyResult

        if held.stale:
            return ApplyResult(update, "stale", reason="an equal or newer version waits for review")
        now = self._clock()
        rows = await self.store.hold(update, held.verdict.candidates, now)
        await self.store.supersede(update.source, update.record_id, now,
                                   keep=[match_id for match_id, _ in rows])
        if any(new for _, new in rows):
            listed = [{"matchId": str(match_id), "ficheId": str(s.fiche_id), "score": s.total}
                      for (match_id, _), s in zip(rows, held.verdict.candidates, strict=True)]
            display = record_display(update)
            await repo.enqueue([match_review_needed(update, listed, display, now)], self._topics)
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

    # -- editors' decisions and splits -----------------------------------------------------

    async def decide(
        self, repo: FicheRepository, update: FicheUpdate, applier: Placer,
    ) -> ApplyResult:
        """Carry out a match decision or a split (``UpdateAction.MATCH`` / ``SPLIT``)."""
        if update.action is UpdateAction.SPLIT:
            return await self._split(repo, update, applier)
        return await self._match_decision(repo, update, applier)

    async def _match_decision(
        self, repo: FicheRepository, update: FicheUpdate, applier: Placer,
    ) -> ApplyResult:
        from sync.store.apply import ApplyResult

        decision = update.match_decision
        if decision is None:
            raise PermanentError("schema-invalid", "a match decision names no match")
        row = await self.store.candidate(decision.match_id, lock=True)
        if row is None:
            raise PermanentError("unknown-match", f"no match candidate {decision.match_id}")
        if row.status != "pending":
            return ApplyResult(update, "unchanged", row.fiche_id,
                               reason=f"match candidate is {row.status}, not pending")
        record, now = row.pending_update, self._clock()
        if decision.decision == "reject":
            await self.store.set_status(row.id, "rejected", decision.editor, now)
            await self.store.reject(row.source, row.record_id, row.fiche_id, decision.editor, now)
            if await self.store.pending_of(row.source, row.record_id):
                return ApplyResult(update, "pending-review",
                                   reason="rejected; other candidates still wait")
            placed = await applier.place(repo, record, self)  # as if it had just arrived
            await self.store.set_inbox_outcome(record, placed.outcome)
            return replace(placed, update=update)
        state = await repo.load(row.fiche_id)
        if state is None:
            raise PermanentError("unknown-fiche", f"no fiche {row.fiche_id}")
        id_types = [i.type for i in record.identifiers]
        if not await self.store.still_free(row.fiche_id, record.source, id_types):
            return ApplyResult(update, "refused", row.fiche_id, reason=(
                f"fiche already holds another {record.source.value} record; reject instead"))
        await self.store.set_status(row.id, "accepted", decision.editor, now)
        link = Link(row.fiche_id, row.score, row.id, decision.editor, update.origin)
        linked = await applier.write(repo, state, record, self, link)
        await self.store.set_inbox_outcome(record, linked.outcome)
        return replace(linked, update=update)

    async def _split(
        self, repo: FicheRepository, update: FicheUpdate, applier: Placer,
    ) -> ApplyResult:
        """The record leaves the fiche for a new one, taking its values (from provenance) and
        the identifiers it brought; the fiche falls back on what remains. The pair is rejected
        so that matching never proposes it again."""
        from sync.store.apply import ApplyResult

        split, fiche_id = update.split, update.fiche_id
        if split is None or fiche_id is None:
            raise PermanentError("schema-invalid", "a split names a fiche and a record")
        state = await repo.load(fiche_id)
        if state is None:
            raise PermanentError("unknown-fiche", f"no fiche {fiche_id}")
        version = state.records.get((split.source, split.record_id))
        link = await self.store.link_of(fiche_id, split.source, split.record_id)
        if version is None or link is None:
            return ApplyResult(update, "refused", fiche_id, reason=(
                f"{split.source.value} record {split.record_id} was not linked to this fiche "
                "by matching"))
        entries = [p for p in state.provenance.values()
                   if (p.source, p.record_id) == (split.source, split.record_id)]
        observed = max((p.observed_at for p in entries), default=update.observed_at)
        brought = {i.type for i in link.identifiers}
        moving = [i for i in await repo.identifiers(fiche_id) if i.type in brought]
        new_id = derived_id("fiche", "split", str(update.update_id))
        await repo.create(new_id, state.kind)
        await repo.load(new_id)  # takes the row lock on the new fiche
        await self.store.move_identifiers(fiche_id, new_id, moving)
        withdraw = FicheUpdate(
            update_id=derived_id("split-withdraw", str(update.update_id)), origin=update.origin,
            source=split.source, record_id=split.record_id, source_version=version + 1,
            observed_at=observed, kind=state.kind, action=UpdateAction.WITHDRAW,
            fiche_id=fiche_id)
        old = await applier.write(repo, state, withdraw, self)
        await self.store.forget_record(fiche_id, split.source, split.record_id)
        left = await repo.load(fiche_id)
        if left is not None:  # without the record, records of its source may meet it again
            await self.store.refresh(
                fiche_id, left.kind, left.visible, await repo.identifiers(fiche_id),
                {s for s, r in left.records if (s, r) != (split.source, split.record_id)},
                self._clock())
        restore = FicheUpdate(
            update_id=derived_id("split-restore", str(update.update_id)), origin=update.origin,
            source=split.source, record_id=split.record_id, source_version=version,
            observed_at=observed, kind=state.kind, fiche_id=new_id, identifiers=tuple(moving),
            fields={p.field: p.value for p in sorted(entries, key=lambda p: p.field)},
            as_given={p.field: p.as_given for p in entries if p.as_given is not None})
        await applier.write(repo, new_state(new_id, state.kind), restore, self)
        now = self._clock()
        await self.store.mark_split(link, new_id, split.editor, now)
        await self.store.reject(split.source, split.record_id, fiche_id, split.editor, now)
        after = old.version if old.version is not None else state.version
        unlinked = FicheUnlinkedData(
            fiche_id=fiche_id, version=after, new_fiche_id=new_id, source=split.source,
            record_id=split.record_id, identifiers=tuple(moving), editor=split.editor,
            cause=update.origin)
        await repo.enqueue([fiche_unlinked(unlinked, now)], self._topics)
        log.info("link split", source=split.source.value, record_id=split.record_id,
                 fiche_id=str(fiche_id), new_fiche_id=str(new_id), editor=split.editor)
        return ApplyResult(update, "applied", fiche_id, after, old.event_type,
                           reason=f"split into fiche {new_id}")
