"""Publishing source events from files (gateways, samples, replays) onto their topics."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from sync.producers.kafka import Outgoing, send_all
from sync.settings import Settings
from sync.sources import topic_key_for

__all__ = ["outgoing_for", "publish_events", "read_events"]


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """CloudEvents from a JSON Lines file (one event a line; blank lines ignored)."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path.name}:{number}: not JSON ({error.msg})") from None


def outgoing_for(event: dict[str, Any], settings: Settings, topic: str | None = None) -> Outgoing:
    """The Kafka message for a source event: on its source topic, keyed by its subject."""
    if topic is None:
        key = topic_key_for(str(event.get("type", "")))
        if key is None:
            raise ValueError(f"no source topic for event type {event.get('type')!r}")
        topic = settings.topics.name(key)
    subject = str(event.get("subject") or event.get("id") or "")
    return (topic, subject.encode(), json.dumps(event, ensure_ascii=False).encode(), [])


async def publish_events(
    producer: AIOKafkaProducer, events: Iterable[dict[str, Any]], settings: Settings,
    topic: str | None = None, chunk: int = 1000,
) -> int:
    """Publish every event, waiting for the broker's acknowledgement; returns the count."""
    count, pending = 0, []
    for event in events:
        pending.append(outgoing_for(event, settings, topic))
        if len(pending) >= chunk:
            await send_all(producer, pending)
            count, pending = count + len(pending), []
    await send_all(producer, pending)
    return count + len(pending)


async def publish_with_own_producer(
    settings: Settings, events: Iterable[dict[str, Any]], topic: str | None = None,
) -> int:
    """Open a producer, publish ``events`` (acknowledged by the broker), close it: for CLI
    commands that publish a few events, such as an editor's decision."""
    from sync.producers.kafka import start_producer

    producer = await start_producer(settings)
    try:
        return await publish_events(producer, events, settings, topic)
    finally:
        await producer.stop()
