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
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
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

    The commit of a batch's offsets (each partition's last offset + 1, named explicitly) is
    sent when its handler returns and runs while the next batch is fetched and handled: the
    broker's group coordinator takes several milliseconds to answer, and waiting for it before
    the next fetch held back every event that arrived meanwhile. The next batch's commit waits
    for it first, so commits reach the broker in order; one that fails (a rebalance took the
    partition, the coordinator moved) is logged, and the batch is delivered again to whoever
    holds its partition, as when a process dies between the database commit and the offset
    commit. Call :meth:`flush` before the consumer stops: from then on each commit is waited
    for.

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

    With ``overlap``, the handler is called as ``handle(records, ready)`` and may call
    ``ready()`` once the batch's database transaction holds its locks (its reads done, its
    merge and writes to come): the records taken meanwhile are then handled at once, as the
    next batch, while this one writes and commits, at most two batches at a time. Their
    offsets are still committed in batch order, each once its batch and every batch before it
    are done; a failed batch rewinds itself and everything after it, committed or not by its
    handler (applying them again changes nothing). The next batch starts early only when no
    record of it has a message key of this one's (a source record's versions share a key):
    a record's next version waits for this batch to be done, so each version is applied after
    the one before it. Records of other keys about a fiche this batch holds wait for its
    lock, taken after this one's; their order does not matter (the merge is order
    independent).
    """

    def __init__(self, what: str, max_backoff_s: float, carry_limit: int = 500, *,
                 overlap: bool = False) -> None:
        self.what = what
        self.max_backoff_s = max_backoff_s
        self.failures = 0
        self.carry_limit = carry_limit
        self.overlap = overlap
        self._committing: asyncio.Task[None] | None = None
        self._flushing = False

    async def run(self, handle: Callable[..., Awaitable[None]], message: Any) -> None:
        """``handle(records)``, then commit; or, if it raises, back off and rewind. What was
        fetched meanwhile is handled next, the same way, before returning."""
        if self.overlap:
            await self._run_overlapped(handle, message.consumer, list(message.raw_message))
            return
        consumer = message.consumer
        batch: Sequence[Any] = message.raw_message
        while batch:
            taken = await self._handle(handle, consumer, batch)
            if self._flushing and taken:
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
            await self._failed(consumer, records, (*records, *taken), failure)
            return []
        await self._committed(consumer, records)
        return taken

    async def _failed(self, consumer: Any, records: Sequence[Any], again: Sequence[Any],
                      failure: BaseException) -> None:
        """``records``' handler raised ``failure``: back off, then rewind over ``again`` (the
        batch and every record after it that is not committed)."""
        self.failures += 1
        wait = self.backoff()
        log.error("batch failed; it will be delivered again", operation=self.what,
                  failures=self.failures, records=len(records), wait_s=round(wait, 2),
                  exc_info=failure)
        metrics.RETRIES.labels(self.what).inc()
        await asyncio.sleep(wait)
        rewind(consumer, again)

    async def _committed(self, consumer: Any, records: Sequence[Any]) -> None:
        """``records`` were handled: their commit is started after the one before it."""
        self.failures = 0
        await self._settle()  # the previous batch's commit first: commits stay in order
        self._committing = asyncio.create_task(self._commit(consumer, next_offsets(records)))
        if self._flushing:
            await self._settle()

    async def _run_overlapped(
        self, handle: Callable[..., Awaitable[None]], consumer: Any,
        pending: list[Any],
    ) -> None:
        """Batches handled two at a time (``overlap``): the next one starts once the one
        before it is ready; each is settled (committed, or rewound with all after it) in
        order. ``pending`` holds the records not handed to a batch yet, what the consumer
        fetches meanwhile appended to it."""
        flights: deque[_Flight] = deque()
        arrived = asyncio.Event()
        taking = asyncio.create_task(self._take(consumer, pending, arrived))
        try:
            while True:
                newest = flights[-1] if flights else None
                if pending and not self._flushing and (newest is None or (
                        len(flights) == 1 and newest.ready.is_set()
                        and not newest.shares_a_key(pending))):
                    held = consumer.assignment()
                    records = [record for record in pending
                               if TopicPartition(record.topic, record.partition) in held]
                    pending.clear()
                    if records:
                        if flights:
                            metrics.BATCHES_OVERLAPPED.labels(self.what).inc()
                        flights.append(_Flight.start(handle, records))
                    if taking.done():  # it stops at the carry limit
                        taking = asyncio.create_task(self._take(consumer, pending, arrived))
                    continue
                if flights and flights[0].task.done():
                    flight = flights.popleft()
                    failure = (asyncio.CancelledError() if flight.task.cancelled()
                               else flight.task.exception())
                    if failure is not None:
                        await _stop(taking)
                        later = [record for other in flights for record in other.records]
                        for other in flights:  # their offsets would skip this batch's
                            await _finish(other.task)
                        await self._failed(consumer, flight.records,
                                           (*flight.records, *later, *pending), failure)
                        return
                    await self._committed(consumer, flight.records)
                    continue
                if not flights:
                    await _stop(taking)
                    if self._flushing and pending:
                        rewind(consumer, pending)  # stopping: read again by whoever runs next
                        return
                    if not pending:
                        return
                    taking = asyncio.create_task(self._take(consumer, pending, arrived))
                    continue
                arrived.clear()
                await _first_of(flights[0].task, newest.ready if newest is not None
                                and len(flights) == 1 and not newest.ready.is_set() else None,
                                arrived if not pending and len(flights) == 1 else None)
        finally:
            await _stop(taking)
            for flight in flights:
                flight.task.cancel()

    async def flush(self) -> None:
        """Wait (bounded) for the commit under way; later batches' commits are waited for."""
        self._flushing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._settle()), FLUSH_TIMEOUT_S)

    async def _take(self, consumer: Any, into: list[Any],
                    arrived: asyncio.Event | None = None) -> None:
        """Take what the consumer fetches into ``into`` until cancelled (or the limit), setting
        ``arrived`` when records come. A consumer error ends the taking (the subscriber's next
        poll meets it again)."""
        try:
            while len(into) < self.carry_limit:
                fetched = await consumer.getmany(timeout_ms=TAKE_WAIT_MS,
                                                 max_records=self.carry_limit - len(into))
                for part in fetched.values():
                    into.extend(part)
                if fetched and arrived is not None:
                    arrived.set()
        except (KafkaError, ConsumerStoppedError) as error:
            log.info("reading ahead stopped", operation=self.what, error=type(error).__name__)

    async def _settle(self) -> None:
        commit, self._committing = self._committing, None
        if commit is not None:
            await commit

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


