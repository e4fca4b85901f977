"""Reading and writing fiches (the statements are named in :mod:`sync.store.fiche_sql`).

A :class:`FicheRepository` serves one batch of updates (one update, when the applier goes one
by one: a batch of one) on the connection of one unit of work. :meth:`FicheRepository.prefetch`
loads and locks, in a handful of statements, every fiche the batch names; reads are then served
from memory, kept current by the repository's own writes; writes are buffered and
:meth:`FicheRepository.flush` sends them as one set-based statement per table (``unnest``),
before the transaction commits.

Buffering changes how many round trips a batch costs, not what is written: the buffered writes
are the same rows, coalesced per key where a later write of the same key in the batch replaces
an earlier one, and outbox rows keep the order in which they were enqueued. A read that memory
cannot serve, and any SQL other code of the transaction runs (the matching of
:mod:`sync.store.linking` calls :meth:`FicheRepository.flush` before it reads), first sends
what is buffered: every read sees the batch's own writes. The two writes a split makes on
other rows than the batch's own (:meth:`FicheRepository.move_identifiers`,
:meth:`FicheRepository.forget_record`) go at once, after the buffered ones, and keep memory
current.

A source record's values go with its ``source_record`` row, one row per record and update
(:mod:`sync.store.record_values`): the row is rebuilt from the fiche's state, so a value the
record no longer gives is simply absent from it.

New identifiers are claimed in memory and inserted at the flush; one that another transaction
took meanwhile (memory said it was free) fails the batch with a :class:`TransientError`, and the
retry, which reads the committed owner, leaves the identifier where it is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
import structlog

from sync.emitted import Emitted
from sync.events import FicheKind, FicheUpdate, Identifier, Source, derived_id
from sync.jsontext import dumps
from sync.merge import Conflict, Decision, FicheState, Pin
from sync.store.fiche_sql import (
    CLAIM_IDENTIFIERS,
    DELETE_PIN,
    DELETE_RECORD,
    FICHE_OF_CONFLICT,
    FIND_BY_IDENTIFIERS,
    HOLDINGS,
    INSERT_FICHE,
    INSERT_FICHES,
    INSERT_HISTORY,
    INSERT_OUTBOX,
    LOCK_FICHES,
    MOVE_IDENTIFIERS,
    OWN_AND_LOCK,
    SELECT_IDENTIFIERS,
    TOUCH_PROGRESS,
    UPDATE_FICHES,
    UPSERT_CONFLICT,
    UPSERT_PIN,
    UPSERT_RECORDS,
)
from sync.store.outbox import MAX_EVENT_BYTES, park_reason
from sync.store.reads import Reads, Row
from sync.store.record_values import provenance_of, record_values
from sync.store.writes import Writes

__all__ = ["Conn", "FicheRepository"]

log = structlog.get_logger(__name__)

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

Key = tuple[str, str]  # an identifier: (type, value)
RecordKey = tuple[uuid.UUID, str, str]  # source_record: (fiche, source, record id)


def _replaced(before: FicheState | None, decision: Decision) -> str | None:
    """The values a new version replaced, of the fields it changed (absent ones left out), as
    JSON; ``None`` (not known) if ``before`` is not the version just before."""
    if before is None or before.version != decision.state.version - 1:
        return None
    return dumps({name: before.visible[name] for name in decision.changed_fields
                  if name in before.visible})


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows to columns, the shape ``unnest`` takes its arrays in."""
    return [[row[i] for row in rows] for i in range(width)]


