"""The service's topics, created at start-up when missing, with the partitions, replicas and
``min.insync.replicas`` of the settings.

Kafka answers a CreateTopics request per topic: "already exists" is what a second instance
gets and is fine; an error Kafka calls retriable, or too few brokers for the replicas asked
(a broker restarting), is waited out; anything else (not authorised, a policy refusing the
topic) refuses the start with one line.

Topics just created are waited for until every partition's leader answers: a consumer that
subscribes sooner is told the topic does not exist, or that the broker leads no such
partition, which aiokafka logs as errors before it tries again (a first start's log would
open with them).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidReplicationFactorError,
    KafkaError,
    TopicAlreadyExistsError,
    for_code,
)

from sync.errors import TransientError
from sync.ops.lag import offsets
from sync.producers.kafka import client_options
from sync.settings import Settings
from sync.startup import StartRefused

__all__ = ["ensure_topics", "replication", "topic_names"]

log = structlog.get_logger(__name__)


def topic_names(settings: Settings) -> list[str]:
    """Every topic the service reads or writes, dead-letter topics included."""
    topics = settings.topics
    names = [*topics.sources(), topics.name("fiche_update"), topics.name("fiche_event"),
             topics.name("notification")]
    return names + [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]


def replication(settings: Settings, brokers: int) -> tuple[int, int]:
    """Replicas and ``min.insync.replicas`` for new topics on a cluster of ``brokers``. The
    local environment caps both at what its cluster has (one broker, or three); production
    asks for what the settings say, and Kafka refuses what the cluster cannot hold."""
    factor, in_sync = settings.topic_replication_factor, settings.topic_min_insync_replicas
    if settings.environment == "local":
        factor = max(1, min(factor, brokers))
        in_sync = min(in_sync, factor)
    return factor, in_sync


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the topics that do not exist yet; the names of those created."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        if not missing:
            return []
        cluster: dict[str, Any] = await admin.describe_cluster()
        factor, in_sync = replication(settings, len(cluster.get("brokers") or []))
        response = await admin.create_topics([
            NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=factor,
                     topic_configs={"min.insync.replicas": str(in_sync)})
            for name in missing])
        _raise_refusals(response.topic_errors)
        await _until_led(settings, admin, missing)
    finally:
        await admin.close()
    return missing


async def _until_led(settings: Settings, admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Wait (within ``SKSYNC_KAFKA_START_TIMEOUT_S``) until the broker's metadata names a
    leader for every partition of ``topics`` and each leader answers for its partition; past
    that, go on (the subscribers' own retries cope, only noisier)."""
    deadline = time.monotonic() + settings.kafka_start_timeout_s
    while True:
        described = await admin.describe_topics(topics)
        if described and all(item.get("error_code", 0) == 0 and item.get("partitions")
                             and all(part["leader"] >= 0 for part in item["partitions"])
                             for item in described):
            break
        if time.monotonic() > deadline:
            log.warning("new topics not led yet; starting anyway", topics=topics)
            return
        await asyncio.sleep(0.1)
    # ListOffsets goes to each partition's leader and is retried quietly until it answers.
    try:
        await asyncio.wait_for(offsets(settings, topics),
                               max(1.0, deadline - time.monotonic()))
    except (KafkaError, TimeoutError) as error:
        log.warning("new topics not answered for yet; starting anyway", topics=topics,
                    error=f"{type(error).__name__}: {error}")


def _raise_refusals(topic_errors: list[tuple[Any, ...]]) -> None:
    for topic, code, *message in topic_errors:
        error = for_code(code)
        if code == 0 or error is TopicAlreadyExistsError:
            continue
        why = f"cannot create topic {topic}: {error.__name__}" + (
            f" ({message[0]})" if message and message[0] else "")
        if error.retriable or error is InvalidReplicationFactorError:
            raise TransientError(why)
        raise StartRefused(f"refusing to start: {why}")
