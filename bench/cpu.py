"""CPU of the map side per source event, without Kafka or PostgreSQL: the benchmark's own
CoBRHA professionals (:class:`bench.events.EventFactory`) decoded and mapped by the service's
source stage (:meth:`sync.consumers.source.SourceStage.map`, the code the one-hop stage runs),
plus the producer's partitioner on each update's key.

CPU time of this process (``time.process_time``), not wall time: the machine is shared, and
what counts for throughput is the CPU one event costs the service's single thread.

    python -m bench.cpu --events 10000 [--top 25] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.events import EventFactory
from sync.consumers.source import SourceStage
from sync.mapping import MappingContext
from sync.producers.partitioner import partition_of
from sync.settings import Settings

__all__ = ["FakeRecord", "main", "records", "speed_index", "timed"]

TOPIC = "sk.src.cobrha.professional"
PARTITIONS = 12
BATCH = 500


@dataclass(frozen=True)
class FakeRecord:
    """What the source stage reads of an aiokafka ``ConsumerRecord``."""

    value: bytes
    offset: int
    topic: str = TOPIC
    partition: int = 0
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def records(count: int) -> list[FakeRecord]:
    """``count`` source records as the benchmark publishes them."""
    factory = EventFactory()
    return [FakeRecord(json.dumps(factory.professional(index), ensure_ascii=False).encode(),
                       offset=index)
            for index in range(count)]


def stage() -> SourceStage:
    """The source stage as the service builds it (no producer: mapping sends nothing)."""
    return SourceStage(Settings(), producer=None,
                       context=MappingContext(ssin_secret=b"bench-ssin-secret"))


def map_all(source: SourceStage, batch: Sequence[FakeRecord]) -> int:
    """Map ``batch`` in the stage's batches and partition each update; how many updates."""
    count = 0
    for start in range(0, len(batch), BATCH):
        for _, updates, _ in source.map(batch[start:start + BATCH]):
            for update in updates:
                partition_of(update.key.encode(), PARTITIONS)
                count += 1
    return count


def timed(work: Callable[[], Any], repeat: int) -> float:
    """The least CPU seconds of ``repeat`` runs of ``work`` (the least is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def speed_index(count: int = 2000, repeat: int = 3) -> float:
    """µs of CPU per event that the service's own decoding and mapping take on this machine
    now: a speed index of the machine in the service's terms, to tell a slow machine from slow
    code when two runs of the benchmark differ."""
    batch, source = records(count), stage()
    map_all(source, batch[:BATCH])  # warm, as main() does
    return timed(lambda: map_all(source, batch), repeat) / count * 1e6


def main(argv: Sequence[str] | None = None) -> None:
    """Print µs of CPU per event for decode+map (+partition), then a cProfile top list."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    batch, source = records(args.events), stage()
    map_all(source, batch[:BATCH])  # warm: caches, imports, pydantic's first builds
    seconds = timed(lambda: map_all(source, batch), args.repeat)
    print(f"decode+map+partition: {seconds / len(batch) * 1e6:.1f} µs CPU per event "
          f"({len(batch)} events, best of {args.repeat})")
    if args.top:
        profiler = cProfile.Profile()
        profiler.runcall(map_all, source, batch)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
