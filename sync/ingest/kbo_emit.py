"""Per affected enterprise: compare its assembled state with the one emitted before, decide,
publish, and remember.

The decision is a pure function (:func:`decide`); the rest walks the affected enterprises in
keyset batches so that a Full extract of two million enterprises runs in bounded memory.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from enum import Enum
from typing import Any

import asyncpg

from sync.ingest import kbo_sql as sql
from sync.ingest.common import Progress, Publish, cloud_event
from sync.ingest.kbo_zip import KboMeta
from sync.mapping.kbo_model import (
    KBO_REMOVED,
    KBO_SOURCE,
    KBO_UPSERTED,
    KboEntityData,
    KboEntityRemovedData,
)

__all__ = ["Linked", "Outcome", "Previous", "decide", "emit_changes"]

STATE_BATCH = 1000

#: Returns the enterprise numbers (10 digits) already linked to a fiche.
Linked = Callable[[], Awaitable[set[str]]]


class Outcome(Enum):
    UPSERTED = "upserted"  # published: new, changed, reactivated or newly relevant
    REMOVED = "removed"  # published: gone from the KBO after having been published
    UNCHANGED = "unchanged"  # same digest, nothing to do
    NOT_RELEVANT = "not_relevant"  # new or changed, recorded, not published (not care)
    GONE = "gone"  # absent now and not active before: nothing to do


@dataclass(frozen=True)
class Previous:
    """What kbo.entity_state held for the enterprise."""

    digest: str
    active: bool
    emitted: bool


def decide(digest: str | None, relevant: bool, previous: Previous | None) -> Outcome:
    """What to do with one enterprise. ``digest`` is None when it is no longer in the KBO;
    ``relevant``: care NACE code (86, 87, 88) on it or a unit, or linked to a fiche.

    Once published, an enterprise stays followed even when it stops being care-relevant:
    the fiche built from it must hear of the change.
    """
    if digest is None:
        if previous is None or not previous.active:
            return Outcome.GONE
        return Outcome.REMOVED if previous.emitted or relevant else Outcome.NOT_RELEVANT
    if previous is None:
        return Outcome.UPSERTED if relevant else Outcome.NOT_RELEVANT
    changed = previous.digest != digest or not previous.active
    if previous.emitted:
        return Outcome.UPSERTED if changed else Outcome.UNCHANGED
    if relevant:
        return Outcome.UPSERTED  # first time relevant (e.g. newly linked), changed or not
    return Outcome.NOT_RELEVANT if changed else Outcome.UNCHANGED


@dataclass
class _Batch:
    """State writes gathered for one batch: upserts (number, digest, state, emitted)."""

    numbers: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    emitted: list[bool] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_emitted: list[str] = field(default_factory=list)


async def emit_changes(
    conn: asyncpg.Connection, meta: KboMeta, publish: Publish, linked: set[str],
    counts: dict[Outcome, int], progress: Progress | None,
) -> None:
    """Decide and publish for every enterprise in ``kbo_affected``, updating entity_state."""
    after, done = "", 0
    while rows := await conn.fetch(sql.STATES, after, STATE_BATCH):
        batch = _Batch()
        for row in rows:
            outcome = await _one(row, meta, publish, linked, batch)
            counts[outcome] = counts.get(outcome, 0) + 1
        await _write(conn, meta, batch)
        after, done = rows[-1]["enterprise_number"], done + len(rows)
        if progress is not None:
            progress("entities", done)


async def _one(
    row: asyncpg.Record, meta: KboMeta, publish: Publish, linked: set[str], batch: _Batch,
) -> Outcome:
    number: str = row["enterprise_number"]
    previous = None
    if row["old_digest"] is not None:
        previous = Previous(row["old_digest"], row["old_active"], row["old_emitted"])
    outcome = decide(row["digest"], row["care"] or number in linked, previous)
    if outcome is Outcome.UPSERTED or (outcome is Outcome.NOT_RELEVANT and row["digest"]):
        batch.numbers.append(number)
        batch.digests.append(row["digest"])
        batch.states.append(row["state"])
        batch.emitted.append(outcome is Outcome.UPSERTED)
    elif outcome in (Outcome.REMOVED, Outcome.NOT_RELEVANT):
        batch.removed.append(number)
    if outcome is Outcome.UPSERTED:
        await publish(_upserted(meta, json.loads(row["state"])))
    elif outcome is Outcome.REMOVED:
        batch.removed_emitted.append(number)
        await publish(_removed(meta, number))
    return outcome


async def _write(conn: asyncpg.Connection, meta: KboMeta, batch: _Batch) -> None:
    if batch.numbers:
        await conn.execute(sql.UPSERT_STATES, batch.numbers, batch.digests, batch.states,
                           meta.extract_number, batch.emitted)
    if batch.removed:
        await conn.execute(sql.MARK_REMOVED, batch.removed, meta.extract_number,
                           batch.removed_emitted)


def _upserted(meta: KboMeta, state: dict[str, Any]) -> dict[str, Any]:
    # Validating what we send keeps the SQL and the published contract in step.
    data = KboEntityData.model_validate({"sourceVersion": meta.extract_number, **state})
    return _event(meta, KBO_UPSERTED, data.enterprise_number,
                  data.model_dump(mode="json", by_alias=True))


def _removed(meta: KboMeta, number: str) -> dict[str, Any]:
    data = KboEntityRemovedData(source_version=meta.extract_number, enterprise_number=number)
    return _event(meta, KBO_REMOVED, number, data.model_dump(mode="json", by_alias=True))


def _event(meta: KboMeta, kind: str, number: str, data: dict[str, Any]) -> dict[str, Any]:
    return cloud_event(
        id=f"kbo-{number}-{meta.extract_number}",
        source=KBO_SOURCE,
        type=kind,
        subject=number,
        time=datetime.combine(meta.snapshot_date, time(0), UTC),
        data=data,
    )
