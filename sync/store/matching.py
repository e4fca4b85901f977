"""Matching state in PostgreSQL: profiles and blocking keys, candidates, rejections, links.

Every SQL statement about matching is named once, in :mod:`sync.store.match_sql`. The
decisions are made elsewhere (:mod:`sync.matching`, pure; :mod:`sync.store.linking`, in the
apply transaction).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from sync.events import FicheKind, FicheUpdate, Identifier, Source, derived_id
from sync.jsontext import dumps
from sync.matching import (
    Profile,
    Scored,
    blocking_keys,
    kbo_numbers,
    lookup_keys,
    profile_of,
    profile_of_update,
    stored_keys,
)
from sync.store.match_sql import (
    CANDIDATE_BY_ID,
    CANDIDATES,
    COUNT_BY_STATUS,
    DELETE_KEYS,
    FICHES_AFTER,
    IDENTIFIERS_OF,
    INSERT_REJECTION,
    LINK_OF,
    LOCK_CANDIDATE,
    LOCK_FICHE,
    MARK_SPLIT,
    PENDING_OF_RECORD,
    SELECT_EXTRA,
    SELECT_KEYS,
    SET_STATUS,
    SOURCES_OF,
    STILL_FREE,
    SUPERSEDE,
    UPSERT_CANDIDATE,
    UPSERT_EXTRA,
    UPSERT_KEYS,
    UPSERT_LINK,
    UPSERT_PROFILE,
    WAITING,
)
from sync.store.writes import Writes

__all__ = [
    "CandidateRow",
    "LinkRow",
    "MatchStore",
    "candidate_id",
    "candidate_row",
    "fiche_index",
    "record_display",
]

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def fiche_index(
    kind: FicheKind, visible: dict[str, Any], identifiers: Iterable[Identifier],
    sources: Iterable[Source], extra: Iterable[str],
) -> tuple[Profile, frozenset[str]]:
    """A fiche's profile and the index rows it is under (its blocking keys once per source it
    holds no record of); ``extra``: KBO numbers known besides its identifiers."""
    profile = profile_of(kind.value, visible, [*kbo_numbers(list(identifiers)), *extra])
    return profile, stored_keys(blocking_keys(profile), kind.value, {s.value for s in sources})


def candidate_id(source: Source, record_id: str, fiche_id: uuid.UUID) -> uuid.UUID:
    """The id of the candidate pairing a record with a fiche: the same pair, the same id."""
    return derived_id("match", source.value, record_id, str(fiche_id))


@dataclass(frozen=True)
class CandidateRow:
    """A (record, fiche) pair proposed for review, with the record's waiting update."""

    id: uuid.UUID
    source: Source
    record_id: str
    fiche_id: uuid.UUID
    score: float
    parts: list[dict[str, Any]]
    pending_update: FicheUpdate
    source_version: int
    status: str
    created_at: datetime
    decided_by: str | None
    fiche_display: str = ""

    def as_json(self) -> dict[str, Any]:
        """The row as ``sksync matches list --json`` prints it (no identifier values)."""
        record = self.pending_update
        return {
            "id": str(self.id), "source": self.source.value, "recordId": self.record_id,
            "record": record_display(record), "ficheId": str(self.fiche_id),
            "fiche": self.fiche_display, "score": self.score, "parts": self.parts,
            "status": self.status, "createdAt": self.created_at.isoformat(),
        }


def record_display(update: FicheUpdate) -> str:
    """How a record names itself (for editors): a person's name or an organisation's."""
    return profile_of(update.kind.value, update.fields).display


@dataclass(frozen=True)
class LinkRow:
    """A record linked to a fiche by matching, and the identifiers it brought."""

    fiche_id: uuid.UUID
    source: Source
    record_id: str
    identifiers: tuple[Identifier, ...]


