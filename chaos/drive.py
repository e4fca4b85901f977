"""Publishing the stream and waiting on the service, every wait bounded.

Each wait polls the thing that proves progress (rows in PostgreSQL, committed offsets on the
broker) and tolerates the outages this run causes itself: a refused connection while the
broker or the database restarts is a reason to poll again, not to give up, until the deadline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer

from chaos.stream import Message
from sync.ops.lag import group_lag
from sync.ops.status import lock_waits
from sync.producers.kafka import Outgoing, client_options, send_all
from sync.settings import Settings

__all__ = ["Stuck", "publish", "sessions", "settle", "wait_for_fiches"]

T = TypeVar("T")


class Stuck(Exception):
    """A bounded wait ran out: the service made no progress it should have made."""


async def _patiently(what: str, deadline: float, attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` until it returns without an exception, or fail at ``deadline`` (it is
    tried at least once, however late)."""
    while True:
        try:
            async with asyncio.timeout(max(1.0, min(60.0, deadline - time.monotonic()))):
                return await attempt()
        except (Exception, TimeoutError) as error:  # broker or database away: try again
            if time.monotonic() >= deadline:
                raise Stuck(f"{what}: gave up at the deadline (last error: {error!r})") from error
            await asyncio.sleep(0.5)


async def publish(settings: Settings, messages: list[Message], timeout: float = 120) -> None:
    """Send ``messages`` to their source topics and wait for the broker's acknowledgement.

    The producer is idempotent, so a send that is retried after a broker outage is not
    written twice by the producer; a new producer per call recovers from anything.
    """
    batch: list[Outgoing] = [(settings.topics.name(m.topic_key), m.key, m.value, [])
                             for m in messages]

    async def attempt() -> None:
        producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True,
                                    linger_ms=5, max_batch_size=512 * 1024)
        await producer.start()
        try:
            await send_all(producer, batch)
        finally:
            await producer.stop()

    await _patiently(f"publishing {len(batch)} messages", time.monotonic() + timeout, attempt)


async def wait_for_fiches(settings: Settings, fiches: set[uuid.UUID], timeout: float) -> None:
    """Wait until every fiche in ``fiches`` exists (edits name fiches that exist by then)."""
    if not fiches:
        return
    wanted = list(fiches)
    deadline = time.monotonic() + timeout

    async def count() -> int:
        conn = await asyncpg.connect(settings.database_url, timeout=5)
        try:
            found: int = await conn.fetchval(
                "SELECT count(*) FROM fiche WHERE id = ANY($1::uuid[])", wanted)
            return found
        finally:
            await conn.close()

    found = 0
    while True:
        if time.monotonic() < deadline:
            found = await _patiently("counting fiches", deadline, count)
        if found == len(wanted):
            return
        if time.monotonic() >= deadline:
            raise Stuck(f"only {found} of the {len(wanted)} fiches that the next edits name "
                        f"exist after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def backlog(settings: Settings) -> tuple[int, int]:
    """(consumer lag of both groups, unsent outbox rows). In one hop the ``.map`` group's lag
    covers mapping and applying; the ``.apply`` group's is kept for split stages."""
    topics = settings.topics
    lag = 0
    for group, names in ((f"{settings.consumer_group}.map", topics.sources()),
                         (f"{settings.consumer_group}.apply", [topics.name("fiche_update")])):
        lag += sum(row.lag for row in await group_lag(settings, group, names))
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        unsent: int = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    return lag, unsent


async def settle(settings: Settings, timeout: float) -> float:
    """Wait until both groups have no lag and the outbox is empty; the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    last = (-1, -1)
    while True:
        try:
            last = await _patiently("measuring lag and outbox", deadline,
                                    lambda: backlog(settings))
        except Stuck as stuck:
            raise Stuck(f"{stuck}; {await sessions(settings)}") from stuck
        if last == (0, 0):
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise Stuck(f"not settled after {timeout:.0f} s: consumer lag {last[0]}, "
                        f"unsent outbox rows {last[1]}; {await sessions(settings)}")
        await asyncio.sleep(0.5)


async def sessions(settings: Settings) -> str:
    """The database's lock waits when a pass did not settle, as ``sksync status`` reads them
    (:func:`sync.ops.status.lock_waits`): how many sessions wait, and each session holding
    them up with its state, wait, transaction age and statement."""
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=5)
        try:
            waits = await asyncio.wait_for(lock_waits(conn), 5)
        finally:
            await conn.close(timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return f"lock waits unknown ({type(error).__name__}: {error})"
    heads = [" ".join(f"{key}={value}" for key, value in head.items() if value is not None)
             for head in waits["heldBy"]]
    return (f"{waits['sessions']} database session(s) waiting for a lock"
            + "".join(f" | held by {head}" for head in heads))
