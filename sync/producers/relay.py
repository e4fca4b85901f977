"""The outbox relay: publishes outbox rows in id order and deletes them once published.

Only one relay publishes at a time (a PostgreSQL advisory lock), so rows leave in the order
they were committed and a fiche's versions reach ``sk.fiche.event`` in order. A row is deleted
only after the broker has taken it: a crash between publish and delete re-sends the same rows
with the same event ids (consumers dedupe on id).

A NOTIFY on the outbox channel (every apply that enqueues sends one) wakes the relay at once;
the poll interval only bounds the wait when a notification is missed (a new session).

The lock lives as long as the relay's database session, and that session ends soon after the
relay stops talking (:func:`session_settings`): a relaying process that freezes, or whose
network goes half-open, lets another instance take over within seconds rather than hours.

A row the broker refuses for what it is (too large, an invalid topic, no right to write it)
is *parked*: kept with the reason, counted, and passed over, so that it never holds back the
rows after it. The relaying process also deletes inbox rows past their retention, a bounded
batch at a time between two publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence

import asyncpg
import structlog

from sync.errors import TransientError
from sync.observability import metrics
from sync.producers.kafka import Outgoing, Producer, PublishFailed, send_all
from sync.producers.session import PreparedSession
from sync.retry import retry_transient
from sync.settings import Settings
from sync.store.apply import OUTBOX_CHANNEL as CHANNEL
from sync.store.outbox import (
    BACKLOG,
    DELETE_PUBLISHED,
    PARK,
    SELECT_UNSENT,
    Retention,
)
from sync.store.uow import vanished_peer_settings, whole_ms

__all__ = ["OutboxRelay", "relay_settings", "retention", "session_settings"]

log = structlog.get_logger(__name__)

RELAY_LOCK_KEY = 0x736B72656C6179  # "skrelay"
TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
#: Every statement the relay runs with parameters (see sync/producers/session.py).
STATEMENTS = (TRY_LOCK, SELECT_UNSENT, DELETE_PUBLISHED, PARK, BACKLOG, *Retention.STATEMENTS)
#: The backlog gauges are refreshed at most this often: counting reads the whole outbox.
BACKLOG_EVERY_S = 5.0
#: The unsent rows read through the primary key, never by reading the whole table and sorting
#: it. The outbox is a queue: its table keeps the pages of the largest backlog it held, and
#: the rows the relay deleted stay on them until autovacuum comes. With few live rows
#: estimated, the planner reads every page and sorts what is left (4-7 ms a read with 20,000
#: to 40,000 deleted rows, on every wake-up); the primary key's first scan marks the entries
#: of the deleted rows dead, and every scan after it skips them (0.1 ms).
PLANNER_SETTINGS = {"enable_seqscan": "off"}


def session_settings(timeout_s: float) -> dict[str, str]:
    """Server settings that end the relay's session (and so free its lock) about
    ``timeout_s`` after the relay last spoke: an idle-session limit (a frozen or hung relay
    says nothing; a working one queries at least every poll interval, and never leaves the
    server waiting in the middle of a statement: :mod:`sync.producers.session`) and TCP
    keepalives and user timeout (a peer that vanished without closing the connection)."""
    return {"idle_session_timeout": whole_ms(timeout_s), **vanished_peer_settings(timeout_s)}


def relay_settings(timeout_s: float) -> dict[str, str]:
    """The relay's session: ended soon after it stops talking, its unsent rows read by key."""
    return {**session_settings(timeout_s), **PLANNER_SETTINGS}


def retention(settings: Settings) -> Retention:
    """The retention the relaying process applies, from ``settings``."""
    day = 86400.0
    return Retention(inbox_s=settings.inbox_retention_days * day,
                     interval_s=settings.retention_interval_s,
                     batch_size=settings.retention_batch_size)


