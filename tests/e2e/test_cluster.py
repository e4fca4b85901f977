"""The service on a three-broker KRaft cluster (the local stack's ``--brokers 3``): topics get
three replicas, and a SIGKILL of the broker leading the updates topic loses nothing, doubles
nothing and keeps every fiche's versions in order. ``python -m chaos.run --kill-leader`` is the
long form of this."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack.cluster import LocalKafkaCluster
from sync.app import Service
from sync.producers.kafka import client_options
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PEOPLE = 60


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalKafkaCluster]:
    folder = Path(tempfile.mkdtemp(prefix="sksync-cluster-"))
    running = LocalKafkaCluster(folder / "kafka", size=3)
    try:
        running.start(timeout=240)
        yield running
    finally:
        running.kill()  # its data is thrown away: a controlled shutdown of three costs ~30 s
        shutil.rmtree(folder, ignore_errors=True)


async def replica_counts(settings: Settings, topic: str) -> set[int]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {len(partition["replicas"]) for partition in described["partitions"]}


def first_seen_versions(events: list[dict[str, object]]) -> dict[str, list[int]]:
    """Per fiche, the versions in the order their ids first appear (copies skipped)."""
    seen: set[object] = set()
    order: dict[str, list[int]] = {}
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        data = event["data"]
        assert isinstance(data, dict)
        order.setdefault(str(event["subject"]), []).append(int(data["version"]))
    return order


async def test_killing_the_partition_leader_loses_nothing_and_keeps_versions_in_order(
    cluster: LocalKafkaCluster, settings: Settings,
) -> None:
    """Versions 1 go in, the leader of the source topic's partition 0 (which the service reads,
    maps and applies in one hop) is SIGKILLed, versions 2 go in: every fiche ends with versions
    1 and 2, once each, in that order."""
    config = settings.model_copy(update={"kafka_bootstrap_servers": cluster.bootstrap})
    people = [nihii("6") for _ in range(PEOPLE)]
    service = Service(config, serve_http=False)
    await service.start()
    try:
        source = config.topics.name("cobrha_professional")
        assert await replica_counts(config, source) == {3}
        async with TopicReader(config, config.topics.name("fiche_event")) as events:
            await publish(config, [professional(p, version=1) for p in people])
            await events.until(lambda v: len(v) >= PEOPLE // 2, what="half the first versions")
            leader = await asyncio.to_thread(cluster.leader_of, source)
            await asyncio.to_thread(cluster.node(leader).kill)
            await publish(config, [professional(p, version=2, phone="+3250123456")
                                   for p in people])
            await events.until(lambda v: len({e["id"] for e in v}) >= 2 * PEOPLE, timeout=120,
                               what="two versions of every fiche after the leader's kill")
            seen = await events.settle(quiet=2.0)
    finally:
        await service.stop()
    order = first_seen_versions(seen)
    assert len(order) == PEOPLE
    assert all(versions == [1, 2] for versions in order.values()), order
    async with TopicReader(config, config.topics.dlq(source)) as dlq:
        await dlq.settle(quiet=1.0)
    assert dlq.records == []
