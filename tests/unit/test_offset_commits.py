"""A batch's offsets are committed after its handler returned, while the next batch is read and
handled; commits stay in order, name the batch's own offsets, go at most one per interval (the
batches done meanwhile together), and a failed one is survived. What the consumer fetches while
a batch is handled is taken and handled next."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from structlog.testing import capture_logs

from sync.consumers.kafka import Redelivery, next_offsets


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int


@dataclass
class Consumer:
    """What a subscriber's consumer does for :class:`Redelivery`: commit, seek, assignment."""

    held: set[TopicPartition] = field(
        default_factory=lambda: {TopicPartition("t", 0), TopicPartition("t", 1)})
    committed: list[dict[TopicPartition, int]] = field(default_factory=list)
    #: Every commit as it is sent, answered or not.
    sent: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)
    #: Each commit waits for this before it is acknowledged.
    broker_answers: asyncio.Event = field(default_factory=asyncio.Event)
    fail_next: bool = False
    #: Records the broker has sent and the consumer holds until they are taken.
    fetched: list[Record] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self, *records: Record) -> None:
        self.fetched.extend(records)
        self.arrived.set()

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        if not self.fetched:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout_ms / 1000)
        taken, self.fetched = self.fetched[:max_records], self.fetched[max_records:]
        if not self.fetched:
            self.arrived.clear()
        grouped: dict[TopicPartition, list[Any]] = {}
        for record in taken:
            grouped.setdefault(tp(record.partition), []).append(record)
        return grouped

    def assignment(self) -> set[TopicPartition]:
        return self.held

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.sent.append(dict(offsets))
        await self.broker_answers.wait()
        if self.fail_next:
            self.fail_next = False
            raise CommitFailedError("the group rebalanced")
        self.committed.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


@dataclass
class Message:
    raw_message: tuple[Record, ...]
    consumer: Consumer


def batch(consumer: Consumer, *spots: tuple[int, int]) -> Message:
    return Message(tuple(Record("t", partition, offset) for partition, offset in spots), consumer)


async def nothing(records: Any) -> None:
    return None


def arriving_during_the_first(
    consumer: Consumer, handled: list[list[int]], keep: set[TopicPartition] | None = None,
) -> Callable[[Any], Awaitable[None]]:
    """A handler that notes each batch's offsets in ``handled``; while the first batch runs,
    records arrive on partitions 0 and 1 (offsets 1 and 7), then, with ``keep``, a rebalance
    leaves the consumer only those partitions."""

    async def handle(records: Any) -> None:
        handled.append([r.offset for r in records])
        if len(handled) == 1:
            consumer.arrive(Record("t", 0, 1), Record("t", 1, 7))
            await asyncio.sleep(0.01)
            if keep is not None:
                consumer.held = keep

    return handle


def tp(partition: int) -> TopicPartition:
    return TopicPartition("t", partition)


def test_a_commit_names_the_offset_after_each_partitions_last_record_in_the_batch() -> None:
    records = (Record("t", 0, 7), Record("t", 1, 3), Record("t", 0, 9), Record("t", 0, 8))
    assert next_offsets(records) == {tp(0): 10, tp(1): 4}


async def test_the_next_batch_is_handled_while_the_last_ones_offsets_are_being_committed() -> None:
    consumer = Consumer()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    handled: list[int] = []

    async def handle(records: Any) -> None:
        handled.append(records[0].offset)

    with anyio.fail_after(5):
        await redelivery.run(handle, batch(consumer, (0, 0), (0, 1)))  # its commit unanswered
        await redelivery.run(handle, batch(consumer, (1, 5)))  # handled all the same
        await asyncio.sleep(0.01)
        assert consumer.committed == []
        assert consumer.sent == [{tp(0): 2}]  # the second is sent only after the one before it
        consumer.broker_answers.set()
        await redelivery.flush()
    assert handled == [0, 5]
    assert consumer.committed == [{tp(0): 2}, {tp(1): 6}]


async def test_batches_done_within_the_interval_are_committed_together() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1, commit_interval_s=0.2)
    with anyio.fail_after(5):
        await redelivery.run(nothing, batch(consumer, (0, 0)))  # the first goes at once
        await asyncio.sleep(0.01)
        for spots in [(0, 1)], [(1, 4)], [(0, 2), (1, 5)]:
            await redelivery.run(nothing, batch(consumer, *spots))
        await asyncio.sleep(0.05)
        assert consumer.committed == [{tp(0): 1}]  # the others wait for the interval
        while len(consumer.committed) < 2:  # an idle consumer's last batches are committed too
            await asyncio.sleep(0.01)
    assert consumer.committed == [{tp(0): 1}, {tp(0): 3, tp(1): 6}]


