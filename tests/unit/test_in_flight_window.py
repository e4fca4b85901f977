"""The window of one batch in flight, on a scripted stage and a consumer that records what it
is asked: what is committed, what is rewound, what is dropped, what is let go."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from sync.consumers.map_apply import Abandoned, After, Applying, MapApplyStage
from sync.consumers.window import InFlight

TOPIC = "sk.src.cobrha.professional"


class Record:
    """A consumer record as the window reads it."""

    def __init__(self, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = TOPIC, partition, offset


def batch(partition: int, first: int, last: int) -> list[Record]:
    return [Record(partition, offset) for offset in range(first, last + 1)]


class Consumer:
    """Holds three partitions; records commits and seeks."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, partition) for partition in range(3)}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


class ScriptedStage(MapApplyStage):
    """Maps and applies nothing: each partition's transaction waits for the one before it,
    then succeeds, unless its batch (numbered from 1) is to fail, once, after the batch
    after it was begun."""

    def __init__(self, failing: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.failing = set(failing)
        self.begun = 0

    async def begin(self, records: Sequence[Any], after: After = None) -> Applying:
        self.begun += 1
        keys = {(record.topic, record.partition) for record in records}
        transactions = {key: asyncio.create_task(self._transaction(
            after(key) if after is not None else None, self.begun)) for key in keys}
        await asyncio.sleep(0)
        return Applying([], transactions)

    async def conclude(self, applying: Applying) -> None:
        for transaction in applying.transactions.values():
            await transaction

    async def _transaction(self, previous: asyncio.Future[Any] | None,
                           number: int) -> list[Any]:
        if previous is not None:
            await asyncio.wait([previous])
            if previous.exception() is not None:
                raise Abandoned
        if number in self.failing:
            while self.begun <= number:
                await asyncio.sleep(0.001)
            self.failing.discard(number)
            raise ConnectionResetError("the database went away")
        return []


def message(consumer: Consumer, records: list[Record]) -> Any:
    return SimpleNamespace(consumer=consumer, raw_message=tuple(records))


async def settled(window: InFlight) -> None:
    await asyncio.wait_for(window.drain(5.0), 5.0)


async def test_each_batch_commits_its_own_offsets_in_order_not_the_consumer_position() -> None:
    """Three batches, each committed as ``{partition: its last offset + 1}``, in order, and
    nothing past a batch before it is done."""
    consumer, window = Consumer(), InFlight(ScriptedStage(), "map-batch", 0.01)
    for records in (batch(0, 0, 4), batch(1, 0, 2) + batch(0, 5, 6), batch(2, 0, 0)):
        await window.run(message(consumer, records))
    await settled(window)
    assert consumer.commits == [
        {TopicPartition(TOPIC, 0): 5},
        {TopicPartition(TOPIC, 1): 3, TopicPartition(TOPIC, 0): 7},
        {TopicPartition(TOPIC, 2): 1},
    ]
    assert consumer.seeks == []


async def test_a_failed_batch_rewinds_itself_and_the_batch_in_flight_after_it() -> None:
    """Batch 2 fails once batch 3 (another partition) is begun: only batch 1 is committed,
    and both partitions go back to where batches 2 and 3 began."""
    consumer, window = Consumer(), InFlight(ScriptedStage({2}), "map-batch", 0.01)
    for records in (batch(0, 0, 4), batch(0, 5, 9), batch(1, 0, 4)):
        await window.run(message(consumer, records))
    await settled(window)
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 5}]
    assert sorted(consumer.seeks) == [(TopicPartition(TOPIC, 0), 5), (TopicPartition(TOPIC, 1), 0)]


async def test_records_fetched_before_a_rewind_are_dropped_and_read_again() -> None:
    """After the rewind, a batch that was fetched before it (past the rewound offset) is
    not applied and its partition is sought back again; the batch read from the rewound
    offset is applied and committed."""
    consumer, stage = Consumer(), ScriptedStage({2})
    window = InFlight(stage, "map-batch", 0.01)
    for records in (batch(0, 0, 4), batch(0, 5, 9), batch(1, 0, 4)):
        await window.run(message(consumer, records))
    await settled(window)
    begun, consumer.seeks = stage.begun, []
    await window.run(message(consumer, batch(1, 5, 9)))
    assert stage.begun == begun
    assert consumer.seeks == [(TopicPartition(TOPIC, 1), 0)]
    await window.run(message(consumer, batch(0, 5, 9) + batch(1, 0, 9)))
    await settled(window)
    assert consumer.commits[-1] == {TopicPartition(TOPIC, 0): 10, TopicPartition(TOPIC, 1): 10}


async def test_a_committed_batch_is_let_go() -> None:
    """Memory stays bounded: once committed, nothing holds a batch's records, not even the
    batches in flight after it."""
    consumer, window = Consumer(), InFlight(ScriptedStage(), "map-batch", 0.01)
    first = batch(0, 0, 4)
    kept = weakref.ref(first[0])
    await window.run(message(consumer, first))
    del first
    for start in range(5, 50, 5):
        await window.run(message(consumer, batch(0, start, start + 4)))
    gc.collect()  # the last batch is still in flight
    assert kept() is None
    await settled(window)
