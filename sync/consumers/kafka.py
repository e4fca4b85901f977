"""FastStream plumbing shared by the subscribers: a parser that never refuses a message,
redelivery of a batch whose handler failed, and the offset commit that follows a batch.

FastStream's own parser decodes every header as UTF-8; one hostile header would make it
raise before our handler runs, and with manual acknowledgement the message would then be
skipped by the next commit. Here such header values are kept, with undecodable bytes
replaced, so that the handler sees (and dead-letters) every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError

from sync.observability import metrics

__all__ = ["Redelivery", "next_offsets", "raw_body", "rewind", "tolerant_parser"]

log = structlog.get_logger(__name__)

Records = Any  # a ConsumerRecord or a tuple of them (aiokafka is untyped)
#: How long :meth:`Redelivery.flush` waits for the offset commit still under way.
FLUSH_TIMEOUT_S = 10.0
#: How long one read of what was fetched during a batch waits for data (it is cancelled when
#: the batch is done, so this only bounds one call).
TAKE_WAIT_MS = 1000


def _clean(record: Any) -> Any:
    headers = record.headers or ()
    try:
        for _, value in headers:
            value.decode()
        return record
    except UnicodeDecodeError:
        safe = tuple((key, value.decode(errors="replace").encode()) for key, value in headers)
        return replace(record, headers=safe)


async def tolerant_parser(message: Records, original: Callable[[Any], Awaitable[Any]]) -> Any:
    if isinstance(message, tuple):
        return await original(tuple(_clean(record) for record in message))
    return await original(_clean(message))


async def raw_body(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """The decoded body is never used (handlers read the records); skip JSON decoding."""
    return None


class Redelivery:
    """Runs a batch handler with manual acknowledgement: the offsets are committed when it
    returns, and when it raises the batch is delivered again, never skipped.

    A batch's offsets (each partition's last offset + 1, named explicitly) are committed when
    its handler returns, by one task in the background, while the next batch is fetched and
    handled: the broker's group coordinator takes several milliseconds to answer, and waiting
    for it before the next fetch held back every event that arrived meanwhile. That task sends
    one commit at a time, so commits reach the broker in order, and at most one every
    ``commit_interval_s``: what batches finish meanwhile is committed together, each
    partition at the highest offset they reached. A commit costs the broker a write to its
    offsets log and the service a round trip, once per batch at a steady rate, where a batch
    holds an event or a few. A commit that fails (a rebalance took the partition, the
    coordinator moved) is logged, and its batches are delivered again to whoever holds their
    partitions, as when a process dies between the database commit and the offset commit:
    applying them again changes nothing. Call :meth:`flush` before the consumer stops: it
    commits what is pending at once, and from then on each batch waits for its commit.

    While a batch is handled, what the consumer fetches meanwhile is taken from it (up to
    ``carry_limit`` records) and handled next, as the following batch. The consumer sends its
    next fetch only once the records of the last one are taken: without this, an event that
    arrived after the one fetch during a batch waited for that batch *and* the next. Taken
    records stay uncommitted until their own batch commits; those of a partition that left
    this consumer meanwhile are dropped (its new owner reads them from the last commit).

    An exception leaves the batch neither applied nor dead-lettered; a later commit would
    cover its offsets, so each of its partitions (and those of the records taken meanwhile)
    is rewound to its first offset there (the next poll reads it again). The rewind waits
    first, longer after each failure in a row (exponential, with jitter, up to
    ``max_backoff_s``): a failure that persists is not a hot loop, and its log line and the
    ``sksync_retries_total`` series say so.
    """

    def __init__(self, what: str, max_backoff_s: float, carry_limit: int = 500,
                 commit_interval_s: float = 0.0) -> None:
        self.what = what
        self.max_backoff_s = max_backoff_s
        self.failures = 0
        self.carry_limit = carry_limit
        self.commit_interval_s = commit_interval_s
        #: Offsets of the batches done and not yet sent in a commit, and the consumer to send
        #: them with (a subscriber's consumer stays the same while it runs).
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: Any = None
        self._next_commit = 0.0  # the event loop's time from which the next commit may go
        self._committing: asyncio.Task[None] | None = None
        #: Set by :meth:`flush`: what is pending is committed without waiting for the interval,
        #: and each later batch waits for its commit.
        self._flushing = asyncio.Event()

    async def run(self, handle: Callable[[Any], Awaitable[None]], message: Any) -> None:
        """``handle(records)``, then commit; or, if it raises, back off and rewind. What was
        fetched meanwhile is handled next, the same way, before returning."""
        consumer = message.consumer
        batch: Sequence[Any] = message.raw_message
        while batch:
            taken = await self._handle(handle, consumer, batch)
            if self._flushing.is_set() and taken:
                rewind(consumer, taken)  # stopping: read again by whoever runs next
                return
            held = consumer.assignment()
            batch = [record for record in taken
                     if TopicPartition(record.topic, record.partition) in held]

    async def _handle(
        self, handle: Callable[[Any], Awaitable[None]], consumer: Any, records: Sequence[Any],
    ) -> list[Any]:
        """One batch: handled while what the consumer fetches is taken, then its commit
        started; returns what was taken (nothing when the batch failed and was rewound)."""
        taken: list[Any] = []
        taking = asyncio.create_task(self._take(consumer, taken))
        failure: Exception | None = None
        try:
            await handle(records)
        except Exception as error:
            failure = error
        finally:
            await _stop(taking)
        if failure is not None:
            self.failures += 1
            wait = self.backoff()
            # The error is named: out of its except clause, log.exception would have none.
            log.error("batch failed; it will be delivered again", operation=self.what,
                      failures=self.failures, records=len(records), wait_s=round(wait, 2),
                      exc_info=failure)
            metrics.RETRIES.labels(self.what).inc()
            await asyncio.sleep(wait)
            rewind(consumer, (*records, *taken))
            return []
        self.failures = 0
        self._to_commit(consumer, next_offsets(records))
        if self._flushing.is_set():
            await self._settle()
        return taken

    async def flush(self) -> None:
        """Commit what is pending now and wait (bounded) for it; later batches' commits are
        waited for."""
        self._flushing.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._settle()), FLUSH_TIMEOUT_S)

    def _to_commit(self, consumer: Any, offsets: dict[TopicPartition, int]) -> None:
        """Add a finished batch's ``offsets`` to the next commit; start the committing task
        if none runs."""
        for partition, offset in offsets.items():
            self._pending[partition] = max(offset, self._pending.get(partition, 0))
        self._consumer = consumer
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_pending())

    async def _commit_pending(self) -> None:
        """Send what is pending, one commit at a time and at most one per interval, until
        nothing is left."""
        loop = asyncio.get_running_loop()
        while self._pending:
            wait = self._next_commit - loop.time()
            if wait > 0:  # until the interval is over, or flush
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flushing.wait(), wait)
            offsets, self._pending = self._pending, {}
            self._next_commit = loop.time() + self.commit_interval_s
            await self._commit(self._consumer, offsets)

    async def _take(self, consumer: Any, into: list[Any]) -> None:
        """Take what the consumer fetches into ``into`` until cancelled (or the limit). A
        consumer error ends the taking (the subscriber's next poll meets it again)."""
        try:
            while len(into) < self.carry_limit:
                fetched = await consumer.getmany(timeout_ms=TAKE_WAIT_MS,
                                                 max_records=self.carry_limit - len(into))
                for part in fetched.values():
                    into.extend(part)
        except (KafkaError, ConsumerStoppedError) as error:
            log.info("reading ahead stopped", operation=self.what, error=type(error).__name__)

    async def _settle(self) -> None:
        """Wait until what is pending is committed (or its commit failed)."""
        if self._committing is not None:
            await self._committing

    async def _commit(self, consumer: Any, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` for the partitions still assigned; a failure is logged (the
        batch is then delivered again, and applying it again changes nothing)."""
        held = consumer.assignment()
        mine = {partition: offset for partition, offset in offsets.items() if partition in held}
        if not mine:
            return
        try:
            await consumer.commit(mine)
        except Exception as error:
            log.warning("offset commit failed; the batch may be delivered again",
                        operation=self.what, error=f"{type(error).__name__}: {error}")

    def backoff(self) -> float:
        """The wait before the next delivery of a batch that failed ``failures`` times."""
        ceiling = min(self.max_backoff_s, 0.1 * 2 ** min(self.failures - 1, 20))
        # Jitter: instances that failed together do not come back together.
        return random.uniform(ceiling / 2, ceiling)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it; the records it took so far are kept."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def next_offsets(records: Records) -> dict[TopicPartition, int]:
    """Per partition of ``records``, the offset after its last record among them: what a
    commit of the batch names."""
    after: dict[TopicPartition, int] = {}
    for record in records if isinstance(records, tuple | list) else (records,):
        partition = TopicPartition(record.topic, record.partition)
        after[partition] = max(record.offset + 1, after.get(partition, 0))
    return after


def rewind(consumer: Any, records: Records) -> None:
    """Seek each partition of ``records`` back to its first offset among them. A partition
    that a rebalance took away meanwhile is left alone: its new owner starts from the last
    committed offset, which is at or before the batch."""
    first: dict[TopicPartition, int] = {}
    for record in records if isinstance(records, tuple | list) else (records,):
        partition = TopicPartition(record.topic, record.partition)
        first[partition] = min(record.offset, first.get(partition, record.offset))
    held = consumer.assignment()
    for partition, offset in first.items():
        if partition in held:
            consumer.seek(partition, offset)
