"""When each source was last applied (migration 0021): a row per source and writer slot, read
through the ``source_progress`` view, so that transactions applied at the same time no longer
queue on one row; ``sksync migrate`` keeps the rows written before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from sync.settings import Settings
from sync.store.fiche_sql import TOUCH_PROGRESS
from tests.support.cli import sksync

#: One row per source, as migration 0001 made it.
OLD_LAYOUT = """
DROP VIEW source_progress;
CREATE TABLE source_progress (
    source          text PRIMARY KEY,
    last_applied_at timestamptz NOT NULL,
    last_event_time timestamptz
);
INSERT INTO source_progress
SELECT source, max(last_applied_at), max(last_event_time) FROM source_progress_writer
GROUP BY source;
DROP TABLE source_progress_writer;
DELETE FROM schema_migration WHERE name = '0021_source_progress_per_writer.sql';
"""
EARLY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
COBRHA = "cobrha"


async def _connection_in_another_slot(url: str, pid: int) -> asyncpg.Connection:
    """A connection whose backend writes to another slot than backend ``pid``'s."""
    for _ in range(40):
        conn = await asyncpg.connect(url)
        if await conn.fetchval("SELECT pg_backend_pid() % 16") != pid % 16:
            return conn
        await conn.close()
    raise AssertionError("no backend in another slot after 40 connections")


async def test_two_transactions_touch_a_source_at_once_without_waiting(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    first = await asyncpg.connect(pg_url)
    pid = await first.fetchval("SELECT pg_backend_pid()")
    second = await _connection_in_another_slot(pg_url, pid)
    try:
        async with first.transaction():
            await first.execute(TOUCH_PROGRESS, [COBRHA], [EARLY], [EARLY])
            # The first holds its row until it commits; the second writes its own at once.
            async with second.transaction():
                await second.execute("SET LOCAL lock_timeout = '2s'")
                later = EARLY + timedelta(minutes=5)
                await second.execute(TOUCH_PROGRESS, [COBRHA], [later], [EARLY])
        rows = await pg_conn.fetch("SELECT * FROM source_progress")
        assert [dict(row) for row in rows] == [
            {"source": COBRHA, "last_applied_at": later, "last_event_time": EARLY}]
        assert await pg_conn.fetchval("SELECT count(*) FROM source_progress_writer") == 2
    finally:
        await first.close()
        await second.close()


async def test_a_source_touched_again_by_its_slot_keeps_the_latest_event_time(
    pg_conn: asyncpg.Connection,
) -> None:
    later = EARLY + timedelta(hours=1)
    await pg_conn.execute(TOUCH_PROGRESS, [COBRHA], [EARLY], [later])
    await pg_conn.execute(TOUCH_PROGRESS, [COBRHA], [later], [EARLY])
    row = await pg_conn.fetchrow("SELECT * FROM source_progress")
    assert row is not None
    assert (row["last_applied_at"], row["last_event_time"]) == (later, later)


async def test_sksync_migrate_keeps_the_progress_written_one_row_per_source(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    await pg_conn.execute(OLD_LAYOUT)
    await pg_conn.execute("INSERT INTO source_progress VALUES ($1, $2, $3), ('kbo', $2, NULL)",
                          COBRHA, EARLY, EARLY - timedelta(days=1))
    result = await sksync(settings, "migrate")
    assert result.exit_code == 0, result.output
    rows = await pg_conn.fetch("SELECT * FROM source_progress ORDER BY source")
    assert [tuple(row) for row in rows] == [
        (COBRHA, EARLY, EARLY - timedelta(days=1)), ("kbo", EARLY, None)]
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM source_progress_writer WHERE writer = 0") == 2
