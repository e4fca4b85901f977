"""Reading and writing fiches: every SQL statement about fiches is named here, once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import asyncpg

from sync.emitted import Emitted
from sync.events import FicheKind, Identifier, Source
from sync.merge import Conflict, Decision, FicheState, Pin, Provenance

__all__ = ["FicheRepository"]

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

FIND_BY_IDENTIFIERS = """
SELECT DISTINCT fiche_id FROM fiche_identifier
WHERE (type, value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""
LOCK_FICHE = "SELECT * FROM fiche WHERE id = $1 FOR UPDATE"
FICHE_OF_CONFLICT = "SELECT fiche_id FROM conflict WHERE id = $1"
INSERT_FICHE = """
INSERT INTO fiche (id, kind, version) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING
"""
SELECT_VALUES = "SELECT * FROM field_value WHERE fiche_id = $1"
SELECT_PINS = "SELECT * FROM pin WHERE fiche_id = $1"
SELECT_CONFLICTS = "SELECT * FROM conflict WHERE fiche_id = $1 AND status IN ('open', 'kept')"
SELECT_RECORDS = "SELECT source, record_id, source_version FROM source_record WHERE fiche_id = $1"
SELECT_IDENTIFIERS = "SELECT type, value FROM fiche_identifier WHERE fiche_id = $1"
UPDATE_FICHE = """
UPDATE fiche SET version = $2, status = $3, inactive_reason = $4, visible = $5::jsonb,
                 verified_at = $6, updated_at = now()
WHERE id = $1
"""
ADD_IDENTIFIER = """
INSERT INTO fiche_identifier (type, value, fiche_id) VALUES ($1, $2, $3)
ON CONFLICT (type, value) DO NOTHING
"""
UPSERT_VALUE = """
INSERT INTO field_value (fiche_id, field, source, record_id, value, source_version, observed_at,
                         verified_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
ON CONFLICT (fiche_id, field, source, record_id) DO UPDATE
SET value = EXCLUDED.value, source_version = EXCLUDED.source_version,
    observed_at = EXCLUDED.observed_at, verified_at = EXCLUDED.verified_at
"""
DELETE_VALUE = """
DELETE FROM field_value WHERE fiche_id = $1 AND field = $2 AND source = $3 AND record_id = $4
"""
UPSERT_RECORD = """
INSERT INTO source_record (source, record_id, fiche_id, source_version) VALUES ($1, $2, $3, $4)
ON CONFLICT (fiche_id, source, record_id) DO UPDATE SET source_version = EXCLUDED.source_version
"""
UPSERT_PIN = """
INSERT INTO pin (fiche_id, field, value, author, role, reason, pinned_at, review_after)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)
ON CONFLICT (fiche_id, field) DO UPDATE
SET value = EXCLUDED.value, author = EXCLUDED.author, role = EXCLUDED.role,
    reason = EXCLUDED.reason, pinned_at = EXCLUDED.pinned_at, review_after = EXCLUDED.review_after
"""
DELETE_PIN = "DELETE FROM pin WHERE fiche_id = $1 AND field = $2"
UPSERT_CONFLICT = """
INSERT INTO conflict (id, fiche_id, field, candidate, source, record_id, status, raised_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE
SET status = EXCLUDED.status,
    raised_at = CASE WHEN EXCLUDED.status = 'open' AND conflict.status <> 'open'
                     THEN EXCLUDED.raised_at ELSE conflict.raised_at END,
    resolved_at = CASE WHEN EXCLUDED.status = 'open' THEN NULL ELSE EXCLUDED.raised_at END,
    resolved_by = $9
"""
INSERT_HISTORY = """
INSERT INTO fiche_history (fiche_id, version, event_type, changed_fields, cause_source,
                           cause_event_id)
VALUES ($1, $2, $3, $4, $5, $6)
"""
INSERT_OUTBOX = """
INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class FicheRepository:
    """Fiche state in PostgreSQL, on the connection of one unit of work."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def find(self, identifiers: Iterable[Identifier]) -> list[uuid.UUID]:
        items = list(identifiers)
        rows = await self.conn.fetch(
            FIND_BY_IDENTIFIERS, [i.type for i in items], [i.value for i in items])
        return sorted(row["fiche_id"] for row in rows)

    async def fiche_of_conflict(self, conflict_id: uuid.UUID) -> uuid.UUID | None:
        value: uuid.UUID | None = await self.conn.fetchval(FICHE_OF_CONFLICT, conflict_id)
        return value

    async def create(self, fiche_id: uuid.UUID, kind: FicheKind) -> None:
        await self.conn.execute(INSERT_FICHE, fiche_id, kind.value)

    async def identifiers(self, fiche_id: uuid.UUID) -> list[Identifier]:
        rows = await self.conn.fetch(SELECT_IDENTIFIERS, fiche_id)
        return [Identifier(type=row["type"], value=row["value"]) for row in rows]

    async def add_identifiers(self, fiche_id: uuid.UUID, items: Iterable[Identifier]) -> None:
        await self.conn.executemany(ADD_IDENTIFIER, [(i.type, i.value, fiche_id) for i in items])

    async def load(self, fiche_id: uuid.UUID) -> FicheState | None:
        """The fiche's state, locked until the end of the transaction."""
        row = await self.conn.fetchrow(LOCK_FICHE, fiche_id)
        if row is None:
            return None
        state = FicheState(
            fiche_id=fiche_id, kind=FicheKind(row["kind"]), version=row["version"],
            status=row["status"], inactive_reason=row["inactive_reason"],
            visible=json.loads(row["visible"]), verified_at=row["verified_at"],
        )
        for value in await self.conn.fetch(SELECT_VALUES, fiche_id):
            entry = Provenance(value["field"], Source(value["source"]), value["record_id"],
                               json.loads(value["value"]), value["source_version"],
                               value["observed_at"])
            state.provenance[entry.key] = entry
        for pin in await self.conn.fetch(SELECT_PINS, fiche_id):
            review = pin["review_after"]
            state.pins[pin["field"]] = Pin(
                pin["field"], json.loads(pin["value"]), pin["author"], pin["role"],
                pin["reason"], pin["pinned_at"], review.isoformat() if review else None)
        for item in await self.conn.fetch(SELECT_CONFLICTS, fiche_id):
            state.conflicts[item["id"]] = Conflict(
                item["id"], item["field"], json.loads(item["candidate"]),
                Source(item["source"]), item["record_id"], item["status"])
        for record in await self.conn.fetch(SELECT_RECORDS, fiche_id):
            state.records[(Source(record["source"]), record["record_id"])] = (
                record["source_version"])
        return state

    async def save(
        self, decision: Decision, *, source: Source, record_id: str, source_version: int,
        cause: tuple[str, str], editor: str | None, now: datetime,
    ) -> None:
        """Write what ``decision`` changed; the caller owns the transaction."""
        state = decision.state
        fid = state.fiche_id
        await self.conn.executemany(UPSERT_VALUE, [
            (fid, p.field, p.source.value, p.record_id, _json(p.value), p.source_version,
             p.observed_at, p.observed_at if p.source in (Source.COBRHA, Source.KBO) else None)
            for p in decision.provenance_upserts])
        await self.conn.executemany(DELETE_VALUE, [
            (fid, k[0], k[1].value, k[2]) for k in decision.provenance_deletes])
        if (source, record_id) in state.records:
            await self.conn.execute(UPSERT_RECORD, source.value, record_id, fid, source_version)
        await self.conn.executemany(UPSERT_PIN, [
            (fid, p.field, _json(p.value), p.author, p.role, p.reason, p.pinned_at,
             date.fromisoformat(p.review_after) if p.review_after else None)
            for p in decision.pins_set])
        await self.conn.executemany(DELETE_PIN, [(fid, f) for f in decision.pins_released])
        await self.conn.executemany(UPSERT_CONFLICT, [
            (c.id, fid, c.field, _json(c.candidate), c.source.value, c.record_id, c.status, now,
             editor if c.status in ("accepted", "kept") else None)
            for c in decision.conflicts_written])
        await self.conn.execute(
            UPDATE_FICHE, fid, state.version, state.status, state.inactive_reason,
            _json(state.visible), state.verified_at)
        if decision.event_type is not None:
            await self.conn.execute(
                INSERT_HISTORY, fid, state.version, decision.event_type,
                list(decision.changed_fields), cause[0], cause[1])

    async def enqueue(self, events: Iterable[Emitted], topics: dict[str, str]) -> None:
        await self.conn.executemany(INSERT_OUTBOX, [
            (e.event_id, topics[e.topic], e.key, _json(e.document)) for e in events])
