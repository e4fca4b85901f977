"""Outbox rows on a real PostgreSQL: too-large events are parked at apply, the payload is
kept as the JSON text written, and retention deletes old inbox rows in bounded batches."""

from __future__ import annotations

import json
import uuid

import asyncpg

from sync.jsontext import dumps
from sync.ops.status import database_figures
from sync.policy import default_policy
from sync.producers.relay import relay_settings
from sync.store.apply import Applier
from sync.store.fiche_sql import INSERT_OUTBOX
from sync.store.outbox import SELECT_UNSENT, Retention, park_reason
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


async def add_outbox_row(conn: asyncpg.Connection, *, parked: bool = False) -> int:
    row_id: int = await conn.fetchval(
        "INSERT INTO outbox (event_id, topic, key, payload, parked_at) VALUES"
        " ($1, 't', 'k', '{}', CASE WHEN $2 THEN now() - interval '90 days' END) RETURNING id",
        uuid.uuid4(), parked)
    return row_id


async def test_retention_deletes_only_inbox_rows_past_their_age_in_bounded_batches(
    pg_conn: asyncpg.Connection,
) -> None:
    """Old inbox rows go, a bounded batch a step; recent ones stay, and so does every outbox
    row (unsent or parked: a published row is already gone)."""
    kept = [await add_outbox_row(pg_conn), await add_outbox_row(pg_conn, parked=True)]
    await pg_conn.execute(
        "INSERT INTO inbox (source, event_id, outcome, processed_at)"
        " SELECT 's', 'old-' || i, 'applied', now() - interval '40 days'"
        " FROM generate_series(1, 5) AS i")
    await pg_conn.execute("INSERT INTO inbox (source, event_id, outcome) VALUES ('s', 'new', 'x')")
    retention = Retention(inbox_s=30 * 86400, batch_size=2)
    steps = [await retention.delete_step(pg_conn) for _ in range(4)]
    assert steps == [{"inbox": 2}, {"inbox": 2}, {"inbox": 1}, {"inbox": 0}]
    left = await pg_conn.fetch("SELECT id FROM outbox ORDER BY id")
    assert [r["id"] for r in left] == kept
    assert await pg_conn.fetchval("SELECT array_agg(event_id) FROM inbox") == ["new"]


async def test_status_reports_the_size_of_outbox_and_inbox_as_postgresql_estimates_it(
    pg_conn: asyncpg.Connection,
) -> None:
    """Estimates from pg_class (no count(*) over a large table), as of the last analyze."""
    for _ in range(3):
        await add_outbox_row(pg_conn)
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


async def test_the_relay_reads_the_json_text_as_written_and_its_size_decides_parking(
    pg_conn: asyncpg.Connection,
) -> None:
    """The payload is stored as text: the relay reads back the very bytes written (no
    re-rendering: PostgreSQL's jsonb text put spaces in and wrote numbers in full), with the
    event type from its own column, so the size checked at apply is the size published."""
    payloads = [dumps(document) for document in DOCUMENTS]
    ids = [uuid.uuid4() for _ in payloads]
    await pg_conn.execute(INSERT_OUTBOX, ids, ["t"] * len(ids), ["k"] * len(ids), payloads,
                          [None] * len(ids), [f"type-{i}" for i in range(len(ids))])
    rows = await pg_conn.fetch(SELECT_UNSENT, 100)
    assert [(r["event_id"], r["payload"], r["type"]) for r in rows] == [
        (event_id, payload, f"type-{i}") for i, (event_id, payload)
        in enumerate(zip(ids, payloads, strict=True))]
    for payload in payloads:
        size = len(payload.encode())
        assert park_reason(payload, limit=size) is None
        assert park_reason(payload, limit=size - 1) == (
            f"too-large: {size} bytes, over the limit of {size - 1}")


async def test_the_relay_reads_unsent_rows_by_key_past_deleted_ones(pg_url: str) -> None:
    """The relay's session reads the first unsent rows through the primary key, however many
    deleted rows the outbox's pages still hold (what it deleted, before autovacuum comes):
    not every page read and sorted at every wake-up."""
    writer = await asyncpg.connect(pg_url)
    relay = await asyncpg.connect(pg_url, server_settings=relay_settings(15))
    try:
        add = ("INSERT INTO outbox (event_id, topic, key, payload, type)"
               " SELECT gen_random_uuid(), 'sk.fiche.event', 'f-' || n, repeat('x', 1600), 't'"
               " FROM generate_series(1, $1) AS n")
        await writer.execute(add, 20_000)
        await writer.execute("DELETE FROM outbox")  # published; autovacuum has not come yet
        await writer.execute(add, 10)
        await writer.execute("ANALYZE outbox")  # few live rows, many pages: what tempts a scan
        plan = await relay.fetchval(f"EXPLAIN (FORMAT JSON) {SELECT_UNSENT}", 1000)
        nodes = json.loads(plan)[0]["Plan"]
        scans = []
        while nodes is not None:
            scans.append((nodes["Node Type"], nodes.get("Index Name")))
            nodes = (nodes.get("Plans") or [None])[0]
        assert ("Index Scan", "outbox_pkey") in scans
        assert "Seq Scan" not in {node for node, _ in scans}
        unsent = await relay.fetch(SELECT_UNSENT, 1000)
        assert [row["key"] for row in unsent] == [f"f-{n}" for n in range(1, 11)]
    finally:
        await relay.close()
        await writer.close()
