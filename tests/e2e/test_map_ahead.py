"""While a batch's transactions run, the records read meanwhile (the next batch) are mapped
ahead, on real Kafka and PostgreSQL: their mapping is then used, not done twice, and what
cannot be mapped is still dead-lettered with its reason, by its own batch."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

import sync.sources
from sync.app import Service
from sync.consumers import source as source_module
from sync.consumers.source import SourceStage
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish, publish_raw
from tests.support.service import running_service

pytestmark = pytest.mark.slow

PEOPLE = 600


async def test_the_next_batch_is_mapped_ahead_once_and_its_refusals_still_dead_lettered(
    settings: Settings, pg_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small batches from small fetches, each applied per partition: a batch's transactions
    # run while the consumer reads the next one.
    config = settings.model_copy(update={
        "apply_batch_size": 50, "apply_partition_fetch_bytes": 8 * 1024,
        "apply_one_transaction_below": 0})
    mappings = 0
    ahead = 0
    real_map, real_ahead = sync.sources.map_masked, SourceStage.map_ahead

    def counting_map(*args: Any) -> Any:
        nonlocal mappings
        mappings += 1
        return real_map(*args)

    def counting_ahead(self: SourceStage, records: Any) -> Any:
        nonlocal ahead
        ready = real_ahead(self, records)
        ahead += len(ready)
        return ready

    monkeypatch.setattr(source_module, "map_masked", counting_map)
    monkeypatch.setattr(SourceStage, "map_ahead", counting_ahead)

    await Service(config).ensure_topics()
    people = [professional(nihii("3"), last=f"Ahead{i}") for i in range(PEOPLE)]
    await publish(config, people[:PEOPLE // 2])
    await publish_raw(config, "cobrha_professional", [b"{not json"])
    await publish(config, [professional(code="ASTROLOGER", last="Refused")])
    await publish(config, people[PEOPLE // 2:])
    dlq = config.topics.dlq(config.topics.name("cobrha_professional"))
    async with running_service(config), TopicReader(config, dlq) as letters, TopicReader(
            config, config.topics.name("fiche_event")) as events:
        await events.until(lambda seen: len(seen) >= PEOPLE, timeout=120,
                           what=f"{PEOPLE} fiche events")
        await letters.until(lambda _: len(letters.records) >= 2, timeout=30,
                            what="two dead letters")
        await events.settle(quiet=1.0)

    assert len(events.records) == PEOPLE
    names = {row["last"] for row in await pg_conn.fetch(
        "SELECT visible ->> 'name.last' AS last FROM fiche")}
    assert names == {f"Ahead{i}" for i in range(PEOPLE)}
    reasons = sorted(dict(letter.headers)["sksync-reason"].decode()
                     for letter in letters.records)
    assert reasons == ["undecodable", "unknown-profession"], reasons
    # Mapped ahead, then used: every event that maps was mapped once, plus the mappings
    # made ahead that went unused (a batch that was not the one read ahead; the astrologer,
    # mapped and refused ahead, is mapped again in its batch: one more).
    used = PEOPLE + 1 + ahead - mappings
    assert ahead >= 10, f"only {ahead} of {PEOPLE} records were mapped ahead"
    assert used >= ahead * 3 // 4, f"{used} of {ahead} mapped-ahead results used"
