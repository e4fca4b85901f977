"""Outbox rows on a real PostgreSQL: too-large events are parked at apply, and retention
deletes old sent outbox rows and old inbox rows in bounded batches, nothing else."""

from __future__ import annotations

import uuid

import asyncpg

from sync.jsontext import dumps
from sync.ops.status import database_figures
from sync.policy import default_policy
from sync.store.apply import Applier
from sync.store.outbox import SELECT_UNSENT, Retention, published_size
from tests.integration.test_apply import TOPICS, cobrha

LIMIT = 4096


async def test_an_event_too_large_to_publish_is_written_parked_with_its_size(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """The fiche changes as usual; its event is kept, parked, and the relay never reads it."""
    applier = Applier(pg_pool, default_policy(), TOPICS, max_event_bytes=LIMIT)
    [small] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    [large] = await applier.apply([cobrha("27418093", 1, name_first="A" * (2 * LIMIT))])
    assert small.outcome == large.outcome == "applied"
    rows = await pg_conn.fetch(
        "SELECT key, parked_at, park_reason FROM outbox ORDER BY id")
    assert [(r["key"], r["parked_at"] is not None) for r in rows] == [
        (str(small.fiche_id), False), (str(large.fiche_id), True)]
    reason = rows[1]["park_reason"]
    assert reason.startswith("too-large: ")
    assert int(reason.split()[1]) > 2 * LIMIT
    unsent = await pg_conn.fetch(SELECT_UNSENT, 100)
    assert [r["key"] for r in unsent] == [str(small.fiche_id)]
    figures = await database_figures(pg_conn)
    assert figures["outbox"]["parked"] == {"too-large": 1}
    assert figures["outbox"]["backlog"] == 1


async def add_outbox_row(conn: asyncpg.Connection, *, sent_days_ago: float | None,
                         parked: bool = False) -> int:
    row_id: int = await conn.fetchval(
        "INSERT INTO outbox (event_id, topic, key, payload, sent_at, parked_at) VALUES"
        " ($1, 't', 'k', '{}', now() - make_interval(days => $2),"
        "  CASE WHEN $3 THEN now() - interval '90 days' END) RETURNING id",
        uuid.uuid4(), sent_days_ago, parked)
    return row_id


async def test_retention_deletes_only_sent_outbox_rows_and_inbox_rows_past_their_age(
    pg_conn: asyncpg.Connection,
) -> None:
    """Old sent rows go; unsent, parked and recent rows stay; each step takes a bounded batch."""
    old_sent = [await add_outbox_row(pg_conn, sent_days_ago=10) for _ in range(5)]
    kept = [await add_outbox_row(pg_conn, sent_days_ago=1),
            await add_outbox_row(pg_conn, sent_days_ago=None),
            await add_outbox_row(pg_conn, sent_days_ago=None, parked=True)]
    await pg_conn.execute(
        "INSERT INTO inbox (source, event_id, outcome, processed_at)"
        " SELECT 's', 'old-' || i, 'applied', now() - interval '40 days'"
        " FROM generate_series(1, 5) AS i")
    await pg_conn.execute("INSERT INTO inbox (source, event_id, outcome) VALUES ('s', 'new', 'x')")
    retention = Retention(outbox_s=7 * 86400, inbox_s=30 * 86400, batch_size=2)
    steps = [await retention.delete_step(pg_conn) for _ in range(4)]
    assert steps == [{"outbox": 2, "inbox": 2}, {"outbox": 2, "inbox": 2},
                     {"outbox": 1, "inbox": 1}, {"outbox": 0, "inbox": 0}]
    left = await pg_conn.fetch("SELECT id FROM outbox ORDER BY id")
    assert [r["id"] for r in left] == kept
    assert not set(old_sent) & {r["id"] for r in left}
    assert await pg_conn.fetchval("SELECT array_agg(event_id) FROM inbox") == ["new"]


async def test_status_reports_the_size_of_outbox_and_inbox_as_postgresql_estimates_it(
    pg_conn: asyncpg.Connection,
) -> None:
    """Estimates from pg_class (no count(*) over a large table), as of the last analyze."""
    for _ in range(3):
        await add_outbox_row(pg_conn, sent_days_ago=None)
    await pg_conn.execute("INSERT INTO inbox (source, event_id, outcome) VALUES ('s', 'e', 'x')")
    await pg_conn.execute("ANALYZE outbox, inbox")
    figures = await database_figures(pg_conn)
    assert figures["tableRowsEstimate"] == {"outbox": 3, "inbox": 1}


DOCUMENTS = [
    {"a": 1, "b": [1, 2, {"c": "d"}], "e": None, "f": True},
    {"naam": "Dr. Ann Peeters-Vandaële", "tekst": "a,b:c, d: e", "leeg": [], "ook": {}},
    {"quote": "she said \"hi\"\n\tand \\ left", "emoji": "\U0001f600", "nul": "\u0001"},
    {"geo": [50.8503, 4.3517, -0.5, 1e-7, 12345678901234], "x": 1.5e300},
    {"k" * 40: ["v" * 10] * 50},
]


async def test_the_size_checked_at_apply_is_never_less_than_what_the_relay_publishes(
    pg_conn: asyncpg.Connection,
) -> None:
    """The relay publishes PostgreSQL's text of the stored jsonb, not the JSON written."""
    for document in DOCUMENTS:
        payload = dumps(document)
        published = await pg_conn.fetchval("SELECT octet_length($1::jsonb::text)", payload)
        assert published_size(payload) >= published, document
