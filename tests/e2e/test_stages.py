"""The stages in separate processes on real Kafka and PostgreSQL: one process maps (and
publishes on ``sk.fiche.update``), another applies and relays, and the flow is the same as in
one process (which maps and applies in one hop)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sync.app import Service
from sync.consumers.apply import is_audit_copy
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_split

pytestmark = pytest.mark.slow

PEOPLE = 30


def groups(service: Service) -> set[str]:
    broker = service._broker
    assert broker is not None
    return {str(getattr(subscriber, "group_id", "")) for subscriber in broker.subscribers}


@pytest.fixture
async def split_service(settings: Settings) -> AsyncIterator[tuple[Service, Service]]:
    """A mapping process and an applying-and-relaying one, sharing groups, topics and DB."""
    async with running_split(settings) as services:
        yield services


async def test_a_mapping_process_and_an_applying_one_make_every_fiche_event_once(
    split_service: tuple[Service, Service], settings: Settings,
) -> None:
    """Each process joins only its own stage's group; every event becomes its fiche event,
    once, relayed by the process that applies."""
    mapper, applier = split_service
    group = settings.consumer_group
    assert groups(mapper) == {f"{group}.map"}
    assert groups(applier) == {f"{group}.apply"}
    assert [t.get_name() for t in mapper._tasks if t.get_name() == "relay"] == []
    assert [t.get_name() for t in applier._tasks if t.get_name() == "relay"] == ["relay"]
    people = [nihii("1") for _ in range(PEOPLE)]
    await publish(settings, [professional(p) for p in people])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda seen: len({e["subject"] for e in seen}) >= PEOPLE,
                           timeout=90, what=f"{PEOPLE} fiche events")
        seen = await events.settle(quiet=1.5)
    assert len({e["id"] for e in seen}) == PEOPLE
    assert {e["data"]["version"] for e in seen} == {1}
    # Two hops: each canonical update went through sk.fiche.update, not as an audit copy.
    async with TopicReader(settings, settings.topics.name("fiche_update")) as updates:
        await updates.settle(quiet=1.0)
    assert len(updates.records) == PEOPLE
    assert not any(is_audit_copy(record) for record in updates.records)


async def test_an_unknown_stage_is_refused_in_one_line(settings: Settings) -> None:
    """``sksync run --stages`` with a name that is not a stage: exit 1, one line, no start."""
    done = await sksync(settings, "run", "--stages", "map,sink")
    assert done.exit_code == 1
    assert "stages are map, apply, relay" in done.output
    assert len(done.output.strip().splitlines()) == 1
