"""Kafka's default partitioner, as aiokafka's (``murmur2`` of the key, as the Java client
computes it), in fewer Python operations: aiokafka's pure-Python murmur2 reads the key byte
by byte and masks after every step, which showed in the profile of the relay's producer.

The partition of a key must never change (one fiche's messages stay in order on one
partition, and other clients of the same topics place keys the Java way):
``tests/unit/test_partitioner.py`` compares this one with aiokafka's on many keys.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

__all__ = ["KafkaPartitioner", "murmur2", "partition_of"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` (32 bits, unsigned), as ``org.apache.kafka.common.utils.Utils``
    computes it: little-endian words, seed 0x9747b28c."""
    length = len(data)
    h = _SEED ^ length
    words = length >> 2
    # Each step is masked once: Python's ints do not wrap, the Java ones do.
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition (an index among ``partitions``) of ``key``, as Kafka's default partitioner."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KafkaPartitioner:
    """aiokafka's ``DefaultPartitioner`` with the faster :func:`murmur2`: a key goes where the
    Java client puts it; a message without a key goes to any available partition."""

    def __call__(self, key: bytes | None, all_partitions: Sequence[int],
                 available: Sequence[int]) -> int:
        if key is None:
            return random.choice(available or all_partitions)  # spread, not secret
        return all_partitions[partition_of(key, len(all_partitions))]