async def test_flush_commits_what_is_pending_without_waiting_for_the_interval() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1, commit_interval_s=3600)
    with anyio.fail_after(5):
        await redelivery.run(nothing, batch(consumer, (0, 0)))
        await redelivery.run(nothing, batch(consumer, (1, 7)))
        await redelivery.flush()
        assert consumer.committed == [{tp(0): 1}, {tp(1): 8}]
        await redelivery.run(nothing, batch(consumer, (1, 8)))  # stopping: waited for
    assert consumer.committed == [{tp(0): 1}, {tp(1): 8}, {tp(1): 9}]


async def test_after_flush_each_batch_returns_only_once_its_offsets_are_committed() -> None:
    consumer = Consumer()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    consumer.broker_answers.set()
    with anyio.fail_after(5):
        await redelivery.flush()
        await redelivery.run(nothing, batch(consumer, (1, 4)))
    assert consumer.committed == [{tp(1): 5}]


async def test_a_partition_taken_away_meanwhile_is_left_to_its_new_owner() -> None:
    consumer = Consumer(held={tp(1)})
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    with anyio.fail_after(5):
        await redelivery.run(nothing, batch(consumer, (0, 1), (1, 1)))
        await redelivery.run(nothing, batch(consumer, (0, 2)))  # nothing of it is held
        await redelivery.flush()
    assert consumer.committed == [{tp(1): 2}]


async def test_a_failed_commit_is_survived_and_the_next_batch_commits_past_it() -> None:
    consumer = Consumer(fail_next=True)
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    with anyio.fail_after(5):
        await redelivery.run(nothing, batch(consumer, (0, 0)))
        await redelivery.run(nothing, batch(consumer, (0, 1)))
        await redelivery.flush()
    assert consumer.committed == [{tp(0): 2}]


async def test_a_batch_whose_handler_failed_is_rewound_and_not_committed() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.01)

    async def fail(records: Any) -> None:
        raise RuntimeError("a defect")

    with anyio.fail_after(5):
        await redelivery.run(fail, batch(consumer, (0, 4), (0, 5), (1, 9)))
        await redelivery.flush()
    assert consumer.committed == []
    assert sorted(consumer.seeks) == [(tp(0), 4), (tp(1), 9)]


async def test_the_log_line_of_a_failed_batch_names_its_error() -> None:
    """An operator reads why the batch failed: the line carries the handler's exception (and
    so its traceback), not just that it failed."""
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.01)

    async def fail(records: Any) -> None:
        raise RuntimeError("a defect in the handler")

    with anyio.fail_after(5), capture_logs() as logs:
        await redelivery.run(fail, batch(consumer, (0, 4)))
    [line] = [entry for entry in logs if entry["event"].startswith("batch failed")]
    assert isinstance(line["exc_info"], RuntimeError)
    assert str(line["exc_info"]) == "a defect in the handler"


async def test_what_is_fetched_while_a_batch_is_handled_is_handled_next_then_committed() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    handled: list[list[int]] = []
    handle = arriving_during_the_first(consumer, handled)

    with anyio.fail_after(5):
        await redelivery.run(handle, batch(consumer, (0, 0)))
        await redelivery.flush()
    assert handled == [[0], [1, 7]]
    assert consumer.committed == [{tp(0): 1}, {tp(0): 2, tp(1): 8}]


async def test_records_taken_of_a_partition_that_left_meanwhile_are_left_to_its_new_owner() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.1)
    handled: list[list[int]] = []
    handle = arriving_during_the_first(consumer, handled, keep={tp(0)})  # partition 1 taken

    with anyio.fail_after(5):
        await redelivery.run(handle, batch(consumer, (0, 0)))
        await redelivery.flush()
    assert handled == [[0], [1]]


async def test_a_failed_batch_rewinds_what_was_taken_while_it_ran_too() -> None:
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.01)

    async def fail(records: Any) -> None:
        consumer.arrive(Record("t", 1, 7))
        await asyncio.sleep(0.01)
        raise RuntimeError("a defect")

    with anyio.fail_after(5):
        await redelivery.run(fail, batch(consumer, (0, 4)))
        await redelivery.flush()
    assert consumer.committed == []
    assert sorted(consumer.seeks) == [(tp(0), 4), (tp(1), 7)]
