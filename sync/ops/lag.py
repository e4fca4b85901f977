"""Consumer lag from the broker: committed offsets of a group against log-end offsets."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["PartitionLag", "group_lag", "offsets"]


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


async def offsets(
    settings: Settings, topics: list[str],
) -> dict[TopicPartition, tuple[int, int]]:
    """(beginning, end) offsets of every partition of ``topics`` that exists."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(item["topic"], part["partition"]) for item in described
        if item.get("error_code", 0) == 0 for part in item.get("partitions", ())
    ]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        if not partitions:
            return {}
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        return {tp: (begins[tp], ends[tp]) for tp in partitions}
    finally:
        await consumer.stop()


async def group_lag(settings: Settings, group: str, topics: list[str]) -> list[PartitionLag]:
    """Lag per partition; a partition the group never committed counts from its start."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    known = await offsets(settings, topics)
    rows = []
    for tp, (begin, end) in sorted(known.items(), key=lambda i: (i[0].topic, i[0].partition)):
        meta = committed.get(tp)
        offset = meta.offset if meta is not None and meta.offset >= 0 else None
        rows.append(PartitionLag(group, tp.topic, tp.partition, offset, begin, end))
    return rows
