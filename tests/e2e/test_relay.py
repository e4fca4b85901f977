"""The outbox relay on real Kafka and PostgreSQL: a row the broker refuses is parked and the
rows after it still go out; a frozen or killed relaying process is taken over within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from sync.producers.kafka import SharedProducer, client_options, new_producer
from sync.producers.relay import OutboxRelay
from sync.settings import Settings
from tests.support.kafka import TopicReader

pytestmark = pytest.mark.slow

#: The fiche-event topic of these tests refuses any record batch over this many bytes.
TOPIC_MAX_BYTES = 4000


async def create_topic(settings: Settings, name: str, **config: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs=config)])
    finally:
        await admin.close()


async def add_events(conn: asyncpg.Connection, topic: str, sizes: list[int]) -> list[str]:
    """Outbox rows for one fiche (one key: one partition), each with a payload of about
    ``size`` bytes; their event ids, in order."""
    ids = []
    for size in sizes:
        event_id = str(uuid.uuid4())
        payload = {"id": event_id, "type": "be.socialekaart.fiche.updated", "pad": "x" * size}
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, 'f-1', $3)",
            uuid.UUID(event_id), topic, json.dumps(payload))
        ids.append(event_id)
    return ids


@contextlib.asynccontextmanager
async def running_relay(settings: Settings) -> AsyncIterator[None]:
    producer = SharedProducer(lambda: new_producer(settings))
    await producer.start()
    relay = OutboxRelay(settings.database_url, producer, poll_interval_s=0.1, max_backoff_s=1)
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


def parked_total(topic: str) -> float:
    return REGISTRY.get_sample_value(
        "sksync_outbox_parked_total",
        {"topic": topic, "reason": "refused: MessageSizeTooLargeError"}) or 0.0


async def test_a_row_the_broker_refuses_is_parked_and_the_rows_after_it_are_published(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Before: MESSAGE_TOO_LARGE was retried for ever from the lowest unsent row, and no
    event after it ever left. Now the row is parked with the reason and the others go out,
    in order, through the same partition."""
    topic = settings.topics.name("fiche_event")
    await create_topic(settings, topic, **{"max.message.bytes": str(TOPIC_MAX_BYTES)})
    small, large, *after = await add_events(pg_conn, topic, [100, 3 * TOPIC_MAX_BYTES, 100, 200])
    async with running_relay(settings), TopicReader(settings, topic) as reader:
        seen = await reader.until(lambda v: len(v) >= 3, what="the three small events")
        assert [event["id"] for event in seen] == [small, *after]
        parked = await pg_conn.fetchrow(
            "SELECT sent_at, parked_at, park_reason FROM outbox WHERE event_id = $1",
            uuid.UUID(large))
        assert parked["sent_at"] is None and parked["parked_at"] is not None
        assert parked["park_reason"] == "refused: MessageSizeTooLargeError"
        assert parked_total(topic) == 1
        later = await add_events(pg_conn, topic, [150])
        await pg_conn.execute("SELECT pg_notify('sksync_outbox', '')")
        seen = await reader.until(lambda v: len(v) >= 4, what="an event written afterwards")
        assert [event["id"] for event in seen] == [small, *after, *later]
    assert await pg_conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1
