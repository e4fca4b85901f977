"""The status figures: lag, outbox, dead letters, conflicts, fiches and sources.

Reads only the broker and the database, so it works while no service runs (that is when an
operator needs it most). ``sksync status`` (:mod:`sync.cli.status`), the console and the
Prometheus gauges (:mod:`sync.ops.gauges`) show the same figures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_fixed

from sync.ops.database import database
from sync.ops.lag import LagReader, PartitionLag
from sync.settings import Settings
from sync.store.conflicts import Conn, count_open_conflicts
from sync.store.outbox import PARKED, TABLE_ESTIMATES

__all__ = [
    "broker_figures", "collect_status", "consumer_groups", "database_figures", "describe",
    "holding_problems", "lag_rows", "lock_waits", "patiently",
]

T = TypeVar("T")
P = ParamSpec("P")
#: A status part that takes longer than this is reported as a problem, not waited for.
PART_TIMEOUT_S = 30.0
RETRIABLE_FOR_S = 10.0

OUTBOX = """
SELECT count(*) AS backlog,
       EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age_s
FROM outbox WHERE parked_at IS NULL
"""
#: Kept by triggers on fiche (migration 0022): a count(*) would read the whole table.
FICHES = """
SELECT kind, status, sum(fiches) AS n FROM fiche_tally
GROUP BY kind, status HAVING sum(fiches) <> 0 ORDER BY 1, 2
"""
PROGRESS = """
SELECT source, last_applied_at, last_event_time,
       EXTRACT(EPOCH FROM now() - last_applied_at)::float8 AS age_s
FROM source_progress ORDER BY source
"""

#: A transaction that has held others up this long is named under ``problems``.
HOLDING_PROBLEM_S = 10.0
#: The database's sessions waiting for a lock, and the sessions they wait for that wait on no
#: lock themselves: the heads of the chains (busy, idle in a transaction, or waiting for
#: their client). ``pg_blocking_pids`` is called for the waiting sessions only.
LOCK_WAITS = r"""
WITH waiting AS (
    SELECT pid, EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8 AS waited_s,
           pg_blocking_pids(pid) AS blockers
    FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
), heads AS (
    SELECT h.pid, h.state, h.wait_event, h.xact_start, h.query,
           count(*) AS holds_up, max(w.waited_s) AS longest_s
    FROM waiting w JOIN pg_stat_activity h ON h.pid = ANY (w.blockers)
    WHERE h.wait_event_type IS DISTINCT FROM 'Lock'
    GROUP BY h.pid, h.state, h.wait_event, h.xact_start, h.query
)
SELECT (SELECT count(*) FROM waiting) AS waiting,
       (SELECT max(waited_s) FROM waiting) AS longest_s,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
           'pid', pid, 'state', state, 'wait', wait_event, 'holdsUp', holds_up,
           'longestWaitSeconds', longest_s,
           'transactionAgeSeconds', EXTRACT(EPOCH FROM clock_timestamp() - xact_start)::float8,
           'statement', left(regexp_replace(query, '\s+', ' ', 'g'), 120))
           ORDER BY xact_start) FROM heads), '[]') AS heads
