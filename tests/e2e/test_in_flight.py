"""One batch in flight while the next is fetched and mapped, on real Kafka and PostgreSQL: a
failure or a stop in the middle of that window loses nothing, commits no offset past a record
whose transaction did not commit, and the records are delivered again in order."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from sync import app
from sync.consumers.apply import ApplyStage
from sync.consumers.map_apply import MapApplyStage
from sync.producers.kafka import client_options
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.downstream import check_order, one_id_per_version
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_service

pytestmark = pytest.mark.slow

BATCH = 10


def small_batches(settings: Settings) -> Settings:
    """Batches of ten records, so that a load of a few dozen makes several batches."""
    return settings.model_copy(update={"apply_batch_size": BATCH, "retry_max_backoff_s": 0.5})


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.05)


class Begun:
    """The batches :class:`MapApplyStage` began, in order, to know which one a transaction
    belongs to and whether a later one is in flight."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch,
                 before: Callable[[int], None] = lambda number: None) -> None:
        """``before(number)`` is called as batch ``number`` is begun, before its
        transactions start."""
        self.batches: list[set[tuple[int, int]]] = []
        begin = MapApplyStage.begin

        async def counted(stage: MapApplyStage, records: Any, *rest: Any) -> Any:
            self.batches.append({(record.partition, record.offset) for record in records})
            before(len(self.batches))
            return await begin(stage, records, *rest)

        monkeypatch.setattr(MapApplyStage, "begin", counted)

    def number(self, pairs: Any) -> int:
        """Which batch (1, 2, ...) the transaction of ``pairs`` belongs to."""
        record = pairs[0][0]
        return next(number for number in range(len(self.batches), 0, -1)
                    if (record.partition, record.offset) in self.batches[number - 1])

    def partitions(self, number: int) -> set[int]:
        return {partition for partition, _ in self.batches[number - 1]}

    async def after(self, number: int) -> None:
        """Wait until the batch after batch ``number`` is begun."""
        await until(lambda: len(self.batches) > number, f"batch {number + 1} to be begun")


async def applied_numbers(settings: Settings) -> set[str]:
    """The NIHII person numbers that have a fiche."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT value FROM fiche_identifier WHERE type = 'NIHII-PERSON'")
    finally:
        await conn.close()
    return {row["value"] for row in rows}


async def committed_numbers(settings: Settings) -> set[str]:
    """The NIHII person numbers of the source records below the map group's committed
    offsets: the records the group will not read again."""
    topic = settings.topics.name("cobrha_professional")
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{settings.consumer_group}.map")
    finally:
        await admin.close()
    below = {tp.partition: meta.offset for tp, meta in offsets.items()
             if tp.topic == topic and meta.offset >= 0}
    async with TopicReader(settings, topic) as source:
        await source.settle(quiet=1.0)
    return {json.loads(record.value)["subject"] for record in source.records
            if record.offset < below.get(record.partition, 0)}


async def fiche_events(settings: Settings, expected: int) -> tuple[list[dict[str, Any]], Any]:
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda v: len({e["id"] for e in v}) >= expected, timeout=90,
                           what=f"{expected} fiche events")
        return await events.settle(quiet=1.5), events.records


def versions_per_fiche(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each fiche's versions among ``events``, a re-sent event counted once."""
    per_fiche: dict[str, list[int]] = {}
    for event in {event["id"]: event for event in events}.values():
        per_fiche.setdefault(event["subject"], []).append(event["data"]["version"])
    return {fiche: sorted(versions) for fiche, versions in per_fiche.items()}


async def test_transactions_that_fail_with_the_next_batch_in_flight_are_applied_again_in_order(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's transactions fail once, after the next batch was begun, and that next
    batch's fail too: neither batch is committed; both are read again (the next one's
    partitions included, wherever its records were) and every fiche gets both of its
    versions, each once and in order."""
    settings = small_batches(settings)
    failing: set[int] = set()

    def doom(number: int) -> None:
        """Batch ``number`` - 1 (the third or later) fails with it when it reads a partition
        that one did not: the rewind must cover the later batch's own partitions too."""
        if not failing and number > 3 and begun.partitions(number) - begun.partitions(number - 1):
            failing.update({number - 1, number})

    begun = Begun(monkeypatch, doom)
    apply = ApplyStage.apply

    async def failing_once(stage: ApplyStage, pairs: Any) -> Any:
        number = begun.number(pairs) if pairs else 0
        if not failing and number >= 3:
            await begun.after(number)
        if number in failing:
            raise ConnectionResetError("the database went away mid-batch")
        return await apply(stage, pairs)

    monkeypatch.setattr(ApplyStage, "apply", failing_once)
    people = [nihii("5") for _ in range(40)]
    await publish(settings, [professional(p, version=1) for p in people])
    await publish(settings, [professional(p, version=2, phone="+3255999999") for p in people])
    async with running_service(settings):
        seen, records = await fiche_events(settings, 2 * len(people))
    assert failing, "transactions failed while the next batch was in flight"
    assert list(versions_per_fiche(seen).values()) == [[1, 2]] * len(people)
    assert one_id_per_version(seen) == []
    check_order(records)
    assert await applied_numbers(settings) == {p[:8] for p in people}


async def test_a_stop_with_a_batch_in_flight_commits_nothing_past_it_and_loses_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transaction hangs while the next batch is fetched and begun. Every record below the
    committed offsets has its fiche; the stop abandons the hung batch uncommitted; a new
    instance then applies every record, each fiche once."""
    settings = small_batches(settings)
    monkeypatch.setattr(app, "IN_FLIGHT_DRAIN_S", 1.0)
    begun = Begun(monkeypatch)
    apply = ApplyStage.apply
    hung: list[int] = []

    async def hanging(stage: ApplyStage, pairs: Any) -> Any:
        if not hung and pairs and (number := begun.number(pairs)) >= 3:
            hung.append(number)
            await asyncio.Event().wait()  # until the stop cancels it
        return await apply(stage, pairs)

    monkeypatch.setattr(ApplyStage, "apply", hanging)
    people = [nihii("6") for _ in range(60)]
    await publish(settings, [professional(p) for p in people])
    async with running_service(settings):
        await until(lambda: bool(hung), "a transaction to hang")
        await begun.after(hung[0])
        await asyncio.sleep(1.0)  # what would be committed meanwhile, is
        committed = await committed_numbers(settings)
        applied = await applied_numbers(settings)
    assert committed, "the batches before the hung one were committed"
    assert committed <= applied, "an offset was committed past a record not applied"
    assert await committed_numbers(settings) == committed, "the stop committed in-flight work"
    assert len(applied) < len(people)
    monkeypatch.setattr(ApplyStage, "apply", apply)
    async with running_service(settings):
        seen, records = await fiche_events(settings, len(people))
    assert list(versions_per_fiche(seen).values()) == [[1]] * len(people)
    check_order(records)
    assert await applied_numbers(settings) == {p[:8] for p in people}

