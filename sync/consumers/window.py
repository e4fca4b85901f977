"""One batch in flight: the next batch is fetched and mapped while the last one's transactions,
dead letters and offset commit are under way.

FastStream's batch subscriber with manual acknowledgement fetches the next batch only when the
handler returns, and does nothing itself when a handler returns without acknowledging. So the
handler starts a batch (maps it, starts its partitions' transactions), leaves the rest of it to
a task, and returns once the batch *before* it is done: at most two batches are held, the one
in flight and the one being mapped. What keeps the guarantees:

- Per partition, a batch's transaction starts only after the previous batch's transaction on
  that partition committed (a fiche's updates stay in order).
- A batch's offsets are committed explicitly (``{partition: last offset + 1}``), only after its
  transactions committed, the broker acknowledged its dead letters and notices, and the batch
  before it was committed. ``message.ack()`` would commit the consumer's *position*, which is
  past the next batch already fetched: it would skip that batch if the process died.
- A batch that fails is read again: its task waits (backoff), lets every later batch's
  transactions end (they are not committed), then rewinds each of their partitions to the
  failed batch's first offset there. A batch that FastStream had already fetched before that
  rewind carries records past it; they are dropped and read again after the failed ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition

from sync.consumers.kafka import backoff
from sync.consumers.map_apply import Abandoned, Applying, MapApplyStage
from sync.observability import metrics

__all__ = ["Draining", "InFlight"]

log = structlog.get_logger(__name__)
Record = Any  # aiokafka.ConsumerRecord; aiokafka ships no type information


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass(eq=False)
class _Batch:
    records: Sequence[Record]
    previous: _Batch | None
    applying: Applying | None = None
    #: True once its offsets are committed, False once it failed or was abandoned.
    outcome: asyncio.Future[bool] = field(default_factory=_future)
    #: Done once nothing of the batch runs any more (its transactions included).
    ended: asyncio.Future[None] = field(default_factory=_future)

    def transaction(self, partition: tuple[str, int]) -> asyncio.Future[Any] | None:
        """What the next batch's transaction on ``partition`` waits for: this batch's there;
        when this batch did not get to start its transactions, a failure (nothing of the
        next batch is applied before this one is read again)."""
        if self.applying is None:
            failed = _future()
            failed.set_exception(Abandoned("the batch before could not be started"))
            return failed
        return self.applying.transactions.get(partition)

    def offsets(self) -> dict[TopicPartition, int]:
        """Per partition, the offset after the batch's last record there."""
        last: dict[TopicPartition, int] = {}
        for record in self.records:
            partition = TopicPartition(record.topic, record.partition)
            last[partition] = max(record.offset + 1, last.get(partition, 0))
        return last

    def first_offsets(self) -> dict[TopicPartition, int]:
        first: dict[TopicPartition, int] = {}
        for record in self.records:
            partition = TopicPartition(record.topic, record.partition)
            first[partition] = min(record.offset, first.get(partition, record.offset))
        return first


