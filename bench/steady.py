"""Steady state: source events at a fixed rate, latency from publish to fiche event.

Every event id carries its publish time (:func:`bench.events.publish_stamp`); the fiche event
names its cause, so each fiche event is matched to the source event that caused it. The fiche
event's time is its record timestamp, which the broker stamps when it appends the record
(``LogAppendTime``), so the latency is "published" to "on ``sk.fiche.event``".

The same latency per stage, on the same clocks (the broker's append times and PostgreSQL's,
all on this machine):

* map: published -> the first canonical update naming the event as its origin is appended
  to ``sk.fiche.update``;
* apply: that append -> the start of the apply transaction that made the fiche version (its
  ``fiche_history.recorded_at``, the transaction's ``now()``; the earliest such row);
* relay: that start -> the fiche event is appended to ``sk.fiche.event``. This includes the
  apply transaction's own duration (the relay only sees the row once it commits), the relay's
  wake-up and the publish.

The three add up to the end-to-end latency of each event. A negative span (clocks that
disagree, or the millisecond rounding of append times) is counted and taken as 0.

When the service maps and applies in one process (the default, one hop), nothing is appended
to ``sk.fiche.update``: map and apply are then one stage, ``map+apply`` (published -> the start
of the apply transaction), followed by relay as above.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.events import EventFactory, latency_of, publish_stamp
from bench.kafka_io import consumer, partitions
from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["ONE_HOP_STAGES", "STAGES", "SteadyResult", "stage_breakdown", "steady_state"]

#: The stages of the breakdown, in order: with map and apply in separate processes (two hops)
#: and in one (one hop, nothing on ``sk.fiche.update`` to time the map stage by).
STAGES = ("map", "apply", "relay")
ONE_HOP_STAGES = ("map+apply", "relay")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class SteadyResult:
    published: int = 0
    new: int = 0
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    #: Source event id -> append time (ms) of its first canonical update on sk.fiche.update.
    update_ms: dict[str, int] = field(default_factory=dict)
    #: Source event id -> append time (ms) of its fiche event (the matched ones only).
    fiche_ms: dict[str, int] = field(default_factory=dict)
    #: Source event id -> start (ns) of the apply transaction that wrote its fiche event.
    applied_ns: dict[str, int] = field(default_factory=dict)
    #: Per stage: p50_ms, p95_ms, p99_ms, samples, negative_clamped (:func:`stage_breakdown`).
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The current version of each loaded professional updated so far (for the next phase).
    versions: dict[int, int] = field(default_factory=dict)
    #: CPU seconds of the benchmark's own process (its threads too) while it published: the
    #: load generator and the consumer of fiche events, on the cores the service runs on.
    generator_cpu_s: float = 0.0
    #: CPU seconds each process the probe names (the service, PostgreSQL's backends, the
    #: broker) used while the phase published; empty without a probe.
    cpu_s: dict[str, float] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        return _percentile(self.latencies, q)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def steady_state(
    settings: Settings, factory: EventFactory, existing: int, *, rate: float, seconds: float,
    settle_s: float = 60.0, update_share: float = 0.5, versions: dict[int, int] | None = None,
    new_offset: int = 0, one_hop: bool = True,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> SteadyResult:
    """Publish ``rate`` events/s for ``seconds``: new professionals and new versions of the
    ``existing`` ones (each changes phone and address, so each makes a fiche event);
    ``versions``: the current version of those already updated (others are at 1);
    ``new_offset``: how many new professionals earlier phases made (each phase makes others).
    ``one_hop``: the service maps and applies in one process (no canonical update to read).
    ``cpu``: CPU seconds used so far by each process to watch, read as publishing starts and
    ends. The versions this phase leaves are in ``versions`` of the result."""
    result = SteadyResult(versions=dict(versions or {}))
    wanted: set[str] = set()
    sent: set[str] = set()
    topic = settings.topics.name("fiche_event")
    update_topic = settings.topics.name("fiche_update")
    async with consumer(settings) as reader:
        parts = [*await partitions(reader, topic),
                 *([] if one_hop else await partitions(reader, update_topic))]
        reader.assign(parts)
        await reader.seek_to_end(*parts)
        for part in parts:  # resolve the end position now, before anything is published
            await reader.position(part)
        collector = asyncio.create_task(_collect(reader, update_topic, wanted, sent, result))
        try:
            await _publish(settings, factory, existing, rate, seconds, update_share, wanted,
                           sent, result, result.versions, new_offset, cpu)
            deadline = time.monotonic() + settle_s
            while wanted and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            # A canonical update is appended before its fiche event, but may be read after it.
            deadline = time.monotonic() + (0 if one_hop else 10)
            while (time.monotonic() < deadline
                   and not result.fiche_ms.keys() <= result.update_ms.keys()):
                await asyncio.sleep(0.1)
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
    result.missing = len(wanted)
    result.applied_ns = await _apply_starts(settings.database_url, list(result.fiche_ms))
    result.stages = stage_breakdown(result, one_hop)
    return result


async def _publish(
    settings: Settings, factory: EventFactory, existing: int, rate: float, seconds: float,
    update_share: float, wanted: set[str], sent: set[str], result: SteadyResult,
    versions: dict[int, int], new_offset: int = 0,
    cpu_probe: Callable[[], dict[str, float]] | None = None,
) -> None:
    rng = random.Random(7)
    source_topic = settings.topics.name("cobrha_professional")
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True,
                                linger_ms=0)
    await producer.start()
    pending: list[asyncio.Future[object]] = []
    try:
        watched = cpu_probe() if cpu_probe is not None else {}
        cpu = time.process_time()
        started = time.monotonic()
        total = int(rate * seconds)
        for index_sent in range(total):
            due = started + index_sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if existing and rng.random() < update_share:
                index = rng.randrange(existing)
                versions[index] = versions.get(index, 1) + 1
                version, result.updates = versions[index], result.updates + 1
            else:
                index, version = existing + 10_000_000 + new_offset + result.new, 1
                result.new += 1
            event_id = publish_stamp(f"steady-{index}-v{version}", index_sent)
            wanted.add(event_id)
            sent.add(event_id)
            event = factory.professional(index, version, event_id=event_id)
            value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            pending.append(await producer.send(source_topic, value=value,
                                               key=event["subject"].encode()))
            result.published += 1
        result.seconds = time.monotonic() - started
        await asyncio.gather(*pending)
        result.generator_cpu_s = time.process_time() - cpu
        if cpu_probe is not None:
            result.cpu_s = {name: used - watched.get(name, 0.0)
                            for name, used in cpu_probe().items()}
    finally:
        await producer.stop()


async def _collect(reader: object, update_topic: str, wanted: set[str], sent: set[str],
                   result: SteadyResult) -> None:
    while True:
        batches = await reader.getmany(timeout_ms=200)  # type: ignore[attr-defined]
        for part, records in batches.items():
            if part.topic == update_topic:
                for record in records:  # JSON of sync.events.FicheUpdate
                    origin = (json.loads(record.value) or {}).get("origin") or {}
                    cause = origin.get("id", "")
                    if cause in sent and cause not in result.update_ms:  # the first one
                        result.update_ms[cause] = record.timestamp
                continue
            for record in records:
                document = json.loads(record.value)
                cause = ((document.get("data") or {}).get("cause") or {}).get("id", "")
                if cause in wanted:
                    wanted.discard(cause)
                    latency = latency_of(cause, record.timestamp * 1_000_000)
                    if latency is not None:
                        result.latencies.append(latency)
                        result.fiche_ms[cause] = record.timestamp


async def _apply_starts(url: str, causes: list[str], timeout: float = 120) -> dict[str, int]:
    """Cause -> start (ns since the epoch) of the earliest apply transaction that made a
    fiche version for it: ``fiche_history.recorded_at`` is the transaction's ``now()`` (the
    outbox row is gone once published)."""
    if not causes:
        return {}
    conn = await asyncpg.connect(url, timeout=30)
    try:
        rows = await conn.fetch(
            "SELECT cause_event_id AS cause, min(recorded_at) AS created FROM fiche_history"
            " WHERE cause_event_id = ANY($1::text[]) GROUP BY 1", causes, timeout=timeout)
    finally:
        await conn.close()
    return {row["cause"]: (row["created"] - _EPOCH) // dt.timedelta(microseconds=1) * 1000
            for row in rows}


def stage_breakdown(result: SteadyResult, one_hop: bool = False) -> dict[str, dict[str, Any]]:
    """p50 / p95 / p99 (ms) of each stage (:data:`STAGES`, or :data:`ONE_HOP_STAGES`) over the
    matched events that have both ends of the stage; negative spans are counted
    (``negative_clamped``) and taken as 0."""
    names = ONE_HOP_STAGES if one_hop else STAGES
    spans: dict[str, list[float]] = {name: [] for name in names}
    negative = dict.fromkeys(names, 0)
    for cause, fiche_ms in result.fiche_ms.items():
        applied_ns = result.applied_ns.get(cause)
        relayed = None if applied_ns is None else (fiche_ms * 1_000_000 - applied_ns) / 1e9
        if one_hop:
            mapped_applied = None if applied_ns is None else latency_of(cause, applied_ns)
            values: tuple[float | None, ...] = (mapped_applied, relayed)
        else:
            values = (*_two_hops(result, cause, applied_ns), relayed)
        for name, value in zip(names, values, strict=True):
            if value is None:
                continue
            if value < 0:
                negative[name] += 1
                value = 0.0
            spans[name].append(value)
    return {name: {**{f"{label}_ms": _percentile(spans[name], q) * 1000
                      for label, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))},
                   "samples": len(spans[name]), "negative_clamped": negative[name]}
            for name in names}


def _two_hops(result: SteadyResult, cause: str, applied_ns: int | None,
              ) -> tuple[float | None, float | None]:
    """Map (published -> canonical update appended) and apply (-> apply transaction start)."""
    update_ms = result.update_ms.get(cause)
    update_ns = None if update_ms is None else update_ms * 1_000_000
    mapped = None if update_ns is None else latency_of(cause, update_ns)
    applied = None if update_ns is None or applied_ns is None else (applied_ns - update_ns) / 1e9
    return mapped, applied
