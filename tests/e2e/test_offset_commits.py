"""Offsets on a real broker: the batches a subscriber finishes within the commit interval are
committed together, and a service that stops commits what is pending before it goes."""

from __future__ import annotations

import pytest

from sync.ops.lag import group_lag
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_service

pytestmark = pytest.mark.slow


async def map_lag(settings: Settings) -> int:
    topic = settings.topics.name("cobrha_professional")
    rows = await group_lag(settings, f"{settings.consumer_group}.map", [topic])
    return sum(row.lag for row in rows)


async def test_batches_within_the_interval_are_committed_together_and_at_stop(
    settings: Settings,
) -> None:
    """With an interval longer than the test, the first batch's offsets are committed at once
    and the later batches' wait, although each was applied and relayed; stopping commits them."""
    config = settings.model_copy(update={"offset_commit_interval_ms": 600_000})
    later = 4
    async with running_service(config), TopicReader(
            config, config.topics.name("fiche_event")) as events:
        await publish(config, [professional(nihii("3"))])
        await events.until(lambda seen: len(seen) >= 1, what="the first fiche event")
        for number in range(2, later + 2):  # one batch each: each waits for the one before
            await publish(config, [professional(nihii("3"))])
            await events.until(lambda seen, n=number: len(seen) >= n,
                               what=f"fiche event {number}")
        assert await map_lag(config) == later  # applied and published, not yet committed
    assert await map_lag(config) == 0  # committed when the service stopped