class InFlight:
    """Runs :class:`MapApplyStage` on a batch subscriber with manual acknowledgement, one
    batch in flight while the next is fetched and mapped (module docstring)."""

    def __init__(self, stage: MapApplyStage, what: str, max_backoff_s: float) -> None:
        self.stage = stage
        self.what = what
        self.max_backoff_s = max_backoff_s
        self.failures = 0
        #: Batches started and not yet committed, oldest first.
        self._open: list[_Batch] = []
        #: Per partition rewound after a failure, the offset it was rewound to, until a batch
        #: read from there arrives: records past it that come first were fetched before.
        self._rewound: dict[TopicPartition, int] = {}
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, message: Any) -> None:
        """Start the batch of ``message`` (map it, start its transactions), leave the rest to
        a task, and return once the batch before it is done."""
        if self._closed:
            return  # neither applied nor committed: read again by whoever reads next
        consumer = message.consumer
        records = self._fresh(consumer, message.raw_message)
        if not records:
            return
        previous = self._open[-1] if self._open else None
        batch = _Batch(records, previous)
        self._open.append(batch)
        started: BaseException | None = None
        try:
            batch.applying = await self.stage.begin(
                records, previous.transaction if previous is not None else None)
        except asyncio.CancelledError:  # stopping: the batch is left uncommitted
            self._open.remove(batch)
            batch.outcome.set_result(False)
            batch.ended.set_result(None)
            raise
        except Exception as error:  # the batch fails as a whole: its task says so
            started = error
        task = asyncio.create_task(self._conclude(batch, consumer, started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if previous is not None:
            await asyncio.wait([previous.ended])

    async def close(self, timeout_s: float) -> None:
        """Take no more batches; let those in flight commit for up to ``timeout_s``, then
        abandon the rest: their transactions cancelled (rolled back unless they had
        committed), their offsets not committed, read again after a restart."""
        self._closed = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
        if not pending:
            return
        log.warning("batches abandoned at shutdown, not committed", batches=len(pending))
        transactions = [transaction for batch in self._open if batch.applying is not None
                        for transaction in batch.applying.transactions.values()]
        for task in [*pending, *transactions]:
            task.cancel()
        await asyncio.wait([*pending, *transactions], timeout=timeout_s)

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to ``timeout_s``) until no batch is in flight, their offsets committed or
        their failure handled: before a rebalance takes partitions away. What is still in
        flight after that commits only the partitions still held, if the group lets it."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout_s)

    def _fresh(self, consumer: Any, records: Sequence[Record]) -> list[Record]:
        """``records`` without those fetched before a rewind of their partition (past the
        offset it was rewound to); such a partition is sought back to that offset again."""
        if not self._rewound:
            return list(records)
        first: dict[TopicPartition, int] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            first.setdefault(partition, record.offset)
        stale: set[TopicPartition] = set()
        for partition, offset in first.items():
            rewound = self._rewound.pop(partition, None)
            if rewound is not None and offset > rewound:
                stale.add(partition)
                if partition in consumer.assignment():
                    consumer.seek(partition, rewound)
        return [record for record in records
                if TopicPartition(record.topic, record.partition) not in stale]

    async def _conclude(self, batch: _Batch, consumer: Any,
                        started: BaseException | None) -> None:
        """Wait for the batch's transactions and for the batch before it; then send what
        must be sent and commit the offsets, or handle the failure."""
        try:
            await self._settle(batch, consumer, started)
        finally:
            batch.previous = None  # else each batch would hold every batch before it
            if not batch.outcome.done():
                batch.outcome.set_result(False)
            batch.ended.set_result(None)

    async def _settle(self, batch: _Batch, consumer: Any,
                      started: BaseException | None) -> None:
        try:
            if batch.applying is not None:  # failures are concluded on below
                await asyncio.gather(*batch.applying.transactions.values(),
                                     return_exceptions=True)
            if batch.previous is not None and not await batch.previous.outcome:
                batch.outcome.set_result(False)  # the failed batch rewinds over this one
                return
            if started is not None:
                raise started
            assert batch.applying is not None
            await self.stage.conclude(batch.applying)
            await self._commit(consumer, batch)
        except Exception:
            await self._failed(batch, consumer)
            return
        self.failures = 0
        self._open.remove(batch)
        batch.outcome.set_result(True)

    async def _commit(self, consumer: Any, batch: _Batch) -> None:
        """Commit the batch's offsets on the partitions still held; a partition a rebalance
        took away is left to its new owner, which reads it from the last committed offset."""
        held = consumer.assignment()
        offsets = {partition: offset for partition, offset in batch.offsets().items()
                   if partition in held}
        if offsets:
            await consumer.commit(offsets)

    async def _failed(self, batch: _Batch, consumer: Any) -> None:
        """The batch failed (every batch before it is committed): back off, let the later
        batches end uncommitted, then rewind to the failed batch's records."""
        batch.outcome.set_result(False)
        self.failures += 1
        wait = backoff(self.failures, self.max_backoff_s)
        log.exception("batch failed; it will be delivered again", operation=self.what,
                      failures=self.failures, records=len(batch.records), wait_s=round(wait, 2))
        metrics.RETRIES.labels(self.what).inc()
        await asyncio.sleep(wait)
        while later := [b.ended for b in self._open if b is not batch and not b.ended.done()]:
            await asyncio.wait(later)
        first: dict[TopicPartition, int] = {}
        for abandoned in self._open:
            for partition, offset in abandoned.first_offsets().items():
                first[partition] = min(offset, first.get(partition, offset))
        self._open.clear()
        held = consumer.assignment()
        for partition, offset in first.items():
            if partition in held:
                consumer.seek(partition, offset)
                self._rewound[partition] = offset


class Draining(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Before a rebalance takes partitions away, lets the batches in flight commit (up to
    ``timeout_s``), so that their partitions' new owners do not apply them a second time."""

    def __init__(self, window: Callable[[], InFlight | None], timeout_s: float) -> None:
        self.window = window
        self.timeout_s = timeout_s

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        window = self.window()
        if window is not None and revoked:
            await window.drain(self.timeout_s)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: a partition is read from its last committed offset."""
