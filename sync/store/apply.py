"""Applying canonical updates: identity, merge, fiche rows, outbox and (for editors' decisions)
the inbox, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from sync.emitted import emitted_events
from sync.errors import PermanentError, TransientError
from sync.events import FicheUpdate, Source, UpdateAction
from sync.matching import Weights, default_weights, is_matchable
from sync.merge import FicheState, merge, new_state
from sync.observability import metrics
from sync.policy import Policy
from sync.store import inbox
from sync.store.decisions import decide
from sync.store.fiches import Conn, FicheRepository
from sync.store.identity import IDENTITY_CONFLICT, check_identity
from sync.store.linking import Linker
from sync.store.match_batch import BatchMatchStore
from sync.store.outbox import MAX_EVENT_BYTES
from sync.store.reads import Reads
from sync.store.results import ApplyResult, Held, Link
from sync.store.uow import UnitOfWork
from sync.store.writes import Writes

__all__ = ["OUTBOX_CHANNEL", "Applier", "ApplyResult"]

#: The relay listens here; a notification is delivered when the apply transaction commits.
OUTBOX_CHANNEL = "sksync_outbox"

#: Editors' decisions on matches and splits write match rows, identifiers and records at once
#: (not buffered): a batch holding one is applied update by update, each a batch of one in a
#: savepoint.
_ONE_BY_ONE = frozenset({UpdateAction.MATCH, UpdateAction.SPLIT})


class _Rejected(Exception):
    """An update of a batched apply was rejected: the batch is applied again one by one."""


#: Outcomes that leave rows in the outbox for the relay.
_NOTIFYING = frozenset({"applied", "pending-review"})
#: Outcomes that leave no inbox row and are not counted as applied: a duplicate was counted
#: when it was first applied; a rejected update leaves no trace (a replay may then apply it).
_NOT_KEPT = frozenset({"duplicate", "rejected"})


class Applier:
    """Applies batches of updates, each batch in one transaction."""

    def __init__(
        self, pool: asyncpg.Pool, policy: Policy, topics: dict[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        weights: Weights | None = None, max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self._pool = pool
        self._max_event_bytes = max_event_bytes  # larger events are written parked
        self._policy = policy
        self._topics = topics
        self._clock = clock
        self._weights = weights or default_weights()

    async def apply(self, updates: Sequence[FicheUpdate]) -> list[ApplyResult]:
        """Apply ``updates`` in order, in one transaction; permanent errors are returned,
        transient ones raised (nothing is then committed).

        The batch is read ahead and written in a few statements per table
        (:class:`FicheRepository`). If one of its updates is rejected, or it holds an editor's
        match decision or split, it is applied update by update instead: each as a batch of
        one, the same way, in a savepoint, so that a rejected one leaves no trace."""
        if not any(update.action in _ONE_BY_ONE for update in updates):
            try:
                return await self._apply_batch(updates)
            except _Rejected:
                pass
        results = await self._apply_one_by_one(updates)
        for result in results:  # counted once the outcome is final (after the commit)
            if result.error is not None and result.error.reason == IDENTITY_CONFLICT:
                metrics.IDENTITY_CONFLICTS.labels(result.update.source.value).inc()
        return results

    @staticmethod
    async def _seen(conn: Conn, updates: Sequence[FicheUpdate]) -> list[ApplyResult | None]:
        """A duplicate's result for each update the inbox says was applied; None for the
        others, to apply."""
        seen = await inbox.seen(conn, updates)
        return [ApplyResult(update, "duplicate") if was else None
                for update, was in zip(updates, seen, strict=True)]

    async def _apply_batch(self, updates: Sequence[FicheUpdate]) -> list[ApplyResult]:
        async with UnitOfWork(self._pool) as uow:
            results = await self._seen(uow.conn, updates)
            fresh = [i for i, result in enumerate(results) if result is None]
            writes = Writes()  # everything the batch still has to write, in one statement
            try:
                done = await self._run(uow.conn, [updates[i] for i in fresh], writes)
            except PermanentError as error:
                raise _Rejected from error
            for i, result in zip(fresh, done, strict=True):
                results[i] = result
            final = self._settle(writes, results)
            await writes.run(uow.conn)
            await uow.commit()
        return final

    async def _apply_one_by_one(self, updates: Sequence[FicheUpdate]) -> list[ApplyResult]:
        async with UnitOfWork(self._pool) as uow:
            conn = uow.conn
            results = await self._seen(conn, updates)
            for i, update in enumerate(updates):
                if results[i] is not None:
                    continue
                try:
                    async with conn.transaction():  # a savepoint: a rejected one leaves no trace
                        writes = Writes()
                        [results[i]] = await self._run(conn, [update], writes)
                        await writes.run(conn)
                except PermanentError as error:
                    results[i] = ApplyResult(update, "rejected", reason=error.reason, error=error)
            writes = Writes()
            final = self._settle(writes, results)
            await writes.run(conn)
            await uow.commit()
        return final

    async def _run(
        self, conn: Conn, updates: list[FicheUpdate], writes: Writes,
    ) -> list[ApplyResult]:
        """Apply fresh ``updates`` as one batch; what they still have to write goes into
        ``writes``."""
        if not updates:
            return []
        repo = FicheRepository(conn, max_event_bytes=self._max_event_bytes)
        linker = await self._read_ahead(repo, updates)
        results = [await self._apply_in(repo, update, linker) for update in updates]
        await repo.flush(writes)
        await linker.store.flush(writes)
        return results

    async def _read_ahead(self, repo: FicheRepository, updates: list[FicheUpdate]) -> Linker:
        """Load and lock the batch's fiches, read what its matching will ask, and give the
        linker of the batch (whose matching writes wait for the flush, like the fiches')."""
        reads = Reads()  # what the locked fiches hold and what matching asks: one statement
        await repo.prefetch(updates, reads)
        store = BatchMatchStore(repo.conn, repo.flush, repo.holdings)
        store.prefetch(updates, repo.unplaced, repo.existing(), repo.absent(),
                       self._weights.max_candidates, reads)
        await reads.run(repo.conn)
        return Linker(store, self._weights, self._topics, self._clock)

    @staticmethod
    def _settle(writes: Writes, results: list[ApplyResult | None]) -> list[ApplyResult]:
        """Write the guarded updates' inbox rows with their outcomes, count what was applied,
        and wake the relay if there is news."""
        final = [result for result in results if result is not None]
        assert len(final) == len(results), "every update has its result"
        kept = [r for r in final if r.outcome not in _NOT_KEPT]
        inbox.record(writes, [(r.update, r.outcome) for r in kept])
        if any(r.event_type or r.linked or r.outcome in _NOTIFYING for r in final):
            writes.add("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
        return final

    async def _apply_in(
        self, repo: FicheRepository, update: FicheUpdate, linker: Linker,
    ) -> ApplyResult:
        if update.action in _ONE_BY_ONE:
            return await decide(self, repo, linker, update)
        return await self.place(repo, update, linker)

    async def place(self, repo: FicheRepository, update: FicheUpdate,
                    linker: Linker) -> ApplyResult:
        """Apply ``update`` to the fiche it is about, or hold it for review."""
        state = await self._state_for(repo, update, linker)
        if isinstance(state, Held):
            return await linker.hold(repo, update, state)
        return await self.write(repo, state, update, linker, linker.link_for(update))

    async def write(
        self, repo: FicheRepository, state: FicheState, update: FicheUpdate, linker: Linker,
        link: Link | None = None,
    ) -> ApplyResult:
        """Merge ``update`` into the (locked) ``state`` and write the decision and its events."""
        decision = merge(state, update, self._policy)
        now = self._clock()
        if decision.outcome == "stale":
            return _not_again(state, update)
        repo.add_identifiers(state.fiche_id, update.identifiers)
        if state.version == 0 and len(await repo.find(update.identifiers)) > 1:
            # Another instance created a fiche for one of these identifiers at the same time
            # and committed first: retrying finds that fiche instead of making a second one.
            raise TransientError("a fiche for these identifiers was created concurrently")
        editor = update.resolution.editor if update.resolution else None
        await repo.save(
            decision, source=update.source, record_id=update.record_id,
            cause=(update.origin.source, update.origin.id), editor=editor, now=now)
        identifiers = await repo.identifiers(state.fiche_id)
        events = emitted_events(decision, update, identifiers, now)
        events += await linker.after_write(decision, update, identifiers, link, now)
        await repo.enqueue(events, self._topics)
        await repo.touch_progress(update.source.value, now, update.origin.time)
        return ApplyResult(
            update, decision.outcome, state.fiche_id, decision.state.version,
            decision.event_type, decision.reason, linked=link is not None)

    async def _state_for(
        self, repo: FicheRepository, update: FicheUpdate, linker: Linker,
    ) -> FicheState | Held:
        """Find (and lock) the fiche the update is about, creating it when it is new."""
        fiche_id = await self._fiche_id(repo, update, linker)
        if isinstance(fiche_id, Held):
            return fiche_id
        state = await repo.load(fiche_id)
        if state is not None:
            # A pin or a resolution names its fiche; merge checks the fields against its kind.
            # A provider's values name their fiche too (fields of another kind are ignored).
            if state.kind is not update.kind and update.action not in (
                    UpdateAction.RESOLVE, UpdateAction.PIN, UpdateAction.VERIFY) \
                    and update.source is not Source.PROVIDER:
                raise PermanentError("kind-mismatch", f"fiche {fiche_id} is a {state.kind}")
            return state
        if update.action in (UpdateAction.PIN, UpdateAction.RESOLVE, UpdateAction.VERIFY) \
                or update.source is Source.PROVIDER:
            raise PermanentError("unknown-fiche", f"no fiche {fiche_id}")
        repo.create(fiche_id, update.kind)  # its row is inserted with its first save
        return new_state(fiche_id, update.kind)

    async def _fiche_id(
        self, repo: FicheRepository, update: FicheUpdate, linker: Linker,
    ) -> uuid.UUID | Held:
        if update.resolution is not None:
            found = await repo.fiche_of_conflict(update.resolution.conflict_id)
            if found is None:
                raise PermanentError("unknown-conflict", "no such conflict")
            return found
        if update.fiche_id is not None:
            return update.fiche_id
        matches = await repo.find(update.identifiers)
        await check_identity(repo, update, matches)
        if matches:
            # Several fiches share this record's identifiers: the lowest id wins (ids are
            # UUIDv5, so not the oldest fiche, but the same choice on every instance and every
            # replay); the record's other identifiers stay where they are (linking is a review
            # matter).
            return matches[0]
        if not update.identifiers:
            raise PermanentError("no-identifier", "the update names no identifier")
        if is_matchable(update):  # unknown identifiers: perhaps a fiche made by hand
            probable = await linker.identify(update)
            if probable is not None:
                return probable
        return repo.new_fiche_id(update)


def _not_again(state: FicheState, update: FicheUpdate) -> ApplyResult:
    """A source record's update the fiche holds a version of at least as high: ``duplicate``
    when it holds this very version (a redelivery, or the source sending it again, under
    another event id or not), ``stale`` when a newer one (an older version arrived late)."""
    held = state.records.get((update.source, update.record_id))
    if held == update.source_version:
        return ApplyResult(update, "duplicate", state.fiche_id, state.version,
                           reason=f"sourceVersion {held} was applied already")
    return ApplyResult(update, "stale", state.fiche_id, state.version,
                       reason=f"sourceVersion {update.source_version}, the fiche holds {held}")
