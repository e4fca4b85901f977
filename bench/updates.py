"""The update phase: a new version of each of the first loaded professionals (each changes
phone and address, so each makes a fiche event), published at once, applied to the end.
What it wrote per updated fiche is read around it (:mod:`bench.writes`)."""

from __future__ import annotations

from bench.events import EventFactory
from bench.kafka_io import bulk_producer, consumer, publish_events, topic_size, wait_for_size
from sync.settings import Settings

__all__ = ["update_phase"]


async def update_phase(
    settings: Settings, factory: EventFactory, count: int, timeout: float,
) -> dict[int, int]:
    """Publish version 2 of professionals ``0 .. count - 1`` and wait (bounded) until each
    made its fiche event; the versions now current, for the steady state to go on from."""
    topic = settings.topics.name("fiche_event")
    async with consumer(settings) as probe:
        expected = await topic_size(probe, topic) + count
        async with bulk_producer(settings) as producer:
            await publish_events(producer, settings.topics.name("cobrha_professional"),
                                 (factory.professional(i, version=2) for i in range(count)))
        if not await wait_for_size(probe, topic, expected, timeout):
            raise RuntimeError(f"the update phase did not complete in {timeout:.0f} s: "
                               f"{await topic_size(probe, topic)} of {expected} fiche events")
    return dict.fromkeys(range(count), 2)
