"""Kafka's default partitioner (murmur2 of the key, as the Java client computes it)."""

from __future__ import annotations

from aiokafka.partitioner import murmur2

__all__ = ["partition_of"]


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
