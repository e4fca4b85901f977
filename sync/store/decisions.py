"""Editors' decisions on matches and splits, carried out inside the apply transaction.

They come back as updates (``UpdateAction.MATCH`` / ``SPLIT``) and go through the applier's
own write path (:class:`Placer`), so every guarantee of an ordinary update holds for them too;
the :class:`~sync.store.linking.Linker` of the transaction supplies the matching rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import structlog

from sync.emitted import fiche_unlinked
from sync.errors import PermanentError
from sync.events import FicheUnlinkedData, FicheUpdate, UpdateAction, derived_id
from sync.merge import FicheState, new_state
from sync.store.fiches import FicheRepository
from sync.store.linking import Linker
from sync.store.results import ApplyResult, Link

__all__ = ["Placer", "decide"]

log = structlog.get_logger(__name__)


class Placer(Protocol):
    """What a decision needs of the applier: its write path."""

    async def place(self, repo: FicheRepository, update: FicheUpdate,
                    linker: Linker) -> ApplyResult: ...

    async def write(self, repo: FicheRepository, state: FicheState, update: FicheUpdate,
                    linker: Linker, link: Link | None = None) -> ApplyResult: ...


async def decide(
    applier: Placer, repo: FicheRepository, linker: Linker, update: FicheUpdate,
) -> ApplyResult:
    """Carry out a match decision or a split (``UpdateAction.MATCH`` / ``SPLIT``)."""
    if update.action is UpdateAction.SPLIT:
        return await _split(applier, repo, linker, update)
    return await _match_decision(applier, repo, linker, update)


async def _match_decision(
    applier: Placer, repo: FicheRepository, linker: Linker, update: FicheUpdate,
) -> ApplyResult:
    decision = update.match_decision
    if decision is None:
        raise PermanentError("schema-invalid", "a match decision names no match")
    row = await linker.store.candidate(decision.match_id, lock=True)
    if row is None:
        raise PermanentError("unknown-match", f"no match candidate {decision.match_id}")
    if row.status != "pending":
        return ApplyResult(update, "unchanged", row.fiche_id,
                           reason=f"match candidate is {row.status}, not pending")
    record, now = row.pending_update, linker.clock()
    if decision.decision == "reject":
        await linker.store.set_status(row.id, "rejected", decision.editor, now)
        await linker.store.reject(row.source, row.record_id, row.fiche_id, decision.editor, now)
        if await linker.store.pending_of(row.source, row.record_id):
            return ApplyResult(update, "pending-review",
                               reason="rejected; other candidates still wait")
        # As if it had just arrived; the decision's own inbox row keeps what became of it.
        placed = await applier.place(repo, record, linker)
        return replace(placed, update=update)
    state = await repo.load(row.fiche_id)
    if state is None:
        raise PermanentError("unknown-fiche", f"no fiche {row.fiche_id}")
    id_types = [i.type for i in record.identifiers]
    if not await linker.store.still_free(row.fiche_id, record.source, id_types):
        return ApplyResult(update, "refused", row.fiche_id, reason=(
            f"fiche already holds another {record.source.value} record; reject instead"))
    await linker.store.set_status(row.id, "accepted", decision.editor, now)
    link = Link(row.fiche_id, row.score, row.id, decision.editor, update.origin)
    linked = await applier.write(repo, state, record, linker, link)
    return replace(linked, update=update)


async def _split(
    applier: Placer, repo: FicheRepository, linker: Linker, update: FicheUpdate,
) -> ApplyResult:
    """The record leaves the fiche for a new one, taking its values (from provenance) and
    the identifiers it brought; the fiche falls back on what remains. The pair is rejected
    so that matching never proposes it again."""
    split, fiche_id = update.split, update.fiche_id
    if split is None or fiche_id is None:
        raise PermanentError("schema-invalid", "a split names a fiche and a record")
    state = await repo.load(fiche_id)
    if state is None:
        raise PermanentError("unknown-fiche", f"no fiche {fiche_id}")
    version = state.records.get((split.source, split.record_id))
    link = await linker.store.link_of(fiche_id, split.source, split.record_id)
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
    repo.create(new_id, state.kind)  # its row is inserted when the identifiers move to it
    await repo.move_identifiers(fiche_id, new_id, moving)
    withdraw = FicheUpdate(
        update_id=derived_id("split-withdraw", str(update.update_id)), origin=update.origin,
        source=split.source, record_id=split.record_id, source_version=version + 1,
        observed_at=observed, kind=state.kind, action=UpdateAction.WITHDRAW,
        fiche_id=fiche_id)
    old = await applier.write(repo, state, withdraw, linker)
    await repo.forget_record(fiche_id, split.source, split.record_id)
    left = await repo.load(fiche_id)
    if left is not None:  # without the record, records of its source may meet it again
        await linker.store.refresh(
            fiche_id, left.kind, left.visible, await repo.identifiers(fiche_id),
            {s for s, r in left.records if (s, r) != (split.source, split.record_id)},
            linker.clock())
    restore = FicheUpdate(
        update_id=derived_id("split-restore", str(update.update_id)), origin=update.origin,
        source=split.source, record_id=split.record_id, source_version=version,
        observed_at=observed, kind=state.kind, fiche_id=new_id, identifiers=tuple(moving),
        fields={p.field: p.value for p in sorted(entries, key=lambda p: p.field)},
        as_given={p.field: p.as_given for p in entries if p.as_given is not None})
    await applier.write(repo, new_state(new_id, state.kind), restore, linker)
    now = linker.clock()
    await linker.store.mark_split(link, new_id, split.editor, now)
    await linker.store.reject(split.source, split.record_id, fiche_id, split.editor, now)
    after = old.version if old.version is not None else state.version
    unlinked = FicheUnlinkedData(
        fiche_id=fiche_id, version=after, new_fiche_id=new_id, source=split.source,
        record_id=split.record_id, identifiers=tuple(moving), editor=split.editor,
        cause=update.origin)
    await repo.enqueue([fiche_unlinked(unlinked, now)], linker.topics)
    log.info("link split", source=split.source.value, record_id=split.record_id,
             fiche_id=str(fiche_id), new_fiche_id=str(new_id), editor=split.editor)
    return ApplyResult(update, "applied", fiche_id, after, old.event_type,
                       reason=f"split into fiche {new_id}")
