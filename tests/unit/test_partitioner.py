"""The producer's partitioner puts every key where aiokafka's (and so the Java client) does."""

from __future__ import annotations

import asyncio
import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.producers.kafka import new_producer
from sync.producers.partitioner import KafkaPartitioner, murmur2
from sync.settings import Settings


def test_murmur2_matches_aiokafka_on_many_keys() -> None:
    rng = random.Random(13)
    keys = [rng.randbytes(rng.randrange(0, 80)) for _ in range(20000)]
    keys += [str(rng.getrandbits(128)).encode() for _ in range(2000)]
    keys += [f"NIHII-PERSON:{rng.randrange(10**8):08d}".encode() for _ in range(2000)]
    mismatched = [key for key in keys if murmur2(key) != reference(key)]
    assert mismatched == []



def test_known_partitions_of_the_java_client() -> None:
    """Partitions among 1000 that the Java client gives (kafka-python's compatibility test)."""
    partitions = list(range(1000))
    keys = (b"", b"a", b"ab", b"abc", b"123456789", b"\x00 ")
    assert [KafkaPartitioner()(key, partitions, partitions) for key in keys] == \
        [681, 524, 434, 107, 566, 742]


@settings(max_examples=3000)
@given(st.binary(max_size=300), st.integers(1, 200))
def test_partition_matches_aiokafka(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert KafkaPartitioner()(key, partitions, partitions) == \
        DefaultPartitioner()(key, partitions, partitions)


def test_unkeyed_messages_go_to_an_available_partition() -> None:
    chosen = {KafkaPartitioner()(None, [0, 1, 2, 3], [2, 3]) for _ in range(200)}
    assert chosen == {2, 3}
    assert KafkaPartitioner()(None, [0, 1], []) in {0, 1}


def test_the_service_producer_uses_it() -> None:
    async def partitioner() -> object:
        return new_producer(Settings())._partitioner  # built, never started: no broker

    assert isinstance(asyncio.run(partitioner()), KafkaPartitioner)