class FicheRepository:
    """Fiche state in PostgreSQL, on the connection of one unit of work."""

    def __init__(self, conn: Conn, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.conn = conn
        self.max_event_bytes = max_event_bytes
        self._states: dict[uuid.UUID, FicheState | None] = {}  # None: known not to exist
        self._owners: dict[Key, uuid.UUID | None] = {}  # None: known to belong to no fiche
        self._identifiers: dict[uuid.UUID, list[Identifier]] = {}
        self._stored: set[uuid.UUID] = set()  # fiches whose row exists in the database
        self._stored_records: set[tuple[uuid.UUID, Source, str]] = set()
        self._new_identifiers: dict[uuid.UUID, list[Identifier]] = {}
        self._new_fiches: dict[uuid.UUID, tuple[Any, ...]] = {}  # inserted at the flush
        self._claimed: list[tuple[str, str, uuid.UUID]] = []  # identifiers to insert
        self._records: dict[RecordKey, tuple[Any, ...]] = {}  # the last write of a record wins
        self._ordered: list[tuple[str, tuple[Any, ...]]] = []  # pins and conflicts, in order
        self._fiches: dict[uuid.UUID, tuple[Any, ...]] = {}
        self._history: list[tuple[Any, ...]] = []
        self._outbox: list[tuple[Any, ...]] = []
        self._progress: dict[str, tuple[datetime, datetime | None]] = {}
        self._new_ids: dict[tuple[str, str, str], uuid.UUID] = {}

    # -- reads -------------------------------------------------------------------------------

    async def prefetch(self, updates: Sequence[FicheUpdate], reads: Reads) -> None:
        """Load and lock every fiche ``updates`` can be about, in one statement: the owners of
        their identifiers, and, locked, the fiches those owners are, the fiches the updates
        name and the fiche ids their new records would get. What the locked fiches hold is
        left to ``reads``, which the caller runs before the batch reads or writes anything
        else (with the reads of its matching: one round trip)."""
        keys = sorted({(i.type, i.value) for u in updates for i in u.identifiers})
        named: set[uuid.UUID] = set()
        for update in updates:
            if update.fiche_id is not None:
                named.add(update.fiche_id)
            if update.identifiers:
                named.add(self.new_fiche_id(update))
        if not keys and not named:
            return  # updates that name neither an identifier nor a fiche: nothing to lock
        types, values = _columns(keys, 2)
        row = await self.conn.fetchrow(OWN_AND_LOCK, types, values, sorted(named))
        assert row is not None  # a SELECT without FROM always returns one row
        for key in keys:
            self._owners[key] = None
        for kind, value, fiche_id in row["owners"]:
            self._owners[(kind, value)] = fiche_id
            named.add(fiche_id)
        self._locked(named, row["locked"], reads)

    def new_fiche_id(self, update: FicheUpdate) -> uuid.UUID:
        """The id a fiche made for ``update``'s record gets: derived from its first identifier
        (the update has one), once per batch."""
        first = update.identifiers[0]
        key = (update.kind.value, first.type, first.value)
        found = self._new_ids.get(key)
        if found is None:
            found = self._new_ids[key] = derived_id("fiche", *key)
        return found

    async def find(self, identifiers: Iterable[Identifier]) -> list[uuid.UUID]:
        """The fiches holding any of ``identifiers``, in ascending id order (ids are UUIDv5
        values, so this order is arbitrary but the same on every instance and every replay)."""
        items = list(identifiers)
        keys = [(i.type, i.value) for i in items]
        if all(key in self._owners for key in keys):
            return sorted({owner for key in keys if (owner := self._owners[key]) is not None})
        await self._before_read()
        rows = await self.conn.fetch(
            FIND_BY_IDENTIFIERS, [i.type for i in items], [i.value for i in items])
        return sorted(row["fiche_id"] for row in rows)

    async def fiche_of_conflict(self, conflict_id: uuid.UUID) -> uuid.UUID | None:
        await self._before_read()
        value: uuid.UUID | None = await self.conn.fetchval(FICHE_OF_CONFLICT, conflict_id)
        return value

    async def identifiers(self, fiche_id: uuid.UUID) -> list[Identifier]:
        if fiche_id not in self._identifiers:
            await self._before_read()
            rows = await self.conn.fetch(SELECT_IDENTIFIERS, [fiche_id])
            self._identifiers[fiche_id] = [
                Identifier(type=row["type"], value=row["value"]) for row in rows]
        return list(self._identifiers[fiche_id])

    async def load(self, fiche_id: uuid.UUID) -> FicheState | None:
        """The fiche's state, locked until the end of the transaction."""
        if fiche_id not in self._states:
            await self._load_many({fiche_id})
        return self._states[fiche_id]

    async def _load_many(self, fiche_ids: set[uuid.UUID]) -> None:
        """Lock ``fiche_ids`` and read what those that exist hold."""
        if not fiche_ids:
            return
        await self._before_read()
        reads = Reads()
        self._locked(fiche_ids, await self.conn.fetch(LOCK_FICHES, sorted(fiche_ids)), reads)
        await reads.run(self.conn)

    def _locked(
        self, fiche_ids: set[uuid.UUID], rows: Iterable[Any], reads: Reads,
    ) -> None:
        """The states of ``fiche_ids`` from the rows of those locked (:data:`LOCK_FICHES`'
        columns): ``None`` for an id no fiche has; what the others hold is read with
        ``reads``. Until then their states have their fiche rows only."""
        for fiche_id in fiche_ids:
            self._states[fiche_id] = None
        states: dict[uuid.UUID, FicheState] = {}
        for fiche_id, kind, version, status, reason, visible, verified_at in rows:
            states[fiche_id] = FicheState(
                fiche_id=fiche_id, kind=FicheKind(kind), version=version, status=status,
                inactive_reason=reason, visible=json.loads(visible), verified_at=verified_at)
        if not states:
            return
        self._states.update(states)
        self._stored.update(states)
        reads.add(HOLDINGS, sorted(states), then=lambda row: self._hold(states, row))

    def _hold(self, states: dict[uuid.UUID, FicheState], holdings: Row) -> None:
        """Fill the locked ``states`` with what they hold (:data:`HOLDINGS`' columns)."""
        for pin in holdings["pins"]:
            review = pin["review_after"]
            states[pin["fiche_id"]].pins[pin["field"]] = Pin(
                pin["field"], json.loads(pin["value"]), pin["author"], pin["role"],
                pin["reason"], pin["pinned_at"], review.isoformat() if review else None)
        for item in holdings["conflicts"]:
            states[item["fiche_id"]].conflicts[item["id"]] = Conflict(
                item["id"], item["field"], json.loads(item["candidate"]),
                Source(item["source"]), item["record_id"], item["status"])
        for record in holdings["records"]:
            source = Source(record["source"])
            state = states[record["fiche_id"]]
            state.records[(source, record["record_id"])] = record["source_version"]
            for entry in provenance_of(record):
                state.provenance[entry.key] = entry
            self._stored_records.add((record["fiche_id"], source, record["record_id"]))
        identifiers: dict[uuid.UUID, list[Identifier]] = {fiche_id: [] for fiche_id in states}
        for item in holdings["identifiers"]:
            identifiers[item["fiche_id"]].append(
                Identifier(type=item["type"], value=item["value"]))
            self._owners[(item["type"], item["value"])] = item["fiche_id"]
        self._identifiers.update(identifiers)

    def holdings(self, fiche_id: uuid.UUID) -> tuple[set[Source], set[str]] | None:
        """The sources of the records and the identifier types ``fiche_id`` holds, as of now
        in this transaction; None when the fiche is not in memory."""
        state = self._states.get(fiche_id)
        if state is None or fiche_id not in self._identifiers:
            return None
        return ({source for source, _ in state.records},
                {i.type for i in self._identifiers[fiche_id]})

    def unplaced(self, update: FicheUpdate) -> bool:
        """Whether none of ``update``'s identifiers is known to be on a fiche (memory only)."""
        return not any(self._owners.get((i.type, i.value)) for i in update.identifiers)

    def existing(self) -> list[uuid.UUID]:
        """The fiches loaded so far that exist in the database."""
        return sorted(fid for fid, state in self._states.items()
                      if state is not None and fid in self._stored)

    def absent(self) -> list[uuid.UUID]:
        """The fiche ids looked up so far that no fiche has (yet)."""
        return sorted(fid for fid, state in self._states.items() if state is None)

    async def _before_read(self) -> None:
        """A read goes to the database: send the buffered writes first."""
        if self.has_pending():
            await self.flush()

    def has_pending(self) -> bool:
        return bool(self._records or self._ordered or self._fiches
                    or self._history or self._outbox or self._progress or self._new_fiches
                    or self._claimed)

    # -- writes ------------------------------------------------------------------------------

    def create(self, fiche_id: uuid.UUID, kind: FicheKind) -> None:
        """A new fiche (version 0); its row is written with its first save."""
        self._states[fiche_id] = FicheState(fiche_id=fiche_id, kind=kind)
        self._identifiers.setdefault(fiche_id, [])

    def add_identifiers(self, fiche_id: uuid.UUID, items: Iterable[Identifier]) -> None:
        """Give ``items`` to the fiche, except those that already belong to a fiche."""
        wanted = self._new_identifiers.setdefault(fiche_id, [])
        # An identifier is its (type, value): compared as such, not as models.
        taken = {(item.type, item.value) for item in wanted}
        for item in items:
            key = (item.type, item.value)
            if self._owners.get(key) is None and key not in taken:
                wanted.append(item)
                taken.add(key)

    async def save(
        self, decision: Decision, *, source: Source, record_id: str,
        cause: tuple[str, str], editor: str | None, now: datetime,
    ) -> None:
        """Write what ``decision`` changed; the caller owns the transaction. The row of the
        update's record (``source``, ``record_id``) carries the version the state holds."""
        state = decision.state
        fid = state.fiche_id
        for pin in decision.pins_set:
            self._ordered.append((UPSERT_PIN, (
                fid, pin.field, dumps(pin.value), pin.author, pin.role, pin.reason,
                pin.pinned_at,
                date.fromisoformat(pin.review_after) if pin.review_after else None)))
        for name in decision.pins_released:
            self._ordered.append((DELETE_PIN, (fid, name)))
        for c in decision.conflicts_written:
            self._ordered.append((UPSERT_CONFLICT, (
                c.id, fid, c.field, dumps(c.candidate), c.source.value, c.record_id, c.status,
                now, editor if c.status in ("accepted", "kept") else None)))
        fiche_row = (fid, state.version, state.status, state.inactive_reason,
                     dumps(state.visible), state.verified_at)
        holds_record = (source, record_id) in state.records
        new_record = holds_record and (fid, source, record_id) not in self._stored_records
        if fid not in self._stored:  # new: its row is written now, with these values
            self._fiches.pop(fid, None)
            self._claim(fid, fiche_row, state.kind, (source, record_id) if new_record else None)
        else:
            if fid in self._new_fiches:  # made in this batch, not inserted yet
                self._new_fiches[fid] = (*fiche_row, state.kind.value)
            else:
                self._fiches[fid] = fiche_row
            if new_record or self._new_identifiers.get(fid):
                self._claim(fid, record=(source, record_id) if new_record else None)
        for held in self._records_written(decision, source, record_id):
            self._write_record(state, *held)
        if decision.event_type is not None:
            self._history.append((fid, state.version, decision.event_type,
                                  dumps(list(decision.changed_fields)), cause[0], cause[1],
                                  _replaced(self._states.get(fid), decision)))
        self._states[fid] = state

    @staticmethod
    def _records_written(
        decision: Decision, source: Source, record_id: str,
    ) -> list[tuple[Source, str]]:
        """The records whose row a save writes: the update's own, when the fiche holds it (its
        version moved), and any record whose values the decision changed."""
        held = decision.state.records
        touched = {(source, record_id)} if (source, record_id) in held else set()
        touched |= {(p.source, p.record_id) for p in decision.provenance_upserts}
        touched |= {(s, r) for _, s, r in decision.provenance_deletes}
        return sorted((key for key in touched if key in held), key=lambda k: (k[0].value, k[1]))

    def _write_record(self, state: FicheState, source: Source, record_id: str) -> None:
        """Buffer the record's row, its version and every value it gives, as ``state`` has them
        (a later write of the same record in the batch replaces it)."""
        entries = [p for p in state.provenance.values()
                   if p.source is source and p.record_id == record_id]
        version = state.records[(source, record_id)]
        kept = record_values(version, entries)
        self._records[(state.fiche_id, source.value, record_id)] = (
            source.value, record_id, state.fiche_id, version, kept.fields, kept.as_given,
            kept.observed_at, kept.verified_at, kept.per_field)

    def _claim(
        self, fiche_id: uuid.UUID, fiche_row: tuple[Any, ...] | None = None,
        kind: FicheKind | None = None, record: tuple[Source, str] | None = None,
    ) -> None:
        """Claim in memory what matching reads in the same transaction: the fiche row when it
        is new, a record it now holds, and its new identifiers (all written at the flush)."""
        new = self._new_identifiers.pop(fiche_id, [])
        if fiche_row is not None and kind is not None:
            self._new_fiches[fiche_id] = (*fiche_row, kind.value)
        self._stored.add(fiche_id)
        if record is not None:
            self._stored_records.add((fiche_id, *record))
        known = self._identifiers.setdefault(fiche_id, [])
        for item in new:
            self._owners[(item.type, item.value)] = fiche_id
            self._claimed.append((item.type, item.value, fiche_id))
            known.append(item)

    async def enqueue(self, events: Iterable[Emitted], topics: dict[str, str]) -> None:
        """Outbox rows for ``events``; one too large to publish is written parked."""
        for event in events:
            payload = dumps(event.document)
            reason = park_reason(payload, self.max_event_bytes)
            if reason is not None:
                log.warning("event too large to publish, parked", event_id=str(event.event_id),
                            topic=topics[event.topic], key=event.key, reason=reason)
            self._outbox.append((event.event_id, topics[event.topic], event.key, payload,
                                 reason, event.document["type"]))

    async def touch_progress(
        self, source: str, now: datetime, event_time: datetime | None,
    ) -> None:
        """When ``source`` was last applied, and the latest event time seen from it."""
        seen = self._progress.get(source)
        if seen is not None and seen[1] is not None:
            event_time = seen[1] if event_time is None else max(seen[1], event_time)
        self._progress[source] = (now, event_time)

    # -- a split: rows that are not the batch's own, written at once --------------------------

    async def move_identifiers(
        self, old: uuid.UUID, new: uuid.UUID, items: Sequence[Identifier],
    ) -> None:
        """Give ``items`` of fiche ``old`` to fiche ``new``, which gets its row now if it has
        none yet."""
        await self.flush()
        made = self._states.get(new)
        if new not in self._stored and made is not None:
            await self.conn.execute(INSERT_FICHE, new, made.kind.value)
            self._stored.add(new)
        await self.conn.execute(MOVE_IDENTIFIERS, old, new, [i.type for i in items],
                                [i.value for i in items])
        moved = {(i.type, i.value) for i in items}
        self._identifiers[old] = [i for i in self._identifiers.get(old, [])
                                  if (i.type, i.value) not in moved]
        known = self._identifiers.setdefault(new, [])
        for item in items:
            self._owners[(item.type, item.value)] = new
            known.append(item)

    async def forget_record(self, fiche_id: uuid.UUID, source: Source, record_id: str) -> None:
        """The fiche no longer holds the record (its versions are tracked on another fiche)."""
        await self.flush()
        await self.conn.execute(DELETE_RECORD, fiche_id, source.value, record_id)
        self._stored_records.discard((fiche_id, source, record_id))
        state = self._states.get(fiche_id)
        if state is not None:
            state.records.pop((source, record_id), None)

    async def flush(self, writes: Writes | None = None) -> None:
        """Send every buffered write: one set-based write per table, all in one statement
        (:class:`~sync.store.writes.Writes`); with ``writes``, add them there instead, for the
        caller to send with its own."""
        combined = Writes() if writes is None else writes
        if self._new_fiches:
            made = [(fid, row[6], *row[1:6]) for fid, row in self._new_fiches.items()]
            self._new_fiches.clear()
            combined.add(INSERT_FICHES, *_columns(made, 7))
        if self._records:
            records = list(self._records.values())
            self._records.clear()
            combined.add(UPSERT_RECORDS, *_columns(records, 9))
        if self._claimed:
            claimed, self._claimed = self._claimed, []
            # Free when this batch looked, taken by another transaction since: the retry reads
            # the owner and leaves the identifier where it is.
            combined.add(CLAIM_IDENTIFIERS, *_columns(claimed, 3),
                         expect=len({(kind, value) for kind, value, _ in claimed}),
                         why="an identifier of this batch was taken concurrently")
        if self._fiches:
            fiches = list(self._fiches.values())
            self._fiches.clear()
            combined.add(UPDATE_FICHES, *_columns(fiches, 6))
        if self._history:
            history, self._history = self._history, []
            combined.add(INSERT_HISTORY, *_columns(history, 7))
        if self._outbox:
            outbox, self._outbox = self._outbox, []
            combined.add(INSERT_OUTBOX, *_columns(outbox, 6))
        if self._progress:
            progress = [(source, *times) for source, times in sorted(self._progress.items())]
            self._progress.clear()
            combined.add(TOUCH_PROGRESS, *_columns(progress, 3))
        self._flush_ordered(combined)
        if writes is None:
            await combined.run(self.conn)

    def _flush_ordered(self, writes: Writes) -> None:
        """Pins and conflicts (rare), in the order they were written, after the rest (they
        name fiches the rest may insert): runs of one statement go together."""
        ordered, self._ordered = self._ordered, []
        start = 0
        while start < len(ordered):
            end = start
            while end < len(ordered) and ordered[end][0] == ordered[start][0]:
                end += 1
            writes.then(ordered[start][0], [args for _, args in ordered[start:end]])
            start = end