"""


def describe(error: BaseException) -> str:
    """An error as one line, its type named once."""
    name, lines = type(error).__name__, str(error).splitlines()
    text = lines[0] if lines else ""
    return text if text.startswith(name) else f"{name}: {text}".rstrip(": ")


def consumer_groups(settings: Settings) -> list[tuple[str, list[str]]]:
    """The service's two consumer groups and the topics each reads (as in :mod:`sync.app`),
    then the search indexer's (``sksync index``), shown once it has committed (see lag_rows).

    ``<g>.map`` reads the source topics: where one process maps and applies (the default, one
    hop) its lag is the source events not yet applied. ``<g>.apply`` reads ``sk.fiche.update``:
    the canonical updates a separate mapping process wrote and the apply stage has not applied
    yet (audit copies are skipped; in one hop its lag is 0 once it has drained the topic)."""
    topics = settings.topics
    return [(f"{settings.consumer_group}.map", topics.sources()),
            (f"{settings.consumer_group}.apply", [topics.name("fiche_update")]),
            (f"{settings.consumer_group}.index", [topics.name("fiche_event")])]


async def lag_rows(reader: LagReader, group: str, names: list[str]) -> list[PartitionLag]:
    """A group's lag; none for the indexer's group until it has run (it is optional)."""
    rows = await patiently(reader.group_lag, group, names)
    unused = group.endswith(".index") and all(row.committed is None for row in rows)
    return [] if unused else rows


async def database_figures(conn: Conn) -> dict[str, Any]:
    """Outbox, open conflicts, fiches by kind and status, and last apply per source."""
    outbox = await conn.fetchrow(OUTBOX)
    assert outbox is not None  # an aggregate without GROUP BY always returns one row
    return {
        "outbox": {"backlog": int(outbox["backlog"]),
                   "oldestUnsentAgeSeconds": outbox["oldest_age_s"],
                   "parked": {r["reason"]: int(r["rows"]) for r in await conn.fetch(PARKED)}},
        "tableRowsEstimate": {r["name"]: int(r["rows"])
                              for r in await conn.fetch(TABLE_ESTIMATES)},
        "openConflicts": await count_open_conflicts(conn),
        "fiches": [{"kind": r["kind"], "status": r["status"], "count": int(r["n"])}
                   for r in await conn.fetch(FICHES)],
        "sources": [{"source": r["source"], "lastAppliedAt": r["last_applied_at"].isoformat(),
                     "lastEventTime": _iso(r["last_event_time"]), "ageSeconds": r["age_s"]}
                    for r in await conn.fetch(PROGRESS)],
        "lockWaits": await lock_waits(conn),
    }


async def lock_waits(conn: Conn) -> dict[str, Any]:
    """The sessions waiting for a lock now (how many, the longest wait) and the sessions
    holding them up (:data:`LOCK_WAITS`). A transaction that holds rows for minutes while its
    client says nothing stalls every batch that needs them, each retry timing out in turn:
    this names it."""
    row = await conn.fetchrow(LOCK_WAITS)
    assert row is not None  # scalar subqueries: always one row
    return {"sessions": int(row["waiting"]), "longestSeconds": row["longest_s"],
            "heldBy": json.loads(row["heads"])}


def holding_problems(waits: dict[str, Any]) -> list[str]:
    """A line for each session that has held others up for :data:`HOLDING_PROBLEM_S` or
    more, saying how to end it."""
    lines = []
    for head in waits["heldBy"]:
        age = head["transactionAgeSeconds"]
        if age is None or age < HOLDING_PROBLEM_S:
            continue
        doing = head["state"] or "state not visible to this role"
        if head["wait"]:
            doing += f", waiting for {head['wait']}"
        lines.append(
            f"database: session {head['pid']} ({doing}) has held its transaction for "
            f"{age:.0f} s and holds up {head['holdsUp']} session(s); if it does not move, "
            f"`SELECT pg_terminate_backend({head['pid']})` ends it and releases its locks")
    return lines


async def broker_figures(settings: Settings, reader: LagReader | None = None) -> dict[str, Any]:
    """Lag per group and topic (summed over partitions) and dead letters per DLQ topic, read
    with ``reader``'s clients (or, without one, clients of this call's own)."""
    if reader is None:
        async with LagReader(settings) as own:
            return await broker_figures(settings, own)
    lag = []
    for group, names in consumer_groups(settings):
        rows = await lag_rows(reader, group, names)
        if not rows and group.endswith(".index"):
            continue
        per_topic: dict[str, dict[str, int]] = {name: {} for name in names}
        for row in rows:
            per_topic[row.topic][str(row.partition)] = row.lag
        lag += [{"group": group, "topic": topic, "lag": sum(parts.values()), "partitions": parts}
                for topic, parts in per_topic.items()]
    topics = settings.topics
    dlqs = [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]
    dead = dict.fromkeys(dlqs, 0)
    for tp, (begin, end) in (await reader.offsets(dlqs)).items():
        dead[tp.topic] += end - begin
    return {"lag": lag, "deadLetters": dead}


async def patiently(
    operation: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs,
) -> T:
    """Retry what the broker calls retriable for a few seconds: on a fresh cluster the group
    coordinator is still being elected when the first group is looked up."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, KafkaError) and e.retriable),
        wait=wait_fixed(0.5), stop=stop_after_delay(RETRIABLE_FOR_S), reraise=True,
    ):
        with attempt:
            return await operation(*args, **kwargs)
    raise AssertionError("unreachable: AsyncRetrying returns or raises")


async def collect_status(
    settings: Settings, reader: LagReader | None = None, pool: asyncpg.Pool | None = None,
) -> dict[str, Any]:
    """One status document; a part that cannot be read is named under ``problems``. With
    ``reader`` and ``pool`` (a caller that samples again and again), their clients and
    connections are used instead of new ones for this call."""
    doc: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "problems": []}
    try:
        doc |= await asyncio.wait_for(broker_figures(settings, reader), PART_TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as error:
        doc["problems"].append(f"broker: {describe(error)}")
    try:
        doc |= await asyncio.wait_for(_database(settings, pool), PART_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        doc["problems"].append(f"database: {describe(error)}")
    if "lockWaits" in doc:
        doc["problems"] += holding_problems(doc["lockWaits"])
    parked = doc.get("outbox", {}).get("parked")
    if parked:
        doc["problems"].append(
            f"outbox: {sum(parked.values())} event(s) parked, not published "
            f"({', '.join(sorted(parked))}): `sksync outbox parked` lists them")
    return doc


async def _database(settings: Settings, pool: asyncpg.Pool | None) -> dict[str, Any]:
    if pool is not None:
        async with pool.acquire() as pooled:
            return await database_figures(pooled)
    async with database(settings) as conn:
        return await database_figures(conn)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
