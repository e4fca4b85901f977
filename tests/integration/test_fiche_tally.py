"""Fiches by kind and status (migration 0022): kept by triggers on fiche in a row per kind,
status and writing backend, read by ``sksync status`` and the gauges without a count(*); the
retention folds the rows of backends that have gone; ``sksync migrate`` counts the fiches
already there."""

from __future__ import annotations

import asyncpg

from sync.ops.status import database_figures
from sync.producers.relay import STATEMENTS
from sync.producers.session import PreparedSession
from sync.settings import Settings
from sync.store.outbox import Retention
from tests.support.cli import sksync

ADD = """
INSERT INTO fiche (id, kind, version, status)
SELECT gen_random_uuid(), $1, 1, $2 FROM generate_series(1, $3)
"""
#: Migration 0022 undone: no tally, no triggers, the index on (kind, status) back.
OLD_LAYOUT = """
DROP TRIGGER fiche_tally_inserted ON fiche;
DROP TRIGGER fiche_tally_moved ON fiche;
DROP TRIGGER fiche_tally_deleted ON fiche;
DROP TRIGGER fiche_tally_truncated ON fiche;
DROP FUNCTION fiche_tally_counted(), fiche_tally_moved(), fiche_tally_truncated();
DROP TABLE fiche_tally;
CREATE INDEX fiche_kind_status ON fiche (kind, status);
DELETE FROM schema_migration WHERE name = '0022_fiche_tally.sql';
"""


async def _reported(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    figures = await database_figures(conn)
    return {(row["kind"], row["status"]): row["count"] for row in figures["fiches"]}


async def _counted(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    rows = await conn.fetch("SELECT kind, status, count(*) AS n FROM fiche GROUP BY 1, 2")
    return {(row["kind"], row["status"]): row["n"] for row in rows}


async def test_the_counts_follow_new_fiches_changes_of_status_and_deletes_by_any_backend(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    other = await asyncpg.connect(pg_url)
    try:
        await pg_conn.execute(ADD, "person", "active", 7)
        await other.execute(ADD, "organisation", "active", 3)
        await other.execute(ADD, "person", "inactive", 2)
        assert await _reported(pg_conn) == {
            ("organisation", "active"): 3, ("person", "active"): 7, ("person", "inactive"): 2}
        # Moved by the other backend: its row for (person, active) goes below zero.
        await other.execute("UPDATE fiche SET status = 'inactive' WHERE id IN ("
                            "SELECT id FROM fiche WHERE kind = 'person' AND status = 'active'"
                            " LIMIT 4)")
        # Rewritten without a change of kind or status: nothing moves.
        await pg_conn.execute("UPDATE fiche SET version = version + 1, status = status")
        await pg_conn.execute("DELETE FROM fiche WHERE kind = 'organisation'")
        assert await _reported(pg_conn) == await _counted(pg_conn) == {
            ("person", "active"): 3, ("person", "inactive"): 6}
        writers = await pg_conn.fetchval("SELECT count(DISTINCT writer) FROM fiche_tally")
        assert writers == 2
    finally:
        await other.close()


async def test_a_transaction_rolled_back_counts_nothing(pg_conn: asyncpg.Connection) -> None:
    await pg_conn.execute(ADD, "person", "active", 2)
    tx = pg_conn.transaction()
    await tx.start()
    await pg_conn.execute(ADD, "person", "active", 5)
    await tx.rollback()
    assert await _reported(pg_conn) == {("person", "active"): 2}


async def test_retention_folds_the_rows_of_backends_that_have_gone(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    gone = await asyncpg.connect(pg_url)
    gone_pid = await gone.fetchval("SELECT pg_backend_pid()")
    await gone.execute(ADD, "person", "active", 4)
    await gone.execute(ADD, "organisation", "inactive", 1)
    await gone.close()
    await pg_conn.execute(ADD, "person", "active", 2)
    for _ in range(100):  # the backend's exit is asynchronous to close()
        if not await pg_conn.fetchval(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)", gone_pid):
            break
        await pg_conn.execute("SELECT pg_sleep(0.05)")
    session = PreparedSession(pg_conn)  # as the relay runs it: prepared before its lock
    await session.prepare(STATEMENTS)
    await Retention(inbox_s=86400).delete_step(session)
    rows = await pg_conn.fetch("SELECT kind, status, writer, fiches FROM fiche_tally "
                               "ORDER BY kind, status, writer")
    mine = await pg_conn.fetchval("SELECT pg_backend_pid()")
    assert [tuple(row) for row in rows] == [
        ("organisation", "inactive", 0, 1), ("person", "active", 0, 4),
        ("person", "active", mine, 2)]
    assert await _reported(pg_conn) == await _counted(pg_conn)


async def test_truncate_empties_the_counts(pg_conn: asyncpg.Connection) -> None:
    await pg_conn.execute(ADD, "person", "active", 3)
    await pg_conn.execute("TRUNCATE fiche CASCADE")
    assert await _reported(pg_conn) == {}
    await pg_conn.execute(ADD, "organisation", "active", 1)
    assert await _reported(pg_conn) == {("organisation", "active"): 1}


async def test_sksync_migrate_counts_the_fiches_already_there(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    await pg_conn.execute(OLD_LAYOUT)
    await pg_conn.execute(ADD, "person", "active", 5)
    await pg_conn.execute(ADD, "organisation", "inactive", 2)
    result = await sksync(settings, "migrate")
    assert result.exit_code == 0, result.output
    assert await pg_conn.fetchval("SELECT sum(fiches) FROM fiche_tally WHERE writer = 0") == 7
    assert await pg_conn.fetchval("SELECT to_regclass('fiche_kind_status')") is None
    await pg_conn.execute("UPDATE fiche SET status = 'inactive' WHERE id = $1", await
                          pg_conn.fetchval("SELECT id FROM fiche WHERE kind = 'person' LIMIT 1"))
    assert await _reported(pg_conn) == {
        ("organisation", "inactive"): 2, ("person", "active"): 4, ("person", "inactive"): 1}
