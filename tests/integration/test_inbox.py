"""Redelivery on a real PostgreSQL: which updates the inbox guards, and why the others are safe.

A source record's update is made harmless by its ``sourceVersion`` (the fiche holds that
version, or a review waits with it) and writes no inbox row; an editor's decision (pin,
resolution, match decision, split, verification) is guarded by its inbox row, written once,
with its outcome, in the batch's own write.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.console.reads import applied_per_minute
from sync.errors import TransientError
from sync.events import EventOrigin, FicheUpdate
from sync.policy import default_policy
from sync.store.apply import Applier
from sync.store.queries import counts
from tests.integration.test_apply import TOPICS, cobrha, pin
from tests.integration.test_matching import cobrha_record, hand_made

MIGRATION = (Path(__file__).resolve().parents[2] / "sync" / "store" / "migrations"
             / "0019_inbox_for_decisions_only.sql")
#: Every table an apply writes, read whole: equal before and after means nothing changed.
TABLES = ("fiche", "fiche_identifier", "field_value", "source_record", "fiche_history", "pin",
          "conflict", "outbox", "inbox", "apply_count", "match_candidate", "match_profile",
          "match_keys", "match_link")


@pytest.fixture
def applier(pg_pool: asyncpg.Pool) -> Applier:
    return Applier(pg_pool, default_policy(), TOPICS)


async def everything(conn: asyncpg.Connection) -> dict[str, list[Any]]:
    return {table: sorted((tuple(row.values()) for row in await conn.fetch(
        f"SELECT * FROM {table}")), key=repr) for table in TABLES}


def resent(update: FicheUpdate) -> FicheUpdate:
    """The same version of the same record, as another source event (another id)."""
    origin = EventOrigin(source=update.origin.source, id=uuid.uuid4().hex, type="t")
    return update.model_copy(update={"update_id": uuid.uuid4(), "origin": origin})


async def test_a_redelivered_source_record_changes_nothing_and_writes_no_inbox_row(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """Delivered again, as the same event or as another event with the same sourceVersion,
    the record is a duplicate: no row written, no event, not even an inbox row or a count."""
    update = cobrha("18749704", 1, contact_phone="+3255112233")
    [first] = await applier.apply([update])
    assert (first.outcome, first.event_type) == ("applied", "created")
    before = await everything(pg_conn)
    assert before["inbox"] == []
    again = await applier.apply([update, resent(update)])
    assert [(r.outcome, r.fiche_id, r.version) for r in again] == [
        ("duplicate", first.fiche_id, 1)] * 2
    [alone] = await applier.apply([resent(update)])  # a batch of its own, as well
    assert alone.outcome == "duplicate"
    assert await everything(pg_conn) == before


async def test_a_redelivered_record_waiting_for_review_changes_nothing(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """A record held for review has no source_record row: the version its review waits with
    makes the redelivery harmless (no second review, no second notice)."""
    await applier.apply([hand_made(first="J.")])
    record = cobrha_record(first="Jana")
    [held] = await applier.apply([record])
    assert held.outcome == "pending-review"
    before = await everything(pg_conn)
    assert before["inbox"] == []
    again = await applier.apply([record, resent(record)])
    assert [r.outcome for r in again] == ["duplicate", "duplicate"]
    assert await everything(pg_conn) == before


async def test_a_pin_writes_its_inbox_row_once_with_its_outcome(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """An editor's pin keeps an inbox row, written with its final outcome (no 'pending' row
    first); delivered again, in another batch or twice in one, it is a duplicate."""
    [created] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    assert created.fiche_id is not None
    edit = pin(created.fiche_id, contact_phone="+3255000000")
    [pinned] = await applier.apply([edit])
    assert pinned.outcome == "applied"
    rows = await pg_conn.fetch("SELECT source, event_id, outcome FROM inbox")
    assert [tuple(r.values()) for r in rows] == [
        (edit.origin.source, str(edit.update_id), "applied")]
    # The first tuple of the (fresh) table, never updated: an update would have written a
    # second version of the row, at (0,2).
    assert await pg_conn.fetchval("SELECT ctid::text FROM inbox") == "(0,1)"
    before = await everything(pg_conn)
    again = await applier.apply([edit, edit])
    assert [r.outcome for r in again] == ["duplicate", "duplicate"]
    assert await everything(pg_conn) == before


async def waiting_on_locks(conn: asyncpg.Connection, count: int) -> None:
    """Until ``count`` other sessions wait for a lock (at most 30 s)."""
    deadline = time.monotonic() + 30
    while await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()") < count:
        assert time.monotonic() < deadline, f"{count} sessions never waited for the lock"
        await asyncio.sleep(0.05)


async def test_two_batches_applying_the_same_pin_at_once_apply_it_once(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """Both looked in the inbox before either committed: the second one's inbox row meets
    the first one's, its batch is rolled back (a transient failure), and its retry finds the
    pin as a duplicate. The fiche got one version for the pin, and one event."""
    pools = [await asyncpg.create_pool(pg_url, min_size=1, max_size=2) for _ in range(2)]
    try:
        appliers = [Applier(pool, default_policy(), TOPICS) for pool in pools]
        [created] = await appliers[0].apply([cobrha("18749704", 1, contact_phone="+3255112233")])
        assert created.fiche_id is not None
        edit = pin(created.fiche_id, contact_phone="+3255000000")
        blocker = await asyncpg.connect(pg_url)
        try:
            async with blocker.transaction():  # holds the fiche: both batches wait behind it
                await blocker.execute("SELECT 1 FROM fiche WHERE id = $1 FOR UPDATE",
                                      created.fiche_id)
                both = [asyncio.create_task(a.apply([edit])) for a in appliers]
                await waiting_on_locks(pg_conn, 2)
        finally:
            await blocker.close()
        outcomes = await asyncio.wait_for(asyncio.gather(*both, return_exceptions=True), 60)
        failed = [i for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
        assert len(failed) == 1, outcomes
        assert isinstance(outcomes[failed[0]], TransientError)
        [done] = [o for o in outcomes if not isinstance(o, BaseException)]
        assert [r.outcome for r in done] == ["applied"]
        [retried] = await appliers[failed[0]].apply([edit])
        assert retried.outcome == "duplicate"
    finally:
        for pool in pools:
            await pool.close()
    assert await pg_conn.fetchval("SELECT version FROM fiche") == 2
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM fiche_history WHERE cause_event_id = $1", edit.origin.id) == 1
    assert await pg_conn.fetchval("SELECT outcome FROM inbox") == "applied"


async def test_the_throughput_counts_what_was_applied_per_source_and_minute(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """The console's sparklines: updates applied in the last minutes, per event source,
    redeliveries not counted again."""
    update = cobrha("18749704", 2)
    await applier.apply([cobrha("18749704", 1), cobrha("54263481", 1), update])
    await applier.apply([update])  # a redelivery
    series = await applied_per_minute(pg_conn, 30)
    assert list(series) == [update.origin.source]
    assert series[update.origin.source][-1] == 3
    assert sum(series[update.origin.source]) == 3


async def test_the_upgrade_counts_what_the_inbox_held_per_source_and_minute(
    pg_conn: asyncpg.Connection,
) -> None:
    """An existing database's inbox rows (every update applied within the retention) become
    the counts the console's throughput and ``sksync status`` read."""
    await pg_conn.execute("DROP TABLE apply_count")
    await pg_conn.execute(
        "INSERT INTO inbox (source, event_id, outcome, processed_at) VALUES"
        " ('urn:a', '1', 'applied', now()), ('urn:a', '2', 'stale', now()),"
        " ('urn:b', '3', 'pending-review', now() - interval '5 minutes')")
    await pg_conn.execute(MIGRATION.read_text())
    rows = await pg_conn.fetch("SELECT source, updates FROM apply_count ORDER BY source")
    assert [tuple(r.values()) for r in rows] == [("urn:a", 2), ("urn:b", 1)]
    assert await pg_conn.fetchval(
        "SELECT bool_and(a.minute = date_trunc('minute', i.processed_at))"
        " FROM apply_count a JOIN inbox i USING (source)")
    assert (await counts(pg_conn))["updates_seen"] == 3
