"""The service in the test's own process, and the one fiche event a source event becomes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sync.app import Service
from sync.settings import Settings
from tests.support.kafka import TopicReader, publish

__all__ = ["fiche_event_of", "running_service", "running_split", "with_few_attempts"]

#: How long a start may take before the test gives up on it.
START_WITHIN_S = 90


@asynccontextmanager
async def running_service(config: Settings) -> AsyncIterator[Service]:
    """The service on ``config`` (no HTTP server), stopped however the block ends."""
    service = Service(config, serve_http=False)
    try:
        await asyncio.wait_for(service.start(), START_WITHIN_S)
        yield service
    finally:
        await service.stop()


@asynccontextmanager
async def running_split(config: Settings) -> AsyncIterator[tuple[Service, Service]]:
    """The stages in two processes' worth of services on ``config``: one maps (and publishes
    on ``sk.fiche.update``), the other applies and relays; both stopped however it ends."""
    mapper = Service(config.model_copy(update={"stages": "map"}), serve_http=False)
    applier = Service(config.model_copy(update={"stages": "apply,relay"}), serve_http=False)
    try:
        await asyncio.wait_for(mapper.start(), START_WITHIN_S)
        await asyncio.wait_for(applier.start(), START_WITHIN_S)
        yield mapper, applier
    finally:
        await mapper.stop()
        await applier.stop()


async def fiche_event_of(settings: Settings, source_event: dict[str, Any]) -> dict[str, Any]:
    """Publish ``source_event`` and wait for the fiche event the running service makes of it
    (the first on the fiche-event topic)."""
    await publish(settings, [source_event])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        [event] = await events.until(lambda v: len(v) >= 1, what="the fiche event")
    return event


def with_few_attempts(settings: Settings, attempts: int) -> Settings:
    """``settings`` with ``attempts`` tries at a failure that repeats identically, and short
    waits between tries."""
    return settings.model_copy(update={"retry_max_attempts_deterministic": attempts,
                                       "retry_max_backoff_s": 0.5})
