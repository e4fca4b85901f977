"""The shared producer recovers from a batch it gave up on (real Kafka)."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from devstack import free_port
from sync.app import Service
from sync.errors import TransientError
from sync.producers.kafka import SharedProducer, client_options, new_producer, send_all
from sync.settings import Settings

pytestmark = pytest.mark.slow

#: A topic that refuses any record batch over 2 kB (the broker answers MESSAGE_TOO_LARGE).
SMALL_TOPIC_BYTES = 2000


async def make_small_topic(settings: Settings) -> str:
    name = f"{settings.topics.prefix}small.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(
            name, num_partitions=1, replication_factor=1,
            topic_configs={"max.message.bytes": str(SMALL_TOPIC_BYTES)})])
    finally:
        await admin.close()
    return name


async def test_a_batch_the_broker_refused_does_not_wedge_its_partition(
    settings: Settings,
) -> None:
    """The refused batch used sequence numbers the broker never saw; without a new producer
    every later batch to that partition fails with OUT_OF_ORDER_SEQUENCE_NUMBER."""
    topic = await make_small_topic(settings)
    producer = SharedProducer(lambda: new_producer(settings),
                              start_timeout_s=settings.kafka_start_timeout_s)
    await producer.start()
    replaced = {"error": "MessageSizeTooLargeError"}
    before = REGISTRY.get_sample_value("sksync_producer_replaced_total", replaced) or 0.0
    try:
        await send_all(producer, [(topic, b"k", b"first", [])])  # the broker knows our producer
        with pytest.raises(TransientError):
            await send_all(producer, [(topic, b"k", b"x" * 5000, [])])
        assert producer.replaced == 1
        assert REGISTRY.get_sample_value("sksync_producer_replaced_total", replaced) == before + 1
        await send_all(producer, [(topic, b"k", b"small", [])])
        await send_all(producer, [(topic, b"k", b"small again", [])])
        assert producer.problem() is None
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def test_a_producer_that_cannot_be_replaced_is_reported_until_one_starts(
    settings: Settings,
) -> None:
    """While no new producer starts (the broker away), readiness names the problem and the
    gauge says 0; the next send that finds the broker again starts one."""
    topic = await make_small_topic(settings)
    reachable = [True]

    def factory() -> AIOKafkaProducer:
        if reachable[0]:
            return new_producer(settings)
        return new_producer(settings.model_copy(
            update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"}))

    producer = SharedProducer(factory, start_timeout_s=settings.kafka_start_timeout_s)
    await producer.start()
    try:
        await send_all(producer, [(topic, b"k", b"first", [])])
        reachable[0] = False
        with pytest.raises(TransientError):
            await send_all(producer, [(topic, b"k", b"x" * 5000, [])])
        assert producer.problem() is not None
        assert "producer" in (producer.problem() or "")
        assert REGISTRY.get_sample_value("sksync_producer_up") == 0
        with pytest.raises(TransientError):
            await send_all(producer, [(topic, b"k", b"small", [])])
        reachable[0] = True
        await send_all(producer, [(topic, b"k", b"small", [])])
        assert producer.problem() is None
        assert REGISTRY.get_sample_value("sksync_producer_up") == 1
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def test_readiness_has_a_producer_check(service: Service) -> None:
    """/readyz lists the shared producer next to the broker and the database."""
    checks = await service.readiness()
    assert checks["producer"] is None
