"""Steady state: source events at a fixed rate, latency from publish to fiche event.

Every event id carries its publish time (:func:`bench.events.publish_stamp`); the fiche event
names its cause, so each fiche event is matched to the source event that caused it. The fiche
event's time is its record timestamp, which the broker stamps when it appends the record
(``LogAppendTime``), so the latency is "published" to "on ``sk.fiche.event``".
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from bench.events import EventFactory, latency_of, publish_stamp
from bench.kafka_io import consumer, partitions
from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["SteadyResult", "steady_state"]


@dataclass
class SteadyResult:
    published: int = 0
    new: int = 0
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    missing: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def steady_state(
    settings: Settings, factory: EventFactory, existing: int, *, rate: float, seconds: float,
    settle_s: float = 60.0, update_share: float = 0.5,
) -> SteadyResult:
    """Publish ``rate`` events/s for ``seconds``: new professionals and new versions of the
    ``existing`` ones (each changes phone and address, so each makes a fiche event)."""
    result = SteadyResult()
    wanted: set[str] = set()
    topic = settings.topics.name("fiche_event")
    async with consumer(settings) as reader:
        parts = await partitions(reader, topic)
        reader.assign(parts)
        await reader.seek_to_end(*parts)
        for part in parts:  # resolve the end position now, before anything is published
            await reader.position(part)
        collector = asyncio.create_task(_collect(reader, wanted, result))
        try:
            await _publish(settings, factory, existing, rate, seconds, update_share, wanted,
                           result)
            deadline = time.monotonic() + settle_s
            while wanted and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
    result.missing = len(wanted)
    return result


async def _publish(
    settings: Settings, factory: EventFactory, existing: int, rate: float, seconds: float,
    update_share: float, wanted: set[str], result: SteadyResult,
) -> None:
    rng = random.Random(7)
    versions: dict[int, int] = {}
    source_topic = settings.topics.name("cobrha_professional")
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True,
                                linger_ms=0)
    await producer.start()
    pending: list[asyncio.Future[object]] = []
    try:
        started = time.monotonic()
        total = int(rate * seconds)
        for sent in range(total):
            due = started + sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if existing and rng.random() < update_share:
                index = rng.randrange(existing)
                versions[index] = versions.get(index, 1) + 1
                version, result.updates = versions[index], result.updates + 1
            else:
                index, version = existing + 10_000_000 + result.new, 1
                result.new += 1
            event_id = publish_stamp(f"steady-{index}-v{version}", sent)
            wanted.add(event_id)
            event = factory.professional(index, version, event_id=event_id)
            value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            pending.append(await producer.send(source_topic, value=value,
                                               key=event["subject"].encode()))
            result.published += 1
        result.seconds = time.monotonic() - started
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _collect(reader: object, wanted: set[str], result: SteadyResult) -> None:
    while True:
        batches = await reader.getmany(timeout_ms=200)  # type: ignore[attr-defined]
        for records in batches.values():
            for record in records:
                document = json.loads(record.value)
                cause = ((document.get("data") or {}).get("cause") or {}).get("id", "")
                if cause in wanted:
                    wanted.discard(cause)
                    latency = latency_of(cause, record.timestamp * 1_000_000)
                    if latency is not None:
                        result.latencies.append(latency)
