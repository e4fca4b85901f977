"""Batches handled two at a time (``Redelivery(overlap=True)``, one hop): the next batch starts
once the one before it says it is ready (its transaction holds its locks), never more than two
at a time; offsets are committed in batch order whatever order the handlers end in, and a batch
that fails rewinds itself and everything after it, committing nothing past it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from sync.consumers.kafka import Redelivery
from tests.unit.test_offset_commits import Consumer, Message, Record, tp


def record(partition: int, offset: int, key: str | None = None) -> Record:
    """A record whose message key is its own (``p<partition>o<offset>``) unless one is given
    (``""``: none)."""
    if key == "":
        return Record("t", partition, offset)
    return Record("t", partition, offset, (key or f"p{partition}o{offset}").encode())


def batch(consumer: Consumer, *spots: tuple[int, int]) -> Message:
    return Message(tuple(record(partition, offset) for partition, offset in spots), consumer)


@dataclass
class Script:
    """A handler whose batches, each named by its first offset, wait to be told when to say
    they are ready and when to end (or fail); what it saw is kept."""

    consumer: Consumer
    started: list[int] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0
    ready_now: dict[int, asyncio.Event] = field(default_factory=dict)
    end_now: dict[int, asyncio.Event] = field(default_factory=dict)
    fail: set[int] = field(default_factory=set)
    #: Records that arrive while the batch with this first offset runs.
    arrivals: dict[int, list[Record]] = field(default_factory=dict)

    def gate(self, gates: dict[int, asyncio.Event], offset: int) -> asyncio.Event:
        return gates.setdefault(offset, asyncio.Event())

    async def handle(self, records: Any, ready: Callable[[], None]) -> None:
        first = records[0].offset
        self.started.append(first)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if first in self.arrivals:
                self.consumer.arrive(*self.arrivals[first])
            await self.gate(self.ready_now, first).wait()
            ready()
            await self.gate(self.end_now, first).wait()
            if first in self.fail:
                raise RuntimeError("a defect")
        finally:
            self.running -= 1

    def release(self, *offsets: int, ready_only: bool = False) -> None:
        for offset in offsets:
            self.gate(self.ready_now, offset).set()
            if not ready_only:
                self.gate(self.end_now, offset).set()


async def until(check: Callable[[], bool], what: str) -> None:
    while not check():
        await asyncio.sleep(0.001)
    assert check(), what


def overlapping(consumer: Consumer) -> tuple[Redelivery, Script]:
    consumer.broker_answers.set()
    return Redelivery("unit", max_backoff_s=0.01, overlap=True), Script(consumer)


async def in_background(run: Awaitable[None]) -> asyncio.Task[None]:
    async def go() -> None:
        await run

    return asyncio.create_task(go())


async def test_the_next_batch_starts_once_the_one_before_is_ready_and_commits_after_it() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[0] = [record(1, 7)]
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 0))))
        await until(lambda: script.started == [0], "the first batch started")
        await asyncio.sleep(0.02)
        assert script.started == [0], "the second waits until the first is ready"
        script.release(0, ready_only=True)
        await until(lambda: script.started == [0, 7], "the second started")
        script.release(7)  # the second ends first: its offsets still wait for the first's
        await asyncio.sleep(0.02)
        assert consumer.committed == []
        script.release(0)
        await running
        await redelivery.flush()
    assert script.most_at_once == 2
    assert consumer.committed == [{tp(0): 1}, {tp(1): 8}]


async def test_a_batch_that_never_says_ready_is_done_before_the_next_starts() -> None:
    consumer = Consumer()
    redelivery = Redelivery("unit", max_backoff_s=0.01, overlap=True)
    consumer.broker_answers.set()
    log: list[str] = []

    async def handle(records: Any, ready: Callable[[], None]) -> None:
        first = records[0].offset
        log.append(f"start {first}")
        if first == 0:
            consumer.arrive(record(1, 7))
        await asyncio.sleep(0.02)
        log.append(f"end {first}")

    with anyio.fail_after(5):
        await redelivery.run(handle, batch(consumer, (0, 0)))
        await redelivery.flush()
    assert log == ["start 0", "end 0", "start 7", "end 7"]
    assert consumer.committed == [{tp(0): 1}, {tp(1): 8}]


async def test_never_more_than_two_batches_at_a_time() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[0] = [record(1, 7)]
    script.arrivals[7] = [record(0, 1)]
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 0))))
        await until(lambda: script.started == [0], "the first batch started")
        script.release(0, ready_only=True)
        await until(lambda: script.started == [0, 7], "the second started")
        script.release(7, ready_only=True)
        await asyncio.sleep(0.02)
        assert script.started == [0, 7], "a third waits for the first to be settled"
        script.release(0)
        await until(lambda: script.started == [0, 7, 1], "the third started")
        script.release(7, 1)
        await running
        await redelivery.flush()
    assert script.most_at_once == 2
    assert consumer.committed == [{tp(0): 1}, {tp(1): 8}, {tp(0): 2}]


async def test_a_failed_batch_commits_nothing_past_it_and_rewinds_the_one_after_it() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[4] = [record(1, 7)]
    script.arrivals[7] = [record(1, 8)]  # taken, not started: rewound too
    script.fail.add(4)
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 4))))
        await until(lambda: script.started == [4], "the first batch started")
        script.release(4, ready_only=True)
        await until(lambda: script.started == [4, 7], "the second started")
        script.release(7)  # the second succeeds, yet its offsets would skip the first's
        await asyncio.sleep(0.02)
        script.release(4)
        await running
        await redelivery.flush()
    assert consumer.committed == []
    assert sorted(consumer.seeks) == [(tp(0), 4), (tp(1), 7)]
    assert redelivery.failures == 1


async def test_two_failed_batches_rewind_both_once() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[4] = [record(1, 7)]
    script.fail.update({4, 7})
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 4))))
        await until(lambda: script.started == [4], "the first batch started")
        script.release(4, ready_only=True)
        await until(lambda: script.started == [4, 7], "the second started")
        script.release(7, 4)
        await running
        await redelivery.flush()
    assert consumer.committed == []
    assert sorted(consumer.seeks) == [(tp(0), 4), (tp(1), 7)]
    assert redelivery.failures == 1, "one failure in a row: the next delivery waits once"


async def test_a_failed_second_batch_leaves_the_first_committed() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[0] = [record(1, 7)]
    script.fail.add(7)
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 0))))
        await until(lambda: script.started == [0], "the first batch started")
        script.release(0, ready_only=True)
        await until(lambda: script.started == [0, 7], "the second started")
        script.release(7, 0)
        await running
        await redelivery.flush()
    assert consumer.committed == [{tp(0): 1}]
    assert consumer.seeks == [(tp(1), 7)]


async def test_a_stop_lets_the_batches_in_flight_finish_and_rewinds_what_waits() -> None:
    consumer = Consumer()
    redelivery, script = overlapping(consumer)
    script.arrivals[0] = [record(1, 7)]
    script.arrivals[7] = [record(0, 1)]
    with anyio.fail_after(5):
        running = await in_background(redelivery.run(script.handle, batch(consumer, (0, 0))))
        await until(lambda: script.started == [0], "the first batch started")
        script.release(0, ready_only=True)
        await until(lambda: script.started == [0, 7], "the second started")
        stopping = asyncio.create_task(redelivery.flush())
        script.release(7, 0)
        await running
        await stopping
    assert script.started == [0, 7], "nothing new starts once stopping"
    assert consumer.committed == [{tp(0): 1}, {tp(1): 8}]
    assert consumer.seeks == [(tp(0), 1)]


async def _second_start(first: Record, arriving: Record) -> list[str]:
    """Run a batch of ``first`` that is ready at once and during which ``arriving`` arrives;
    what happened, in order."""
    consumer = Consumer()
    consumer.broker_answers.set()
    redelivery = Redelivery("unit", max_backoff_s=0.01, overlap=True)
    log: list[str] = []

    async def handle(records: Any, ready: Callable[[], None]) -> None:
        offset = records[0].offset
        log.append(f"start {offset}")
        ready()
        if offset == first.offset:
            consumer.arrive(arriving)
        await asyncio.sleep(0.05)
        log.append(f"end {offset}")

    with anyio.fail_after(5):
        await redelivery.run(handle, Message((first,), consumer))
        await redelivery.flush()
    assert consumer.committed == [{tp(first.partition): first.offset + 1},
                                  {tp(arriving.partition): arriving.offset + 1}]
    return log


async def test_a_records_next_version_waits_until_the_batch_before_it_is_done() -> None:
    """A source record's versions share a message key: the next one is not started beside
    the batch holding the one before it (that batch may be creating the fiche, whose row no
    lock protects yet)."""
    log = await _second_start(record(0, 0, key="nihii-1"), record(0, 1, key="nihii-1"))
    assert log == ["start 0", "end 0", "start 1", "end 1"]


async def test_another_records_batch_starts_beside_it() -> None:
    log = await _second_start(record(0, 0, key="nihii-1"), record(0, 1, key="nihii-2"))
    assert log == ["start 0", "start 1", "end 0", "end 1"]


async def test_a_record_without_a_key_waits_as_if_it_shared_one() -> None:
    assert await _second_start(record(0, 0), record(0, 1, key="")) == [
        "start 0", "end 0", "start 1", "end 1"]
    assert await _second_start(record(0, 0, key=""), record(0, 1)) == [
        "start 0", "end 0", "start 1", "end 1"]
