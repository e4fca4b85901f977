"""A small batch is applied in one transaction whatever partitions it spans; a large one in a
transaction per partition (``SKSYNC_APPLY_ONE_TRANSACTION_BELOW``), on real Kafka and
PostgreSQL, in one hop and with the stages apart.

Every row a transaction writes to ``fiche_history`` has the transaction's start as its
``recorded_at``, so the rows of one transaction share it: a transaction holding the fiches of
records from several partitions is seen as one ``recorded_at`` over those partitions."""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
import pytest

from sync.app import Service
from sync.cloudevents import masked
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_service, running_split

pytestmark = pytest.mark.slow

PEOPLE = 12


async def _partitions_per_transaction(settings: Settings, conn: asyncpg.Connection,
                                      run: Any) -> list[set[int]]:
    """Publish PEOPLE professionals at once (topics made first, so the records are there
    together when the service starts), run the service until each has its fiche event, and
    give, per apply transaction, the partitions of the records it applied."""
    await Service(settings).ensure_topics()
    events = [professional(nihii("1")) for _ in range(PEOPLE)]
    await publish(settings, events)
    async with TopicReader(settings, settings.topics.name("cobrha_professional")) as source:
        await source.until(lambda seen: len(seen) >= PEOPLE, timeout=30, what="the events")
    secret = settings.ssin_secret.get_secret_value().encode()
    partition_of = {masked(json.loads(record.value or b"")["id"], secret): record.partition
                    for record in source.records}  # the history names causes by masked id
    assert len(set(partition_of.values())) >= 2, "the records should span several partitions"
    async with run(settings), TopicReader(
            settings, settings.topics.name("fiche_event")) as fiche_events:
        await fiche_events.until(lambda seen: len(seen) >= PEOPLE, timeout=90,
                                 what=f"{PEOPLE} fiche events")
    rows = await conn.fetch("SELECT recorded_at, cause_event_id FROM fiche_history")
    assert len(rows) == PEOPLE
    by_transaction: dict[Any, set[int]] = defaultdict(set)
    for row in rows:
        by_transaction[row["recorded_at"]].add(partition_of[row["cause_event_id"]])
    return list(by_transaction.values())


def _one_hop(settings: Settings) -> AbstractAsyncContextManager[Any]:
    return running_service(settings)


@pytest.mark.parametrize("run", [_one_hop, running_split], ids=["one-hop", "stages-apart"])
async def test_a_small_batch_over_several_partitions_is_one_transaction(
    settings: Settings, pg_conn: asyncpg.Connection, run: Any,
) -> None:
    config = settings.model_copy(update={"apply_one_transaction_below": 64})
    transactions = await _partitions_per_transaction(config, pg_conn, run)
    assert any(len(partitions) >= 2 for partitions in transactions), transactions


async def test_with_the_rule_off_each_partition_has_a_transaction_of_its_own(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    config = settings.model_copy(update={"apply_one_transaction_below": 0})
    transactions = await _partitions_per_transaction(config, pg_conn, _one_hop)
    assert all(len(partitions) == 1 for partitions in transactions), transactions
    assert len(transactions) >= 2


async def test_a_large_batch_splits_each_partition_by_key_over_transactions(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """With transactions of about 10 records, a partition's records in a batch are applied
    in several transactions; a person's second version, on the same key, still ends up
    applied after the first."""
    config = settings.model_copy(update={
        "apply_one_transaction_below": 0, "apply_records_per_transaction": 10,
        "apply_partition_fetch_bytes": 1024 * 1024})
    await Service(config).ensure_topics()
    numbers = [nihii("2") for _ in range(120)]
    await publish(config, [professional(number, last=f"First{i}")
                           for i, number in enumerate(numbers)])
    await publish(config, [professional(number, version=2, last=f"Second{i}")
                           for i, number in enumerate(numbers[:40])])
    async with running_service(config), TopicReader(
            config, config.topics.name("fiche_event")) as fiche_events:
        await fiche_events.until(lambda seen: len(seen) >= 160, timeout=90,
                                 what="160 fiche events")
    transactions = await pg_conn.fetchval(
        "SELECT count(DISTINCT recorded_at) FROM fiche_history")
    # At most a batch per partition per version without the split: 3 partitions, two
    # rounds of events; with it, about 12 transactions for the 120 first versions alone.
    assert transactions > 3 * 2, f"{transactions} transactions for 160 updates"
    names = {row["last"] for row in await pg_conn.fetch(
        "SELECT visible ->> 'name.last' AS last FROM fiche")}
    assert names == {f"Second{i}" for i in range(40)} | {f"First{i}" for i in range(40, 120)}
