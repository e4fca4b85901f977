"""How a large batch is split over transactions (:func:`transaction_groups`): by partition, and
a partition's many records by key, a key's records together and in order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sync.consumers.apply import transaction_groups


def records(count: int, keys: int, partitions: int = 1) -> list[Any]:
    return [SimpleNamespace(topic="t", partition=n % partitions, offset=n,
                            key=f"k{n % keys}".encode()) for n in range(count)]


def test_a_partition_of_many_records_is_split_by_key_in_order() -> None:
    batch = records(500, keys=200)
    groups = transaction_groups(batch, 125)
    assert len(groups) == 4
    assert sorted(p for group in groups for p in group) == list(range(500))
    for group in groups:
        assert group == sorted(group)  # offset order within each transaction
        assert 60 <= len(group) <= 190  # about the size asked (keys hash unevenly)
    group_of_key = {}
    for number, group in enumerate(groups):
        for position in group:
            assert group_of_key.setdefault(batch[position].key, number) == number


def test_partitions_never_share_a_transaction_and_small_ones_stay_whole() -> None:
    batch = records(300, keys=300, partitions=3)
    groups = transaction_groups(batch, 125)
    assert len(groups) == 3
    for group in groups:
        assert len({batch[position].partition for position in group}) == 1


def test_size_zero_keeps_a_transaction_per_partition() -> None:
    batch = records(1000, keys=500, partitions=2)
    assert [len(group) for group in transaction_groups(batch, 0)] == [500, 500]


def test_records_without_a_key_stay_together() -> None:
    batch = [SimpleNamespace(topic="t", partition=0, offset=n, key=None) for n in range(300)]
    assert transaction_groups(batch, 100) == [list(range(300))]
