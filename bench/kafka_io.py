"""Kafka helpers of the benchmark: bulk publishing, topic sizes and stage timestamps."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["Span", "bulk_producer", "consumer", "publish_events", "span_of", "topic_size",
           "wait_for_size"]


@asynccontextmanager
async def bulk_producer(settings: Settings, linger_ms: int = 20) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True,
                                linger_ms=linger_ms, max_batch_size=512 * 1024)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@asynccontextmanager
async def consumer(settings: Settings, **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less consumer (assign partitions yourself)."""
    client = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, **options)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def publish_events(
    producer: AIOKafkaProducer, topic: str, events: Iterable[dict[str, Any]],
    chunk: int = 5000,
) -> int:
    """Publish CloudEvents keyed by subject; waits for every acknowledgement."""
    count, futures = 0, []
    for event in events:
        value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        futures.append(await producer.send(topic, value=value, key=event["subject"].encode()))
        if len(futures) >= chunk:
            await asyncio.gather(*futures)
            count, futures = count + len(futures), []
    await asyncio.gather(*futures)
    return count + len(futures)


_PARTITIONS: dict[str, list[TopicPartition]] = {}


async def partitions(client: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (looked up once; the benchmark never adds partitions)."""
    if topic not in _PARTITIONS:
        deadline = time.monotonic() + 30
        while True:
            cluster = await client._client.fetch_all_metadata()  # aiokafka has no public call
            found = cluster.partitions_for_topic(topic)
            if found:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic} has no partitions after 30 s")
            await asyncio.sleep(0.2)
        _PARTITIONS[topic] = [TopicPartition(topic, p) for p in sorted(found)]
    return _PARTITIONS[topic]


async def topic_size(client: AIOKafkaConsumer, topic: str) -> int:
    """Messages on ``topic`` (end minus beginning offsets, summed over partitions)."""
    parts = await partitions(client, topic)
    ends = await client.end_offsets(parts)
    begins = await client.beginning_offsets(parts)
    return sum(ends[p] - begins[p] for p in parts)


async def wait_for_size(
    client: AIOKafkaConsumer, topic: str, count: int, timeout: float, every_s: float = 0.1,
) -> bool:
    """Poll until ``topic`` holds ``count`` messages; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await topic_size(client, topic) >= count:
            return True
        await asyncio.sleep(every_s)
    return False


class Span:
    """First and last record timestamps (s) of a topic, and how many records it holds."""

    def __init__(self, first: float, last: float, count: int) -> None:
        self.first, self.last, self.count = first, last, count


async def span_of(client: AIOKafkaConsumer, topic: str) -> Span:
    """The earliest and latest record timestamps over all partitions (first and last record
    of each partition; with LogAppendTime they are the broker's append times)."""
    parts = await partitions(client, topic)
    ends = await client.end_offsets(parts)
    begins = await client.beginning_offsets(parts)
    client.assign(parts)
    firsts: list[float] = []
    lasts: list[float] = []
    for part in parts:
        if ends[part] == begins[part]:
            continue
        for offset, bucket in ((begins[part], firsts), (ends[part] - 1, lasts)):
            client.seek(part, offset)
            batch = await client.getmany(part, timeout_ms=10000, max_records=1)
            records = batch.get(part, [])
            if records:
                bucket.append(records[0].timestamp / 1000)
    count = sum(ends[p] - begins[p] for p in parts)
    return Span(min(firsts, default=0.0), max(lasts, default=0.0), count)
