"""Consumer lag from the broker: committed offsets of a group against log-end offsets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import BrokerResponseError

from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["LagReader", "PartitionLag", "group_lag", "offsets"]


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    beginning: int
    end: int

    @property
    def lag(self) -> int:
        """Messages not yet consumed; a never-committed partition counts from its start."""
        return self.end - (self.committed if self.committed is not None else self.beginning)


class LagReader:
    """One admin client and one consumer for any number of lag and offset reads.

    The gauges read lag every few seconds: a client per read would bootstrap (connect, fetch
    metadata) each time. The clients start on the first read; a read that fails for another
    reason than the broker's answer (a lost connection, a timeout) closes both, and the next
    read starts new ones. Use as ``async with LagReader(settings) as reader``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._starts = 0

    @property
    def starts(self) -> int:
        """How many times the clients were started (1 while the first ones keep working)."""
        return self._starts

    async def __aenter__(self) -> LagReader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close both clients (the next read starts new ones)."""
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    @contextlib.asynccontextmanager
    async def _clients(self) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
        if self._admin is None or self._consumer is None:
            await self.close()
            options = client_options(self._settings)
            self._admin = AIOKafkaAdminClient(**options)
            self._consumer = AIOKafkaConsumer(**options, enable_auto_commit=False)
            self._starts += 1
            try:
                await self._admin.start()
                await self._consumer.start()
            except BaseException:
                await self.close()
                raise
        try:
            yield self._admin, self._consumer
        except BrokerResponseError:
            raise  # the broker answered (e.g. no group coordinator yet): the clients work
        except BaseException:
            await self.close()  # a client in an unknown state: the next read starts afresh
            raise

    async def offsets(self, topics: list[str]) -> dict[TopicPartition, tuple[int, int]]:
        """(beginning, end) offsets of every partition of ``topics`` that exists."""
        async with self._clients() as (admin, consumer):
            described = await admin.describe_topics(topics)
            partitions = [
                TopicPartition(item["topic"], part["partition"]) for item in described
                if item.get("error_code", 0) == 0 for part in item.get("partitions", ())
            ]
            if not partitions:
                return {}
            ends = await consumer.end_offsets(partitions)
            begins = await consumer.beginning_offsets(partitions)
            return {tp: (begins[tp], ends[tp]) for tp in partitions}

    async def group_lag(self, group: str, topics: list[str]) -> list[PartitionLag]:
        """Lag per partition; a partition the group never committed counts from its start."""
        async with self._clients() as (admin, _):
            committed = await admin.list_consumer_group_offsets(group)
        known = await self.offsets(topics)
        rows = []
        for tp, (begin, end) in sorted(known.items(), key=lambda i: (i[0].topic, i[0].partition)):
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else None
            rows.append(PartitionLag(group, tp.topic, tp.partition, offset, begin, end))
        return rows


async def offsets(
    settings: Settings, topics: list[str],
) -> dict[TopicPartition, tuple[int, int]]:
    """(beginning, end) offsets of every partition of ``topics`` that exists (one read, its
    own clients)."""
    async with LagReader(settings) as reader:
        return await reader.offsets(topics)


async def group_lag(settings: Settings, group: str, topics: list[str]) -> list[PartitionLag]:
    """Lag per partition (one read, its own clients); see :meth:`LagReader.group_lag`."""
    async with LagReader(settings) as reader:
        return await reader.group_lag(group, topics)
