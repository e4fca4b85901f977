"""Scale-out on real Kafka and PostgreSQL: two instances in one consumer group share the work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sync.app import Service
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.downstream import check_order, one_id_per_version
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow

PEOPLE = 100
VERSIONS = 3


@pytest.fixture
async def two_instances(settings: Settings) -> AsyncIterator[list[Service]]:
    """Two services with the same settings: the same consumer groups, topics and database."""
    services = [Service(settings, serve_http=False) for _ in range(2)]
    try:
        for service in services:
            await service.start()
        yield services
    finally:
        for service in services:
            await service.stop()


def assigned(service: Service) -> dict[str, set[tuple[str, int]]]:
    """Per subscriber (group), the partitions this instance holds."""
    broker = service._broker
    assert broker is not None
    held: dict[str, set[tuple[str, int]]] = {}
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        parts = consumer.assignment() if consumer is not None else set()
        held[str(getattr(subscriber, "group_id", id(subscriber)))] = {
            (part.topic, part.partition) for part in parts}
    return held


def split(services: list[Service], role: str) -> tuple[set[tuple[str, int]], ...]:
    """The partitions of group ``<group>.<role>`` that each instance holds."""
    return tuple(
        set().union(*(parts for group, parts in assigned(service).items()
                      if group.endswith(f".{role}")))
        for service in services)


def shared(services: list[Service]) -> bool:
    """Both instances hold partitions of both groups, and none is held twice."""
    for role in ("map", "apply"):
        mine, theirs = split(services, role)
        if not mine or not theirs or mine & theirs:
            return False
    return True


async def until_shared(services: list[Service], timeout: float = 60) -> None:
    """Wait for the rebalance to settle: for a moment after the second instance joins, the
    first may still report partitions it is about to give up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if shared(services):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the instances did not share the partitions within {timeout} s:"
                         f" {[assigned(s) for s in services]}")


def versions_per_fiche(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    per_fiche: dict[str, list[int]] = {}
    for event in {event["id"]: event for event in events}.values():  # re-sends share an id
        per_fiche.setdefault(event["subject"], []).append(event["data"]["version"])
    return per_fiche


async def test_two_instances_in_one_group_share_the_partitions_and_apply_everything_once(
    two_instances: list[Service], settings: Settings,
) -> None:
    """Both instances hold partitions of both groups; 300 events (100 professionals, three
    versions each) make 100 fiches whose versions 1..3 each reach sk.fiche.event once."""
    await until_shared(two_instances)
    for role in ("map", "apply"):
        mine, theirs = split(two_instances, role)
        assert mine, (role, theirs)
        assert theirs, (role, mine)
        assert not mine & theirs, (role, mine, theirs)
    people = [nihii("1") for _ in range(PEOPLE)]
    for version in range(1, VERSIONS + 1):
        await publish(settings, [
            professional(p, version=version, phone=f"+32550{version:02d}{i:04d}")
            for i, p in enumerate(people)])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(
            lambda v: sum(map(len, versions_per_fiche(v).values())) >= PEOPLE * VERSIONS,
            timeout=120, what=f"{PEOPLE * VERSIONS} fiche versions")
        seen = await events.settle(quiet=2.0)
    per_fiche = versions_per_fiche(seen)
    assert len(per_fiche) == PEOPLE
    for fiche, versions in per_fiche.items():
        assert sorted(versions) == list(range(1, VERSIONS + 1)), (fiche, versions)
    assert one_id_per_version(seen) == [], "a version was emitted under two event ids"
    check_order(events.records)
