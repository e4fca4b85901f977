"""Driving the service through its topics: publish source events, read what comes out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from sync.ops.publish import outgoing_for
from sync.producers.kafka import client_options, send_all
from sync.settings import Settings

__all__ = ["TopicReader", "publish", "publish_raw"]


async def publish(settings: Settings, events: Iterable[dict[str, Any]]) -> None:
    """Publish source CloudEvents on their source topics and wait for the broker's ack."""
    await _send(settings, [outgoing_for(event, settings) for event in events])


async def publish_raw(
    settings: Settings, topic_key: str, values: Iterable[bytes], key: bytes = b"k",
    headers: Iterable[tuple[str, bytes]] = (), topic: str | None = None,
) -> None:
    """Publish raw bytes (malformed on purpose) on a topic (a source topic, say); ``topic``,
    a full name, for one that has no key (a dead-letter topic)."""
    topic = topic or settings.topics.name(topic_key)
    await _send(settings, [(topic, key, value, list(headers)) for value in values])


async def _send(settings: Settings, messages: list[Any]) -> None:
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True)
    await producer.start()
    try:
        await send_all(producer, messages)
    finally:
        await producer.stop()


class TopicReader:
    """Reads a topic from its beginning, without a consumer group, keeping every record."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> TopicReader:
        self._consumer = AIOKafkaConsumer(
            **client_options(self.settings), enable_auto_commit=False,
            auto_offset_reset="earliest")
        await self._consumer.start()
        partitions = await self._partitions()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        return self

    async def _partitions(self) -> list[TopicPartition]:
        """The topic's partitions; the topic is created (as the service would) if missing."""
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        await admin.start()
        try:
            if self.topic not in await admin.list_topics():
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics([NewTopic(self.topic, 3, 1)])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                [described] = await admin.describe_topics([self.topic])
                if described.get("error_code", 0) == 0 and described["partitions"]:
                    return [TopicPartition(self.topic, part["partition"])
                            for part in described["partitions"]]
                await asyncio.sleep(0.1)
        finally:
            await admin.close()
        raise AssertionError(f"topic {self.topic} did not appear within 30 s")

    async def __aexit__(self, *_: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    def values(self) -> list[dict[str, Any]]:
        """The records that hold JSON objects, decoded (dead letters may hold anything)."""
        out = []
        for record in self.records:
            try:
                value = json.loads(record.value or b"")
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    async def poll(self, seconds: float = 0.2) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        for records in batches.values():
            self.records.extend(records)

    async def until(
        self, condition: Callable[[list[dict[str, Any]]], bool], *, what: str,
        timeout: float = 60.0,
    ) -> list[dict[str, Any]]:
        """Poll until ``condition(values)`` holds; fail saying ``what`` was awaited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.poll()
            if condition(self.values()):
                return self.values()
        raise AssertionError(
            f"waited {timeout:.0f} s for {what} on {self.topic}; saw {len(self.records)} records")

    async def settle(self, quiet: float = 2.0) -> list[dict[str, Any]]:
        """Read until nothing new arrives for ``quiet`` seconds (to show that nothing more came)."""
        last = -1
        while last != len(self.records):
            last = len(self.records)
            await self.poll(quiet)
        return self.values()
