"""Applying canonical updates: inbox, identity, merge, fiche rows and outbox, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from sync.emitted import emitted_events
from sync.errors import PermanentError, TransientError
from sync.events import FicheUpdate, UpdateAction, derived_id
from sync.merge import FicheState, merge, new_state
from sync.policy import Policy
from sync.store.fiches import Conn, FicheRepository
from sync.store.uow import UnitOfWork

__all__ = ["OUTBOX_CHANNEL", "Applier", "ApplyResult"]

#: The relay listens here; a notification is delivered when the apply transaction commits.
OUTBOX_CHANNEL = "sksync_outbox"

INSERT_INBOX = """
INSERT INTO inbox (source, event_id, outcome) VALUES ($1, $2, $3)
ON CONFLICT (source, event_id) DO NOTHING RETURNING 1
"""
SET_INBOX_OUTCOME = "UPDATE inbox SET outcome = $3 WHERE source = $1 AND event_id = $2"
TOUCH_PROGRESS = """
INSERT INTO source_progress (source, last_applied_at, last_event_time) VALUES ($1, $2, $3)
ON CONFLICT (source) DO UPDATE SET last_applied_at = EXCLUDED.last_applied_at,
    last_event_time = GREATEST(source_progress.last_event_time, EXCLUDED.last_event_time)
"""


@dataclass(frozen=True)
class ApplyResult:
    """What became of one update: ``applied``, ``unchanged``, ``stale``, ``duplicate``,
    ``refused`` or ``rejected`` (a permanent error: ``reason`` says why)."""

    update: FicheUpdate
    outcome: str
    fiche_id: uuid.UUID | None = None
    version: int | None = None
    event_type: str | None = None
    reason: str | None = None
    error: PermanentError | None = None


class Applier:
    """Applies batches of updates, each batch in one transaction."""

    def __init__(
        self, pool: asyncpg.Pool, policy: Policy, topics: dict[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._topics = topics
        self._clock = clock

    async def apply(self, updates: Sequence[FicheUpdate]) -> list[ApplyResult]:
        """Apply ``updates`` in order, in one transaction; permanent errors are returned,
        transient ones raised (nothing is then committed)."""
        async with UnitOfWork(self._pool) as uow:
            results = [await self._apply_one(uow.conn, update) for update in updates]
            if any(result.event_type or result.outcome == "applied" for result in results):
                await uow.conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
            await uow.commit()
        return results

    async def _apply_one(self, conn: Conn, update: FicheUpdate) -> ApplyResult:
        try:
            async with conn.transaction():  # a savepoint: a rejected update leaves no trace
                return await self._apply_in(conn, update)
        except PermanentError as error:
            return ApplyResult(update, "rejected", reason=error.reason, error=error)

    async def _apply_in(self, conn: Conn, update: FicheUpdate) -> ApplyResult:
        inbox_key = (update.origin.source, str(update.update_id))
        if await conn.fetchval(INSERT_INBOX, *inbox_key, "pending") is None:
            return ApplyResult(update, "duplicate")
        repo = FicheRepository(conn)
        state = await self._state_for(repo, update)
        decision = merge(state, update, self._policy)
        now = self._clock()
        await conn.execute(SET_INBOX_OUTCOME, *inbox_key, decision.outcome)
        if decision.outcome == "stale":
            return ApplyResult(update, "stale", state.fiche_id, state.version)
        await repo.add_identifiers(state.fiche_id, update.identifiers)
        if state.version == 0 and len(await repo.find(update.identifiers)) > 1:
            # Another instance created a fiche for one of these identifiers at the same time
            # and committed first: retrying finds that fiche instead of making a second one.
            raise TransientError("a fiche for these identifiers was created concurrently")
        editor = update.resolution.editor if update.resolution else None
        await repo.save(
            decision, source=update.source, record_id=update.record_id,
            source_version=update.source_version,
            cause=(update.origin.source, update.origin.id), editor=editor, now=now)
        identifiers = await repo.identifiers(state.fiche_id)
        await repo.enqueue(emitted_events(decision, update, identifiers, now), self._topics)
        await conn.execute(TOUCH_PROGRESS, update.source.value, now, update.origin.time)
        return ApplyResult(
            update, decision.outcome, state.fiche_id, decision.state.version,
            decision.event_type, decision.reason)

    async def _state_for(self, repo: FicheRepository, update: FicheUpdate) -> FicheState:
        """Find (and lock) the fiche the update is about, creating it when it is new."""
        fiche_id = await self._fiche_id(repo, update)
        state = await repo.load(fiche_id)
        if state is not None:
            # A pin or a resolution names its fiche; merge checks the fields against its kind.
            if state.kind is not update.kind and update.action not in (
                    UpdateAction.RESOLVE, UpdateAction.PIN):
                raise PermanentError("kind-mismatch", f"fiche {fiche_id} is a {state.kind}")
            return state
        if update.action in (UpdateAction.PIN, UpdateAction.RESOLVE):
            raise PermanentError("unknown-fiche", f"no fiche {fiche_id}")
        await repo.create(fiche_id, update.kind)
        await repo.load(fiche_id)  # takes the row lock on the new fiche
        return new_state(fiche_id, update.kind)

    async def _fiche_id(self, repo: FicheRepository, update: FicheUpdate) -> uuid.UUID:
        if update.resolution is not None:
            found = await repo.fiche_of_conflict(update.resolution.conflict_id)
            if found is None:
                raise PermanentError("unknown-conflict", "no such conflict")
            return found
        if update.fiche_id is not None:
            return update.fiche_id
        matches = await repo.find(update.identifiers)
        if matches:
            # Several fiches share this record's identifiers: the oldest id wins, the
            # record's other identifiers stay where they are (linking is a review matter).
            return matches[0]
        if not update.identifiers:
            raise PermanentError("no-identifier", "the update names no identifier")
        first = update.identifiers[0]
        return derived_id("fiche", update.kind.value, first.type, first.value)
