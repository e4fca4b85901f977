"""Ingest a KBO Open Data ZIP: mirror it in PostgreSQL, publish one event per changed
care-relevant enterprise (``sksync ingest kbo FILE.zip``; SOURCES.md §3).

Flow, in one transaction: check the extract order, load the mirror (Full: replace; Update:
deletes then inserts), assemble the state of every affected enterprise in SQL, compare its
digest with ``kbo.entity_state``, publish ``upserted`` / ``removed``, record the extract.
Events are published before the commit: if the commit fails the run is repeated and the
same events go out again with the same ids (``kbo-<number>-<extract>``), which downstream
deduplicates. A run that fails leaves the mirror and the entity states untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import structlog

from sync.ingest import kbo_sql as sql
from sync.ingest.common import Flush, InvalidRow, InvalidRows, Progress, Publish
from sync.ingest.kbo_emit import Linked, Outcome, emit_changes
from sync.ingest.kbo_state import check_extract_order, load_full, load_update, record_extract
from sync.ingest.kbo_zip import KboZip, ZipLimits

__all__ = ["KboIngestSummary", "ingest_kbo_zip", "linked_in_fiche_identifier"]

log = structlog.get_logger(__name__)


@dataclass
class KboIngestSummary:
    """What one ingest did. ``rows_read``: valid rows per CSV file; ``invalid_rows``: the
    first skipped rows as (file, line, reason), ``invalid_row_count`` all of them."""

    extract_number: int
    extract_type: str
    rows_read: dict[str, int] = field(default_factory=dict)
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    invalid_row_count: int = 0
    entities_upserted: int = 0
    entities_removed: int = 0
    entities_unchanged: int = 0
    entities_not_relevant: int = 0


async def ingest_kbo_zip(
    conn: asyncpg.Connection,
    path: Path,
    publish: Publish,
    *,
    progress: Progress | None = None,
    linked: Linked | None = None,
    limits: ZipLimits | None = None,
    flush: Flush | None = None,
) -> KboIngestSummary:
    """Ingest one KBO Full or Update ZIP and publish the resulting entity events.

    ``linked`` returns the enterprise numbers already linked to a fiche (they are published
    even without a care NACE code); by default they are read from ``fiche_identifier``
    (type ``CBE``) when that table exists. ``flush`` is awaited before the commit, so a
    batching ``publish`` can make sure every event is on the broker first. Raises
    :class:`~sync.ingest.common.IngestError` (``KboZipError``, ``ExtractOrderError``) when the
    file cannot be ingested at all.
    """
    with KboZip(path, limits) as kbo:
        meta = kbo.meta
        summary = KboIngestSummary(meta.extract_number, meta.extract_type)
        invalid = InvalidRows()
        counts: dict[Outcome, int] = {}
        async with conn.transaction():
            linked_numbers = await (linked() if linked else linked_in_fiche_identifier(conn))
            await check_extract_order(conn, meta)
            load = load_full if meta.is_full else load_update
            await load(conn, kbo, invalid, summary.rows_read, progress)
            await emit_changes(conn, meta, publish, linked_numbers, counts, progress)
            await record_extract(conn, meta)
            if flush is not None:
                await flush()
    _fill(summary, invalid, counts)
    log.info("kbo extract ingested", extract=meta.extract_number, type=meta.extract_type,
             upserted=summary.entities_upserted, removed=summary.entities_removed,
             invalid_rows=summary.invalid_row_count)
    return summary


async def linked_in_fiche_identifier(conn: asyncpg.Connection) -> set[str]:
    """Enterprise numbers (10 digits) that identify a fiche; empty without that table."""
    if not await conn.fetchval("SELECT to_regclass('fiche_identifier') IS NOT NULL"):
        return set()
    return {row["value"].replace(".", "") for row in await conn.fetch(sql.LINKED_NUMBERS)}


def _fill(summary: KboIngestSummary, invalid: InvalidRows, counts: dict[Outcome, int]) -> None:
    summary.invalid_rows = invalid.rows
    summary.invalid_row_count = invalid.count
    summary.entities_upserted = counts.get(Outcome.UPSERTED, 0)
    summary.entities_removed = counts.get(Outcome.REMOVED, 0)
    summary.entities_unchanged = counts.get(Outcome.UNCHANGED, 0)
    summary.entities_not_relevant = counts.get(Outcome.NOT_RELEVANT, 0)
