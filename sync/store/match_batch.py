"""Matching for a whole apply batch: read once at the start, write once at the end.

:class:`BatchMatchStore` answers what :class:`~sync.store.matching.MatchStore` answers, with the
same rows, for the updates of one batched apply transaction:

* :meth:`BatchMatchStore.prefetch` reads, for the whole batch, the pending candidates of every
  record matching may look at, the candidate fiches of each of those records, and the blocking
  keys and KBO numbers of every fiche the batch loaded: three parts of the one statement
  (:class:`~sync.store.reads.Reads`) that also reads what the batch's locked fiches hold;
* profiles, blocking keys and the closing of pending candidates are buffered and written by
  :meth:`BatchMatchStore.flush`, one statement per table.

A prefetched answer is used only while it is still what the database would say at that point of
the batch: the record's pending candidates while nothing of the batch touched that record; its
candidate fiches while no fiche written by the batch could change them (a fiche that shares a key
with the record and may be it, or one of the prefetched candidates). Otherwise, and for every
other read and write, the buffered writes of the batch (fiches first, then matching) are sent and
the database is asked, as :class:`MatchStore` does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.events import FicheKind, FicheUpdate, Identifier, Source
from sync.jsontext import dumps
from sync.matching import (
    Profile,
    Scored,
    blocking_keys,
    is_matchable,
    kbo_numbers,
    lookup_keys,
    stored_keys,
)
from sync.matching.memo import ProfileMemo
from sync.store.match_sql import (
    CANDIDATES_OF_RECORDS,
    DELETE_KEY_ROWS,
    INDEX_OF,
    PENDING_OF_RECORDS,
    SUPERSEDE_RECORDS,
    UPSERT_KEY_ROWS,
    UPSERT_PROFILES,
)
from sync.store.matching import CandidateRow, Conn, MatchStore, candidate_row
from sync.store.reads import Reads, Row
from sync.store.writes import Writes

__all__ = ["BatchMatchStore", "Holdings"]

#: What a fiche holds, as the fiche repository knows it now: the sources of its records and
#: the types of its identifiers (None: not in memory).
Holdings = Callable[[uuid.UUID], tuple[set[Source], set[str]] | None]
RecordKey = tuple[Source, str]
#: A prefetched candidate search's update, its record's profile, keys and identifier types.
_Question = tuple[FicheUpdate, Profile, frozenset[str], tuple[str, ...]]


@dataclass(frozen=True)
class _Asked:
    """A prefetched candidate search: the question (to check it is the same) and the answer."""

    profile: Profile
    keys: frozenset[str]
    id_types: tuple[str, ...]
    limit: int
    found: list[tuple[uuid.UUID, Profile]]


class BatchMatchStore(MatchStore):
    """A :class:`MatchStore` for one batched apply transaction (see the module's text).

    ``before_read`` sends the fiche repository's buffered writes; ``holdings`` tells what a
    fiche holds according to the repository's memory."""

    def __init__(
        self, conn: Conn, before_read: Callable[[Writes], Awaitable[None]],
        holdings: Holdings,
    ) -> None:
        super().__init__(conn)
        self._before_read = before_read
        self._holdings = holdings
        self._pending: dict[RecordKey, list[CandidateRow]] = {}
        self._asked: dict[RecordKey, _Asked] = {}
        self._records: dict[uuid.UUID, Profile] = {}  # the profile of each update's record
        self._keys: dict[uuid.UUID, set[str]] = {}  # blocking keys, as the batch left them
        self._stored_keys: dict[uuid.UUID, set[str]] = {}  # ... and as the database has them
        self._extra: dict[uuid.UUID, list[str]] = {}
        self._rekeyed: set[uuid.UUID] = set()  # fiches whose keys changed since the flush
        self._profiles: dict[uuid.UUID, tuple[str, str, datetime]] = {}
        self._superseded: list[tuple[str, str, datetime]] = []
        self._touched_records: set[RecordKey] = set()
        self._written: set[uuid.UUID] = set()  # fiches written by the batch
        self._written_by_key: dict[str, set[uuid.UUID]] = {}  # of the keys prefetched
        self._asked_keys: set[str] = set()  # the keys the prefetched searches looked up
        # A new fiche's profile is its record's: computed once for both.
        self._memo = ProfileMemo()

    # -- reading ahead -----------------------------------------------------------------------

    def prefetch(
        self, updates: Sequence[FicheUpdate], unplaced: Callable[[FicheUpdate], bool],
        existing: Sequence[uuid.UUID], absent: Sequence[uuid.UUID], limit: int, reads: Reads,
    ) -> None:
        """Add to ``reads`` what the batch's matching will ask (the caller runs it): ``unplaced``
        says which updates found no fiche by their identifiers; ``existing`` / ``absent`` are
        the fiches the batch loaded and the ids it looked up in vain."""
        # No fiche has keys before it exists, but KBO numbers may be known before it is made.
        self._read_index(reads, keyed=existing, fiches=[*existing, *absent])
        records: dict[RecordKey, FicheUpdate] = {}
        for update in updates:
            if is_matchable(update) and unplaced(update):
                records.setdefault((update.source, update.record_id), update)
        if not records:
            return
        self._prefetch_pending(reads, list(records))
        self._prefetch_candidates(reads, list(records.values()), limit)

    def _read_index(
        self, reads: Reads, keyed: Sequence[uuid.UUID], fiches: Sequence[uuid.UUID],
    ) -> None:
        """The stored blocking keys of ``keyed`` and the extra KBO numbers of ``fiches``."""
        for fiche_id in fiches:
            self._keys[fiche_id], self._stored_keys[fiche_id] = set(), set()
            self._extra[fiche_id] = []
        if fiches:
            reads.add(INDEX_OF, list(keyed), list(fiches), then=self._indexed)

    def _indexed(self, row: Row) -> None:
        for fiche_id, keys in row["index_keys"]:
            self._keys[fiche_id] = set(keys)
            self._stored_keys[fiche_id] = set(keys)
        for fiche_id, numbers in row["index_extra"]:
            self._extra[fiche_id] = list(numbers)

    def _prefetch_pending(self, reads: Reads, records: list[RecordKey]) -> None:
        for record in records:
            self._pending[record] = []
        reads.add(PENDING_OF_RECORDS, [s.value for s, _ in records], [r for _, r in records],
                  then=self._pended)

    def _pended(self, row: Row) -> None:
        for pending in row["pending"]:
            self._pending[(Source(pending["source"]), pending["record_id"])].append(
                candidate_row(pending))

    def _prefetch_candidates(self, reads: Reads, updates: list[FicheUpdate], limit: int) -> None:
        asked: list[_Question] = []
        for update in updates:
            record, blocking = self._memo.keyed(
                update.kind.value, update.fields, kbo_numbers(update.identifiers))
            keys = lookup_keys(blocking, update.source.value)
            id_types = tuple(sorted({i.type for i in update.identifiers}))
            self._records[update.update_id] = record
            if keys:
                asked.append((update, record, keys, id_types))
            else:
                self._asked[(update.source, update.record_id)] = _Asked(
                    record, keys, id_types, limit, [])
        if asked:
            reads.add(
                CANDIDATES_OF_RECORDS, list(range(len(asked))),
                [p.kind for _, p, _, _ in asked], [u.source.value for u, _, _, _ in asked],
                [u.record_id for u, _, _, _ in asked], [" ".join(t) for _, _, _, t in asked],
                [dumps(sorted(k)) for _, _, k, _ in asked], limit,
                then=lambda row: self._found(asked, limit, row))

    def _found(self, asked: list[_Question], limit: int, row: Row) -> None:
        found: list[list[tuple[uuid.UUID, Profile]]] = [[] for _ in asked]
        for n, fiche_id, profile in row["candidates"]:
            found[n].append((fiche_id, Profile.from_json(json.loads(profile))))
        for (update, record, keys, id_types), hits in zip(asked, found, strict=True):
            self._asked[(update.source, update.record_id)] = _Asked(
                record, keys, id_types, limit, hits)
            self._asked_keys |= keys

    # -- answers from memory while they hold -------------------------------------------------

    def record_profile(self, update: FicheUpdate) -> Profile:
        found = self._records.get(update.update_id)
        return found if found is not None else super().record_profile(update)

    async def pending_of(self, source: Source, record_id: str) -> list[CandidateRow]:
        record = (source, record_id)
        if record in self._pending and record not in self._touched_records:
            return list(self._pending[record])
        await self.sync()
        return await super().pending_of(source, record_id)

    async def candidates(
        self, record: Profile, source: Source, record_id: str, id_types: Sequence[str],
        limit: int,
    ) -> list[tuple[uuid.UUID, Profile]]:
        asked = self._asked.get((source, record_id))
        if asked is not None and (asked.id_types, asked.limit) == (
                tuple(sorted(set(id_types))), limit) and (
                record is asked.profile or (record.kind == asked.profile.kind and asked.keys
                                            == lookup_keys(blocking_keys(record), source.value))):
            answer = self._still_valid(asked, source)
            if answer is not None:
                return answer
        await self.sync()
        return await super().candidates(record, source, record_id, id_types, limit)

    def _still_valid(
        self, asked: _Asked, source: Source,
    ) -> list[tuple[uuid.UUID, Profile]] | None:
        """The prefetched candidates if the batch's writes left them as they were, else None.

        A fiche written by the batch matters only if it could be a candidate now: one holding
        a record of the same source or an identifier of a type the record carries cannot (and
        stays so: a batch adds records and identifiers, it does not take them away)."""
        touched = {f for key in asked.keys for f in self._written_by_key.get(key, ())}
        touched |= {f for f, _ in asked.found if f in self._written}
        excluded: set[uuid.UUID] = set()
        for fiche_id in touched:
            held = self._holdings(fiche_id)
            if held is None or not (source in held[0] or held[1] & set(asked.id_types)):
                return None  # it may be a candidate (again, or with another profile): ask
            excluded.add(fiche_id)
        if excluded & {f for f, _ in asked.found} and len(asked.found) >= asked.limit:
            return None  # one fewer, and the next one in line is not known
        return [(f, profile) for f, profile in asked.found if f not in excluded]

    # -- writes kept until the flush ---------------------------------------------------------

    async def refresh(
        self, fiche_id: uuid.UUID, kind: FicheKind, visible: dict[str, Any],
        identifiers: Iterable[Identifier], sources: Iterable[Source], now: datetime,
    ) -> None:
        if fiche_id not in self._keys:  # a fiche loaded after the prefetch (a linked one)
            await self.sync()
            reads = Reads()
            self._read_index(reads, keyed=[fiche_id], fiches=[fiche_id])
            await reads.run(self.conn)
        # What fiche_index gives, with the profile computed once per distinct input.
        profile, blocking = self._memo.keyed(
            kind.value, visible, [*kbo_numbers(list(identifiers)), *self._extra[fiche_id]])
        index = stored_keys(blocking, kind.value, {s.value for s in sources})
        self._profiles[fiche_id] = (kind.value, dumps(profile.to_json()), now)
        wanted = set(index)
        # Only a prefetched answer asks which fiches were written under a key (_still_valid).
        for key in (wanted | self._keys[fiche_id]) & self._asked_keys:
            self._written_by_key.setdefault(key, set()).add(fiche_id)
        self._keys[fiche_id] = wanted
        self._rekeyed.add(fiche_id)
        self._written.add(fiche_id)

    def written(self, fiche_id: uuid.UUID) -> None:
        self._written.add(fiche_id)

    async def supersede(
        self, source: Source, record_id: str, now: datetime, keep: Sequence[uuid.UUID] = (),
    ) -> None:
        record = (source, record_id)
        if keep:
            await self.sync()
            await super().supersede(source, record_id, now, keep)
        elif record in self._touched_records or self._pending.get(record, True):
            # None waited when the batch looked and nothing of it made one wait: nothing to do.
            self._superseded.append((source.value, record_id, now))
        self._touched_records.add(record)

    async def hold(
        self, update: FicheUpdate, candidates: Sequence[Scored], now: datetime,
    ) -> list[tuple[uuid.UUID, bool]]:
        self._touched_records.add((update.source, update.record_id))
        await self.sync()
        return await super().hold(update, candidates, now)

    # -- everything else asks the database, after the batch's writes ---------------------------

    async def still_free(
        self, fiche_id: uuid.UUID, source: Source, id_types: Sequence[str],
    ) -> bool:
        await self.sync()
        return await super().still_free(fiche_id, source, id_types)

    async def record_link(
        self, fiche_id: uuid.UUID, update: FicheUpdate, *, score: float | None,
        match_id: uuid.UUID | None, linked_by: str, now: datetime,
    ) -> None:
        await self.sync()
        await super().record_link(fiche_id, update, score=score, match_id=match_id,
                                  linked_by=linked_by, now=now)

    async def sync(self) -> None:
        """Send the buffered writes, the fiches' and matching's, in one statement."""
        writes = Writes()
        await self._before_read(writes)
        await self.flush(writes)
        await writes.run(self.conn)

    async def flush(self, writes: Writes | None = None) -> None:
        """The buffered profiles, blocking keys and closed candidates (into ``writes``, for
        the caller to send, or now)."""
        combined = Writes() if writes is None else writes
        if self._profiles:
            profiles = [(f, *row) for f, row in self._profiles.items()]
            self._profiles.clear()
            combined.add(UPSERT_PROFILES, *map(list, zip(*profiles, strict=True)))
        rekeyed, self._rekeyed = sorted(self._rekeyed), set()
        # One row per fiche, written only when its keys changed (or deleted: none left).
        changed = [f for f in rekeyed if self._keys[f] != self._stored_keys[f]]
        kept = [f for f in changed if self._keys[f]]
        if kept:
            combined.add(UPSERT_KEY_ROWS, kept, [dumps(sorted(self._keys[f])) for f in kept])
        if emptied := [f for f in changed if not self._keys[f]]:
            combined.add(DELETE_KEY_ROWS, emptied)
        for fiche_id in rekeyed:
            self._stored_keys[fiche_id] = set(self._keys[fiche_id])
        if self._superseded:
            rows, self._superseded = self._superseded, []
            combined.add(SUPERSEDE_RECORDS, *map(list, zip(*rows, strict=True)))
        if writes is None:
            await combined.run(self.conn)
