"""Publishing the initial load fast, in bounded memory: up to a million events.

Making an event (:meth:`bench.events.EventFactory.professional`, seeded per index, so any
process makes the same one) and encoding it cost more than sending it, so worker processes
make and encode chunks of events while this one sends the chunks already made. At most
``ahead`` chunks are made or waiting at a time: memory stays at a few chunks whatever the size.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
from collections import deque

import orjson
from aiokafka import AIOKafkaProducer

from bench.events import EventFactory

__all__ = ["encoded_professionals", "publish_professionals"]

#: Events per chunk (a worker's unit, and how many acknowledgements are awaited at once).
CHUNK = 5_000


def encoded_professionals(seed: int, start: int, stop: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of professionals ``start .. stop - 1``, version 1, as the broker gets them
    (the same bytes :func:`bench.kafka_io.publish_events` sends for the same events)."""
    factory = EventFactory(seed)
    out = []
    for index in range(start, stop):
        event = factory.professional(index)
        out.append((event["subject"].encode(), orjson.dumps(event)))
    return out


async def publish_professionals(
    producer: AIOKafkaProducer, topic: str, count: int, factory: EventFactory,
    workers: int | None = None, ahead: int = 4,
) -> int:
    """Publish professionals ``0 .. count - 1`` (version 1) keyed by subject and wait for every
    acknowledgement; ``workers`` processes make the events (default: one per core, at most 4)."""
    workers = workers or min(4, os.cpu_count() or 1)
    starts = iter(range(0, count, CHUNK))
    loop = asyncio.get_running_loop()
    # Spawned, not forked: a fork would copy this process's running event loop and sockets.
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        made: deque[asyncio.Future[list[tuple[bytes, bytes]]]] = deque()

        def submit() -> None:
            start = next(starts, None)
            if start is not None:
                made.append(loop.run_in_executor(pool, encoded_professionals, factory.seed,
                                                 start, min(count, start + CHUNK)))

        for _ in range(ahead):
            submit()
        sent = 0
        unacknowledged: list[asyncio.Future[object]] = []
        while made:
            chunk = await made.popleft()
            submit()
            acks = [await producer.send(topic, value=value, key=key) for key, value in chunk]
            # The previous chunk's acknowledgements, while this one's are in flight.
            sent += len(await asyncio.gather(*unacknowledged))
            unacknowledged = acks
        sent += len(await asyncio.gather(*unacknowledged))
    return sent