def candidate_row(row: asyncpg.Record, display: str = "") -> CandidateRow:
    """A ``match_candidate`` row (with the fiche's display name, if known)."""
    return CandidateRow(
        id=row["id"], source=Source(row["source"]), record_id=row["record_id"],
        fiche_id=row["fiche_id"], score=float(row["score"]), parts=json.loads(row["parts"]),
        pending_update=FicheUpdate.model_validate_json(row["pending_update"]),
        source_version=row["source_version"], status=row["status"],
        created_at=row["created_at"], decided_by=row["decided_by"], fiche_display=display)


class MatchStore:
    """Matching rows, on the connection of one unit of work (or a read-only one)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # -- profiles and keys -----------------------------------------------------------------

    def record_profile(self, update: FicheUpdate) -> Profile:
        """The profile of the record ``update`` carries."""
        return profile_of_update(update)

    def written(self, fiche_id: uuid.UUID) -> None:
        """The transaction wrote ``fiche_id``: a store that reads ahead must know (this one
        does not)."""

    async def flush(self, writes: Writes | None = None) -> None:
        """Send buffered writes: this store writes at once and buffers none."""

    async def set_extra(self, fiche_id: uuid.UUID, kbo: Sequence[str]) -> None:
        await self.conn.execute(UPSERT_EXTRA, fiche_id, list(kbo))

    async def refresh(
        self, fiche_id: uuid.UUID, kind: FicheKind, visible: dict[str, Any],
        identifiers: Iterable[Identifier], sources: Iterable[Source], now: datetime,
    ) -> None:
        """Rewrite the fiche's profile and blocking keys from its current values and the
        sources whose records it holds."""
        extra = await self.conn.fetchval(SELECT_EXTRA, fiche_id) or []
        profile, wanted = fiche_index(kind, visible, identifiers, sources, extra)
        await self.conn.execute(UPSERT_PROFILE, fiche_id, kind.value,
                                dumps(profile.to_json()), now)
        held = set(await self.conn.fetchval(SELECT_KEYS, fiche_id) or ())
        if wanted == held:  # the keys' row is written only when they change
            return
        if wanted:
            await self.conn.execute(UPSERT_KEYS, fiche_id, sorted(wanted))
        else:
            await self.conn.execute(DELETE_KEYS, fiche_id)

    async def candidates(
        self, record: Profile, source: Source, record_id: str, id_types: Sequence[str],
        limit: int,
    ) -> list[tuple[uuid.UUID, Profile]]:
        """The fiches worth scoring against ``record`` (see :data:`CANDIDATES`)."""
        keys = sorted(lookup_keys(blocking_keys(record), source.value))
        if not keys:
            return []
        rows = await self.conn.fetch(CANDIDATES, keys, record.kind, source.value,
                                     sorted(set(id_types)), record_id, limit)
        return [(row["fiche_id"], Profile.from_json(json.loads(row["profile"]))) for row in rows]

    async def still_free(
        self, fiche_id: uuid.UUID, source: Source, id_types: Sequence[str],
    ) -> bool:
        """Lock the fiche and check that no record of ``source`` took it meanwhile."""
        if await self.conn.fetchval(LOCK_FICHE, fiche_id) is None:
            return False
        return bool(await self.conn.fetchval(STILL_FREE, fiche_id, source.value,
                                             sorted(set(id_types))))

    async def reindex(
        self, after: uuid.UUID, limit: int, now: datetime,
    ) -> tuple[uuid.UUID | None, int]:
        """Rewrite the profiles of up to ``limit`` fiches with ids above ``after``: the last
        id done (None when there was none) and how many (``sksync matches reindex``)."""
        rows = await self.conn.fetch(FICHES_AFTER, after, limit)
        held: dict[uuid.UUID, list[Identifier]] = {row["id"]: [] for row in rows}
        sources: dict[uuid.UUID, set[Source]] = {row["id"]: set() for row in rows}
        for item in await self.conn.fetch(IDENTIFIERS_OF, list(held)):
            held[item["fiche_id"]].append(Identifier(type=item["type"], value=item["value"]))
        for item in await self.conn.fetch(SOURCES_OF, list(held)):
            sources[item["fiche_id"]].add(Source(item["source"]))
        for row in rows:
            await self.refresh(row["id"], FicheKind(row["kind"]), json.loads(row["visible"]),
                               held[row["id"]], sources[row["id"]], now)
        return (rows[-1]["id"] if rows else None), len(rows)

    # -- candidates ------------------------------------------------------------------------

    async def pending_of(self, source: Source, record_id: str) -> list[CandidateRow]:
        return [candidate_row(row) for row in
                await self.conn.fetch(PENDING_OF_RECORD, source.value, record_id)]

    async def hold(
        self, update: FicheUpdate, candidates: Sequence[Scored], now: datetime,
    ) -> list[tuple[uuid.UUID, bool]]:
        """Keep ``update`` waiting with each candidate; (id, newly pending) per candidate."""
        document = update.model_dump_json(by_alias=True)
        held = []
        for scored in candidates:
            match_id = candidate_id(update.source, update.record_id, scored.fiche_id)
            parts = json.dumps([p.to_json() for p in scored.score.parts])
            inserted = await self.conn.fetchval(
                UPSERT_CANDIDATE, match_id, update.source.value, update.record_id,
                scored.fiche_id, scored.total, parts, document, update.source_version, now)
            held.append((match_id, bool(inserted)))
        return held

    async def supersede(
        self, source: Source, record_id: str, now: datetime, keep: Sequence[uuid.UUID] = (),
    ) -> None:
        """Close the record's pending candidates (but ``keep``): it was decided otherwise."""
        await self.conn.execute(SUPERSEDE, source.value, record_id, list(keep), now)

    async def candidate(self, match_id: uuid.UUID, *, lock: bool = False) -> CandidateRow | None:
        row = await self.conn.fetchrow(LOCK_CANDIDATE if lock else CANDIDATE_BY_ID, match_id)
        return None if row is None else candidate_row(row)

    async def set_status(
        self, match_id: uuid.UUID, status: str, editor: str, now: datetime,
    ) -> None:
        await self.conn.execute(SET_STATUS, match_id, status, now, editor)

    async def reject(
        self, source: Source, record_id: str, fiche_id: uuid.UUID, editor: str, now: datetime,
    ) -> None:
        """The pair is not the same: it is never proposed again."""
        await self.conn.execute(INSERT_REJECTION, source.value, record_id, fiche_id, editor, now)

    async def waiting(self, limit: int) -> list[CandidateRow]:
        """Pending candidates, oldest first (for ``sksync matches list``)."""
        out = []
        for row in await self.conn.fetch(WAITING, limit):
            profile = row["fiche_profile"]
            display = json.loads(profile)["display"] if profile else ""
            out.append(candidate_row(row, display))
        return out

    async def counts(self) -> dict[str, int]:
        return {row["status"]: int(row["n"]) for row in await self.conn.fetch(COUNT_BY_STATUS)}

    # -- links -----------------------------------------------------------------------------

    async def record_link(
        self, fiche_id: uuid.UUID, update: FicheUpdate, *, score: float | None,
        match_id: uuid.UUID | None, linked_by: str, now: datetime,
    ) -> None:
        identifiers = [i.model_dump() for i in update.identifiers]
        await self.conn.execute(UPSERT_LINK, fiche_id, update.source.value, update.record_id,
                                json.dumps(identifiers), score, match_id, linked_by, now)

    async def link_of(
        self, fiche_id: uuid.UUID, source: Source, record_id: str,
    ) -> LinkRow | None:
        row = await self.conn.fetchrow(LINK_OF, fiche_id, source.value, record_id)
        if row is None:
            return None
        identifiers = tuple(Identifier(**i) for i in json.loads(row["identifiers"]))
        return LinkRow(row["fiche_id"], Source(row["source"]), row["record_id"], identifiers)

    async def mark_split(
        self, link: LinkRow, new_fiche_id: uuid.UUID, editor: str, now: datetime,
    ) -> None:
        await self.conn.execute(MARK_SPLIT, link.fiche_id, link.source.value, link.record_id,
                                new_fiche_id, editor, now)