class OutboxRelay:
    """Run with :meth:`run` as a task; cancel it to stop."""

    def __init__(
        self, database_url: str, producer: Producer, *, batch_size: int = 1000,
        poll_interval_s: float = 0.5, max_backoff_s: float = 30.0,
        session_timeout_s: float = 15.0, retention: Retention | None = None,
        backlog_every_s: float = BACKLOG_EVERY_S,
    ) -> None:
        self._url = database_url
        self._producer = producer
        self._batch = batch_size
        # The session must never look idle while the relay works (session_settings).
        self._poll = min(poll_interval_s, session_timeout_s / 3)
        self._max_backoff = max_backoff_s
        self._session_timeout = session_timeout_s
        self._retention = retention
        self._retention_due = 0.0  # time.monotonic() of the next retention pass
        self._backlog_every = backlog_every_s
        self._backlog_due = 0.0  # time.monotonic() of the next backlog count
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Hold the relay lock and publish; on connection loss, reconnect with backoff."""
        while True:
            await retry_transient(self._session, what="relay", max_backoff_s=self._max_backoff)

    async def _session(self) -> None:
        try:
            conn: asyncpg.Connection = await asyncpg.connect(
                self._url, command_timeout=self._session_timeout,
                server_settings=relay_settings(self._session_timeout))
        except Exception as error:
            raise TransientError(f"relay connect: {type(error).__name__}") from error
        try:
            session = PreparedSession(conn)
            await session.prepare(STATEMENTS)
            await self._relay(session)
        except TransientError:
            raise
        except Exception as error:
            # The relay has no permanent failure of its own: a row the broker refuses is
            # parked; anything else (a lost session, a timeout) is retried on a new session.
            log.warning("relay session ended", error=type(error).__name__)
            raise TransientError(f"relay: {type(error).__name__}") from error
        finally:
            metrics.RELAY_ACTIVE.set(0)
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def _relay(self, conn: PreparedSession) -> None:
        while not await conn.fetchval(TRY_LOCK, RELAY_LOCK_KEY):
            await asyncio.sleep(self._poll)  # another instance relays; stand by
        await conn.conn.add_listener(CHANNEL, self._on_notify)
        metrics.RELAY_ACTIVE.set(1)
        log.info("relay active")
        self._backlog_due = 0.0
        while True:
            # Cleared before the batch is read: a NOTIFY from now on, for rows this batch may
            # not see, sets it again and the idle wait below returns at once.
            self._wake.clear()
            sent = await self._publish_batch(conn)
            more_to_delete = await self._delete_expired(conn)
            if sent < self._batch and not more_to_delete:
                await self._idle(conn)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _idle(self, conn: PreparedSession) -> None:
        """Refresh the backlog gauges when due, then wait for a NOTIFY or the poll interval."""
        if time.monotonic() >= self._backlog_due:
            row = await conn.fetchrow(BACKLOG)
            assert row is not None  # an aggregate query always returns one row
            metrics.OUTBOX_BACKLOG.set(row["rows"])
            metrics.OUTBOX_OLDEST_AGE.set(float(row["oldest"] or 0))
            self._backlog_due = time.monotonic() + self._backlog_every
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def _delete_expired(self, conn: PreparedSession) -> bool:
        """One bounded retention step when one is due; whether another follows at once."""
        if self._retention is None or time.monotonic() < self._retention_due:
            return False
        deleted = await self._retention.delete_step(conn)
        for table, count in deleted.items():
            if count:
                metrics.RETENTION_DELETED.labels(table).inc(count)
        if max(deleted.values()) >= self._retention.batch_size:
            return True
        self._retention_due = time.monotonic() + self._retention.interval_s
        return False

    async def _publish_batch(self, conn: PreparedSession) -> int:
        rows = await conn.fetch(SELECT_UNSENT, self._batch)
        if not rows:
            return 0
        started = time.perf_counter()
        try:
            await self._send(conn, [_outgoing(row) for row in rows])
            sent: Sequence[asyncpg.Record] = rows
        except PublishFailed as failure:
            if not failure.refused:
                raise
            sent = await self._one_by_one(conn, rows)
        await conn.fetch(DELETE_PUBLISHED, [row["id"] for row in sent])
        for topic, count in Counter(row["topic"] for row in sent).items():
            metrics.PUBLISHED.labels(topic).inc(count)
        log.debug("outbox published", rows=len(sent), seconds=time.perf_counter() - started)
        return len(rows)

    async def _one_by_one(
        self, conn: PreparedSession, rows: Sequence[asyncpg.Record],
    ) -> list[asyncpg.Record]:
        """The broker refused a row of this batch: send each row alone, in order, to find
        it; park every row it refuses and return the ones it took. Rows of the batch that
        had already been written are written again, with the same event ids."""
        sent = []
        for row in rows:
            try:
                await self._send(conn, [_outgoing(row)])
            except PublishFailed as failure:
                if not failure.refused:
                    raise
                await self._park(conn, row, failure)
            else:
                sent.append(row)
        return sent

    async def _send(self, conn: PreparedSession, messages: list[Outgoing]) -> None:
        """Send and wait for the broker, speaking on the session meanwhile: a relay that
        waits for a slow broker is alive and keeps its lock."""
        sending = asyncio.ensure_future(send_all(self._producer, messages))
        try:
            while not sending.done():
                await asyncio.wait({sending}, timeout=self._poll)
                if not sending.done():
                    await conn.conn.execute("SELECT 1")  # one simple-protocol message
            sending.result()
        finally:
            sending.cancel()

    @staticmethod
    async def _park(conn: PreparedSession, row: asyncpg.Record, failure: PublishFailed) -> None:
        reason = f"refused: {type(failure.error).__name__}"
        await conn.fetch(PARK, row["id"], reason)
        metrics.OUTBOX_PARKED.labels(row["topic"], reason).inc()
        log.warning("outbox row refused by the broker, parked", outbox_id=row["id"],
                    event_id=str(row["event_id"]), topic=row["topic"], reason=reason,
                    bytes=len(row["payload"]))


def _outgoing(row: asyncpg.Record) -> Outgoing:
    return (row["topic"], row["key"].encode(), row["payload"].encode(),
            [("ce_id", str(row["event_id"]).encode()),
             ("ce_type", (row["type"] or "").encode())])
