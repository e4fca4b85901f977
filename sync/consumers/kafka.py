"""FastStream plumbing shared by the subscribers: a parser that never refuses a message, and
redelivery of a batch whose handler failed.

FastStream's own parser decodes every header as UTF-8; one hostile header would make it
raise before our handler runs, and with manual acknowledgement the message would then be
skipped by the next commit. Here such header values are kept, with undecodable bytes
replaced, so that the handler sees (and dead-letters) every message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog
from aiokafka import TopicPartition

from sync.observability import metrics

__all__ = ["Redelivery", "raw_body", "rewind", "tolerant_parser"]

log = structlog.get_logger(__name__)

Records = Any  # a ConsumerRecord or a tuple of them (aiokafka is untyped)


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

    An exception leaves the batch neither applied nor dead-lettered; a later commit would
    cover its offsets, so each of its partitions is rewound to the batch's first offset there
    (the next poll reads it again). The rewind waits first, longer after each failure in a row
    (exponential, with jitter, up to ``max_backoff_s``): a failure that persists is not a hot
    loop, and its log line and the ``sksync_retries_total`` series say so.
    """

    def __init__(self, what: str, max_backoff_s: float) -> None:
        self.what = what
        self.max_backoff_s = max_backoff_s
        self.failures = 0

    async def run(self, handle: Callable[[Any], Awaitable[None]], message: Any) -> None:
        """``handle(records)``, then commit; or, if it raises, back off and rewind."""
        records = message.raw_message
        try:
            await handle(records)
        except Exception:
            self.failures += 1
            wait = self.backoff()
            log.exception("batch failed; it will be delivered again", operation=self.what,
                          failures=self.failures, records=len(records), wait_s=round(wait, 2))
            metrics.RETRIES.labels(self.what).inc()
            await asyncio.sleep(wait)
            rewind(message.consumer, records)
            return
        self.failures = 0
        await message.ack()

    def backoff(self) -> float:
        """The wait before the next delivery of a batch that failed ``failures`` times."""
        ceiling = min(self.max_backoff_s, 0.1 * 2 ** min(self.failures - 1, 20))
        # Jitter: instances that failed together do not come back together.
        return random.uniform(ceiling / 2, ceiling)


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
