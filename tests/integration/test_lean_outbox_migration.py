"""Migration 0018 on a database with the old outbox (jsonb payloads, rows marked sent and kept):
``sksync migrate`` keeps the unsent and parked rows in their order with their payloads, drops
the published ones, and gives the history the values each version replaced from the snapshots
that were published, so the console still shows before -> after."""

from __future__ import annotations

import json
import uuid

import asyncpg

from sync.console.reads import fiche_history
from sync.policy import default_policy
from sync.settings import Settings
from sync.store.apply import Applier
from sync.store.outbox import SELECT_UNSENT
from tests.integration.test_apply import TOPICS, cobrha
from tests.support.cli import sksync

#: The outbox and history as migrations 0001 and 0010 left them.
OLD_LAYOUT = """
DROP TABLE outbox;
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    topic       text NOT NULL,
    key         text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    parked_at   timestamptz,
    park_reason text
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO sksync_service;
GRANT USAGE ON SEQUENCE outbox_id_seq TO sksync_service;
ALTER TABLE fiche_history DROP COLUMN before;
DELETE FROM schema_migration WHERE name = '0018_lean_outbox.sql';
"""
OLD_ROW = """
INSERT INTO outbox (event_id, topic, key, payload, sent_at, parked_at, park_reason)
VALUES ($1, $2, $3, $4::jsonb, CASE WHEN $5 THEN now() END, CASE WHEN $6 THEN now() END,
        CASE WHEN $6 THEN 'refused: test' END)
"""


async def old_database(pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
                       ) -> tuple[uuid.UUID, list[tuple[str, str, bool, bool]]]:
    """A fiche in three versions, its events as the old relay left them: the first two
    published (sent), the third waiting; a parked notification in between."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    [created] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    await applier.apply([cobrha("18749704", 2, contact_phone="+3255999999")])
    await applier.apply([cobrha("18749704", 3, contact_phone="+3256000000")])
    events = [(str(r["event_id"]), r["payload"]) for r in
              await pg_conn.fetch("SELECT event_id, payload FROM outbox ORDER BY id")]
    assert len(events) == 3
    await pg_conn.execute(OLD_LAYOUT)
    notice = json.dumps({"id": str(uuid.uuid4()), "type": "be.socialekaart.notification.x",
                         "data": {"message": "a,b: c"}})
    rows = [(events[0][0], events[0][1], True, False), (events[1][0], events[1][1], True, False),
            (json.loads(notice)["id"], notice, False, True),
            (events[2][0], events[2][1], False, False)]
    for event_id, payload, sent, parked in rows:
        topic = "sk.notification" if parked else "sk.fiche.event"
        await pg_conn.execute(OLD_ROW, uuid.UUID(event_id), topic, str(created.fiche_id),
                              payload, sent, parked)
    return created.fiche_id, rows


async def test_migrating_keeps_unsent_and_parked_rows_in_order_and_drops_published_ones(
    settings: Settings, pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """After ``sksync migrate``: the parked notice and the unsent event, in that order, with
    their payloads (as JSON text) and types; the published rows are gone, and so are the
    columns and indexes of sent rows."""
    _, rows = await old_database(pg_pool, pg_conn)
    done = await sksync(settings, "migrate")
    assert done.exit_code == 0, done.output

    left = await pg_conn.fetch("SELECT event_id, payload, type, parked_at FROM outbox ORDER BY id")
    assert [str(r["event_id"]) for r in left] == [rows[2][0], rows[3][0]]
    for row, (_, payload, _, parked) in zip(left, rows[2:], strict=True):
        assert json.loads(row["payload"]) == json.loads(payload)
        assert row["type"] == json.loads(payload)["type"]
        assert (row["parked_at"] is not None) == parked
    assert [str(r["event_id"]) for r in await pg_conn.fetch(SELECT_UNSENT, 10)] == [rows[3][0]]
    indexes = {r["indexname"] for r in await pg_conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'")}
    assert indexes == {"outbox_pkey", "outbox_event_id_key", "outbox_parked"}
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_name = 'outbox' AND column_name = 'sent_at'") == 0


async def test_migrating_keeps_the_console_history_from_the_published_snapshots(
    settings: Settings, pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """Each version's change to the phone reads before -> after as it did from the outbox;
    a service applying afterwards records the values it replaces itself."""
    fiche_id, _ = await old_database(pg_pool, pg_conn)
    done = await sksync(settings, "migrate")
    assert done.exit_code == 0, done.output
    await Applier(pg_pool, default_policy(), TOPICS).apply(
        [cobrha("18749704", 4, contact_phone="+3257000000")])

    phone = {h["version"]: next(c for c in h["changes"] if c["field"] == "contact.phone")
             for h in await fiche_history(pg_conn, fiche_id)}
    assert [(phone[v]["before"], phone[v]["after"], phone[v]["known"]) for v in (4, 3, 2, 1)] == [
        ("+3256000000", "+3257000000", True), ("+3255999999", "+3256000000", True),
        ("+3255112233", "+3255999999", True), (None, "+3255112233", True)]
