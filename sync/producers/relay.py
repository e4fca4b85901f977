"""The outbox relay: publishes outbox rows in id order and marks them sent.

Only one relay publishes at a time (a PostgreSQL advisory lock), so rows leave in the order
they were committed and a fiche's versions reach ``sk.fiche.event`` in order. A crash between
publish and mark re-sends the same rows with the same event ids (consumers dedupe on id).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from sync.ops import metrics
from sync.producers.kafka import send_all
from sync.retry import retry_transient
from sync.store.apply import OUTBOX_CHANNEL as CHANNEL

__all__ = ["OutboxRelay"]

log = structlog.get_logger(__name__)

RELAY_LOCK_KEY = 0x736B72656C6179  # "skrelay"
SELECT_UNSENT = """
SELECT id, event_id, topic, key, payload::text AS payload, payload->>'type' AS type FROM outbox
WHERE sent_at IS NULL ORDER BY id LIMIT $1
"""
MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])"
BACKLOG = """
SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE sent_at IS NULL
"""


class OutboxRelay:
    """Run with :meth:`run` as a task; cancel it to stop."""

    def __init__(
        self, database_url: str, producer: AIOKafkaProducer, *, batch_size: int = 1000,
        poll_interval_s: float = 0.5, max_backoff_s: float = 30.0,
    ) -> None:
        self._url = database_url
        self._producer = producer
        self._batch = batch_size
        self._poll = poll_interval_s
        self._max_backoff = max_backoff_s
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Hold the relay lock and publish; on connection loss, reconnect with backoff."""
        while True:
            await retry_transient(self._session, what="relay", max_backoff_s=self._max_backoff)

    async def _session(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._url)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                await asyncio.sleep(self._poll)  # another instance relays; stand by
            await conn.add_listener(CHANNEL, self._on_notify)
            log.info("relay active")
            while True:
                sent = await self._publish_batch(conn)
                if sent < self._batch:
                    await self._idle(conn)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _idle(self, conn: asyncpg.Connection) -> None:
        row = await conn.fetchrow(BACKLOG)
        assert row is not None  # an aggregate query always returns one row
        metrics.OUTBOX_BACKLOG.set(row["rows"])
        metrics.OUTBOX_OLDEST_AGE.set(float(row["oldest"] or 0))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(SELECT_UNSENT, self._batch)
        if not rows:
            return 0
        started = time.perf_counter()
        await send_all(self._producer, (
            (row["topic"], row["key"].encode(), row["payload"].encode(),
             [("ce_id", str(row["event_id"]).encode()),
              ("ce_type", (row["type"] or "").encode())])
            for row in rows))
        await conn.execute(MARK_SENT, [row["id"] for row in rows])
        for topic, count in Counter(row["topic"] for row in rows).items():
            metrics.PUBLISHED.labels(topic).inc(count)
        log.debug("outbox published", rows=len(rows), seconds=time.perf_counter() - started)
        return len(rows)