async def _finish(task: asyncio.Task[None]) -> None:
    """Wait for ``task`` to end, whatever its outcome (a batch after one that failed); a
    cancellation of the caller still reaches the caller. Its failure, if any, is dropped: the
    batch is rewound with the one before it."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: asyncio would report it as never retrieved


async def _first_of(task: asyncio.Task[None], *events: asyncio.Event | None) -> None:
    """Wait until ``task`` is done or one of ``events`` (those given) is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events if event is not None]
    try:
        await asyncio.wait([task, *waiters], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@dataclass
class _Flight:
    """A batch being handled (:meth:`Redelivery.run` with ``overlap``): its records, its
    handler's task, and whether the handler said the next batch may start."""

    records: list[Any]
    task: asyncio.Task[None]
    ready: asyncio.Event
    keys: frozenset[bytes | None]

    @classmethod
    def start(cls, handle: Callable[..., Awaitable[None]],
              records: list[Any]) -> _Flight:
        ready = asyncio.Event()

        async def handled() -> None:
            await handle(records, ready.set)

        task = asyncio.create_task(handled())
        task.add_done_callback(lambda _: ready.set())
        return cls(records, task, ready, frozenset(record.key for record in records))

    def shares_a_key(self, records: list[Any]) -> bool:
        """Whether any of ``records`` has a message key of this batch's (a record without
        one is taken to share it): a source record's next version waits for this batch to
        be done, not only ready. Its locks would not hold it back when this batch creates
        the fiche (there is no row to lock yet); the unique key would, by failing the
        attempt, whose retry might then come after the version following it."""
        return None in self.keys or any(
            record.key is None or record.key in self.keys for record in records)


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
