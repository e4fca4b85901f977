"""One hop with ``SKSYNC_APPLY_OVERLAP`` (the default), on real Kafka and PostgreSQL: the next
batch is mapped and applied while the one before it writes and commits, and still every
version of every record is applied in order, each fiche's versions reach ``sk.fiche.event``
once each and in order, nothing is dead-lettered, and every offset is committed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

import asyncpg
import pytest

from sync.app import Service
from sync.observability import metrics
from sync.ops.lag import group_lag
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_service

pytestmark = pytest.mark.slow

VERSIONS = 10
#: Between two sends: shorter than a batch takes, so that records arrive while one is applied.
GAP_S = 0.004


def overlapped() -> float:
    return metrics.BATCHES_OVERLAPPED.labels("map-batch")._value.get()


async def _applied_in_order(settings: Settings, conn: asyncpg.Connection,
                            sends: Iterable[list[tuple[str, int]]], people: int) -> float:
    """Publish each send's (NIHII number, version) professionals at once, a few milliseconds
    apart, and check that every fiche got every version, in order, once; the batches that
    started beside the one before them are returned."""
    assert settings.apply_overlap, "the default overlaps"
    await Service(settings).ensure_topics()
    before = overlapped()
    async with running_service(settings), TopicReader(
            settings, settings.topics.name("fiche_event")) as events:
        for send in sends:
            await publish(settings, [professional(number, version=version, last=f"V{version}")
                                     for number, version in send])
            await asyncio.sleep(GAP_S)
        await events.until(lambda seen: len(seen) >= people * VERSIONS, timeout=120,
                           what=f"{people * VERSIONS} fiche events")
        seen = await events.settle(quiet=1.0)
    by_fiche: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in seen:  # a fiche's events share a key, hence a partition: in order
        data = event["data"]
        by_fiche[data["ficheId"]].append((data["version"], data["snapshot"]["name.last"]))
    assert len(by_fiche) == people
    for versions in by_fiche.values():  # no version skipped as stale, none twice
        assert versions == [(v, f"V{v}") for v in range(1, VERSIONS + 1)]
    names = await conn.fetch("SELECT visible ->> 'name.last' AS last FROM fiche")
    assert {row["last"] for row in names} == {f"V{VERSIONS}"}
    lag = await group_lag(settings, f"{settings.consumer_group}.map", settings.topics.sources())
    assert [row for row in lag if row.lag] == [], "every offset committed once stopped"
    return overlapped() - before


async def test_batches_of_other_records_start_beside_the_one_before_them(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """One professional's next version at a time, each of six in turn: a batch mostly holds
    other records than the one before it, and starts once that one holds its locks."""
    numbers = [nihii("3") for _ in range(6)]
    sends = [[(number, version)] for version in range(1, VERSIONS + 1) for number in numbers]
    assert await _applied_in_order(settings, pg_conn, sends, len(numbers)) > 0, (
        "no batch started while the one before it was applied")


async def test_a_records_next_version_waits_for_the_batch_that_holds_the_one_before(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Each send is the next version of the same four professionals: consecutive batches hold
    the same records. Started beside the batch creating their fiches, the second versions
    found no fiche row to wait for, failed on its key when that batch committed, and were
    applied after the third versions that had started meanwhile (skipped as stale)."""
    numbers = [nihii("3") for _ in range(4)]
    sends = [[(number, version) for number in numbers] for version in range(1, VERSIONS + 1)]
    await _applied_in_order(settings, pg_conn, sends, len(numbers))
