"""The limits of the tools, measured on the same machine in the same run.

* how fast aiokafka alone consumes the source messages, doing nothing with them;
* how fast asyncpg ``COPY`` writes the rows the service wrote for those messages (the same
  rows, taken from the service's own tables, into copies of those tables with the same primary
  keys and indexes, without foreign keys).
"""

from __future__ import annotations

import io
import time

import asyncpg

from bench.kafka_io import consumer, partitions
from sync.settings import Settings

__all__ = ["TABLES", "copy_rate", "raw_consume_rate"]

#: Every table the apply transaction writes for a new fiche, matching's index included.
#: (A record's values are on its ``source_record`` row; ``field_value`` is a view of them.
#: The outbox is copied with what it holds at the time, usually nothing: the relay deletes
#: each row once published, so its insert and delete are not in the limit.)
TABLES = ("fiche", "fiche_identifier", "source_record", "fiche_history", "outbox",
          "match_profile", "match_keys")


async def raw_consume_rate(settings: Settings, topic: str, count: int, timeout: float = 300,
                           ) -> float:
    """Messages per second read by a bare consumer from the beginning of ``topic``."""
    async with consumer(settings, max_partition_fetch_bytes=8 * 1024 * 1024,
                        fetch_max_bytes=64 * 1024 * 1024) as reader:
        parts = await partitions(reader, topic)
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        seen = 0
        started = time.perf_counter()
        deadline = started + timeout
        while seen < count and time.perf_counter() < deadline:
            batches = await reader.getmany(timeout_ms=1000, max_records=10000)
            seen += sum(len(records) for records in batches.values())
        elapsed = time.perf_counter() - started
    return seen / elapsed


async def copy_rate(database_url: str, events: int, sample: int) -> dict[str, float]:
    """Rows and events per second when COPY writes the rows of about ``sample`` of the
    updates the service applied (a proportional share of every table; ``events`` is how
    many the initial load had, the steady state adds more). An event here is an applied
    update: one source record row and everything written with it."""
    conn = await asyncpg.connect(database_url)
    try:
        applied = await conn.fetchval("SELECT count(*) FROM source_record")
        share = min(1.0, sample / max(1, applied))
        buffers: dict[str, tuple[bytes, int]] = {}
        for table in TABLES:
            total = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            limit = int(total * share)
            sink = io.BytesIO()
            await conn.copy_from_query(f"SELECT * FROM {table} LIMIT {limit}",  # noqa: S608
                                       output=sink, format="binary")
            buffers[table] = (sink.getvalue(), limit)
        # Ordinary (logged) tables, as the service's: a temporary table would skip the WAL.
        await conn.execute("DROP SCHEMA IF EXISTS copy_limit CASCADE; CREATE SCHEMA copy_limit")
        for table in TABLES:
            await conn.execute(
                f"CREATE TABLE copy_limit.{table} (LIKE public.{table} INCLUDING ALL)")
        rows = 0
        started = time.perf_counter()
        async with conn.transaction():
            for table, (data, limit) in buffers.items():
                await conn.copy_to_table(table, schema_name="copy_limit",
                                         source=io.BytesIO(data), format="binary")
                rows += limit
        elapsed = time.perf_counter() - started
        await conn.execute("DROP SCHEMA copy_limit CASCADE")
    finally:
        await conn.close()
    events_copied = buffers["source_record"][1]  # one per source record the service applied
    return {"rows": rows, "events": events_copied, "rows_per_s": rows / elapsed,
            "events_per_s": events_copied / elapsed, "seconds": elapsed}
