"""``sksync vacuum``: after a load, every table of the service vacuumed and analysed, on a real
PostgreSQL; a table the role may not vacuum is reported, not passed over in silence."""

from __future__ import annotations

import json
import uuid

import asyncpg

from sync.ops.vacuum import vacuum_tables
from sync.settings import Settings
from tests.integration.test_least_privilege import (  # noqa: F401  (fixtures)
    service_conn,
    service_url,
)
from tests.support.cli import sksync

LOADED = 300


async def a_load(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO fiche (id, kind, version, visible) VALUES ($1, 'person', 1, $2::jsonb)",
        [(uuid.uuid4(), json.dumps({"name.last": f"Peeters {n}"})) for n in range(LOADED)])


async def test_vacuum_analyses_every_table_and_counts_the_loaded_rows(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Every table of the schema is vacuumed and analysed, the largest first; the fiches'
    statistics then know the loaded rows, which a fresh load's do not."""
    await a_load(pg_conn)
    before = await pg_conn.fetchrow(
        "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'fiche'")
    assert before["last_vacuum"] is None
    assert before["last_analyze"] is None
    result = await sksync(settings, "vacuum", "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    tables = {row["table"] for row in done}
    expected = {row["relname"] for row in await pg_conn.fetch(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()")}
    assert tables == expected
    assert {"fiche", "source_record", "outbox", "match_keys"} <= tables
    assert done[0]["table"] == "fiche", done  # the largest comes first
    assert [row["skipped"] for row in done] == [None] * len(done)
    [fiche] = [row for row in done if row["table"] == "fiche"]
    assert fiche["liveRows"] == LOADED
    after = await pg_conn.fetchrow(
        "SELECT last_vacuum, last_analyze, n_mod_since_analyze FROM pg_stat_user_tables"
        " WHERE relname = 'fiche'")
    assert after["last_vacuum"] is not None
    assert after["last_analyze"] is not None
    assert after["n_mod_since_analyze"] == 0
    assert await pg_conn.fetchval(
        "SELECT reltuples FROM pg_class WHERE relname = 'fiche'") == LOADED


async def test_vacuum_of_named_tables_and_a_table_that_does_not_exist(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    await a_load(pg_conn)
    text = await sksync(settings, "vacuum", "fiche", "outbox")
    assert text.exit_code == 0, text.output
    assert "2 table(s) vacuumed and analysed" in text.stdout
    vacuumed = {row["relname"] for row in await pg_conn.fetch(
        "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL")}
    assert vacuumed == {"fiche", "outbox"}
    wrong = await sksync(settings, "vacuum", "fiches")
    assert wrong.exit_code == 1
    assert "no such table in schema: fiches" in wrong.output
    assert len(wrong.output.strip().splitlines()) == 1
    assert "Traceback" not in wrong.output


async def test_a_table_the_role_may_not_vacuum_is_reported_skipped(
    service_conn: asyncpg.Connection,  # noqa: F811
    pg_conn: asyncpg.Connection,
) -> None:
    """The service's own role reads and writes but does not own the tables: PostgreSQL skips
    them with a warning, which is reported per table instead of a vacuum that did nothing."""
    if await pg_conn.fetchval("SELECT current_setting('server_version_num')::int") >= 170000:
        granted = await pg_conn.fetchval(
            "SELECT has_table_privilege('sksync_service', 'fiche', 'MAINTAIN')")
        assert not granted
    [done] = await vacuum_tables(service_conn, ["fiche"])
    assert done.skipped is not None
    assert "fiche" in done.skipped
    last = await pg_conn.fetchval(
        "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'fiche'")
    assert last is None
