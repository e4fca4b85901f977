"""The Prometheus gauges that need a look at the database and the broker, kept fresh by a
task of the service. The counters are set where things happen; these are polled."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from sync.observability import metrics
from sync.ops.lag import LagReader
from sync.ops.status import consumer_groups, database_figures, lag_rows
from sync.settings import Settings

__all__ = ["poll_gauges", "refresh_gauges"]

log = structlog.get_logger(__name__)

#: Combinations always exported, so a count that drops to nothing reads 0, not its last value.
FICHE_KINDS = ("person", "organisation")
FICHE_STATUSES = ("active", "inactive")


async def refresh_gauges(settings: Settings, pool: asyncpg.Pool, reader: LagReader) -> None:
    """Set every polled gauge once: lag of both groups, outbox, conflicts, fiches, sources
    (the lag read with ``reader``'s clients)."""
    async with pool.acquire() as conn:
        figures = await database_figures(conn)
    _set_database(figures)
    for group, topics in consumer_groups(settings):
        for row in await lag_rows(reader, group, topics):
            metrics.CONSUMER_LAG.labels(group, row.topic, str(row.partition)).set(row.lag)


def _set_database(figures: dict[str, Any]) -> None:
    outbox = figures["outbox"]
    metrics.OUTBOX_BACKLOG.set(outbox["backlog"])
    metrics.OUTBOX_OLDEST_AGE.set(outbox["oldestUnsentAgeSeconds"] or 0.0)
    metrics.OUTBOX_PARKED_ROWS.set(sum(outbox["parked"].values()))
    for table, rows in figures["tableRowsEstimate"].items():
        metrics.TABLE_ROWS.labels(table).set(rows)
    metrics.OPEN_CONFLICTS.set(figures["openConflicts"])
    counts = {(row["kind"], row["status"]): row["count"] for row in figures["fiches"]}
    for kind in FICHE_KINDS:
        for status in FICHE_STATUSES:
            metrics.FICHES.labels(kind, status).set(counts.get((kind, status), 0))
    for row in figures["sources"]:
        last = datetime.fromisoformat(row["lastAppliedAt"])
        metrics.LAST_APPLY.labels(row["source"]).set(last.timestamp())
    waits = figures["lockWaits"]
    metrics.DATABASE_LOCK_WAITERS.set(waits["sessions"])
    metrics.DATABASE_HOLDING_AGE.set(max(
        (head["transactionAgeSeconds"] or 0.0 for head in waits["heldBy"]), default=0.0))


async def poll_gauges(settings: Settings, pool: asyncpg.Pool, interval_s: float = 5.0) -> None:
    """Refresh the gauges every ``interval_s`` until cancelled, with one admin client and one
    consumer for the life of the task (new ones after a failed read).

    A failed refresh (database or broker away) is logged and the loop goes on; it logs when
    the failures start and when they stop, not every ``interval_s`` in between.
    """
    async with LagReader(settings) as reader:
        await _poll(settings, pool, reader, interval_s)


async def _poll(settings: Settings, pool: asyncpg.Pool, reader: LagReader,
                interval_s: float) -> None:
    failing = False
    while True:
        try:
            await asyncio.wait_for(refresh_gauges(settings, pool, reader),
                                   max(30.0, 2 * interval_s))
        except Exception as error:  # a metrics hiccup must never stop the service
            if not failing:
                log.warning("gauges not refreshed", error=f"{type(error).__name__}: {error}")
            failing = True
        else:
            if failing:
                log.info("gauges refreshed again")
            failing = False
        await asyncio.sleep(interval_s)
