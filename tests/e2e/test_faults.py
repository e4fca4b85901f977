"""Crashes and outages on real Kafka and PostgreSQL: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from devstack.proxy import FreezingProxy
from sync.app import Service
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.downstream import check_order, one_id_per_version
from tests.support.infra import Infrastructure
from tests.support.kafka import TopicReader, publish
from tests.support.process import ServiceProcesses
from tests.support.service import running_service, with_few_attempts

pytestmark = pytest.mark.slow


def check_versions(events: list[dict[str, Any]]) -> dict[str, int]:
    """After de-duplicating by event id, each fiche's versions run 1..n exactly once."""
    unique = {event["id"]: event for event in events}
    per_fiche: dict[str, list[int]] = {}
    for event in unique.values():
        per_fiche.setdefault(event["subject"], []).append(event["data"]["version"])
    for fiche, versions in per_fiche.items():
        assert sorted(versions) == list(range(1, len(versions) + 1)), (fiche, versions)
    return {fiche: len(versions) for fiche, versions in per_fiche.items()}


async def dead_letters(settings: Settings) -> list[Any]:
    """Every dead letter of the source events and of the canonical updates."""
    topics = settings.topics
    found = []
    for dlq in [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]:
        async with TopicReader(settings, dlq) as letters:
            await letters.settle(quiet=0.5)
        found += letters.records
    return found


async def database_counts(settings: Settings) -> dict[str, int]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM fiche) AS fiches,"
            " (SELECT coalesce(sum(updates), 0) FROM apply_count) AS applied,"
            " (SELECT count(*) FROM fiche_history) AS versions,"
            " (SELECT count(*) FROM outbox) AS unsent")  # a published row is deleted
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


async def test_sigkill_between_the_database_commit_and_the_offset_commit_doubles_nothing(
    settings: Settings, sksync_process: ServiceProcesses,
) -> None:
    """The killed batch is redelivered after restart; the versions its records left on the
    fiches turn it into duplicates (not counted as applied again)."""
    people = [nihii("1") for _ in range(60)]
    await publish(settings, [professional(p, version=1) for p in people])
    first = sksync_process.start(SKSYNC_FAULT_KILL_AFTER_APPLY_BATCHES="1",
                                 SKSYNC_APPLY_BATCH_SIZE="20")
    assert await asyncio.to_thread(sksync_process.wait_exit, first, 60) == -9
    committed = await database_counts(settings)
    assert committed["applied"] > 0, "the first batch was committed before the kill"
    sksync_process.start()
    await publish(settings, [professional(p, version=2, phone="+3255999999") for p in people])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda v: len({e["id"] for e in v}) >= 120, timeout=90,
                           what="two versions of 60 fiches")
        seen = await events.settle(quiet=2.0)
    versions = check_versions(seen)
    check_order(events.records)
    assert len(versions) == 60
    assert set(versions.values()) == {2}
    counts = await database_counts(settings)
    assert counts["fiches"] == 60
    assert counts["applied"] == 120
    assert counts["versions"] == 120


async def test_repeated_sigkills_at_random_moments_lose_nothing(
    settings: Settings, sksync_process: ServiceProcesses,
) -> None:
    """Kill the running service three times while it works; every fiche ends complete."""
    people = [nihii("4") for _ in range(150)]
    await publish(settings, [professional(p, version=1, code="NURSE") for p in people])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        for wait in (1.5, 2.0, 2.5):
            process = sksync_process.start(SKSYNC_APPLY_BATCH_SIZE="10")
            await asyncio.sleep(wait)
            sksync_process.kill(process)
        sksync_process.start()
        await events.until(lambda v: len({e["subject"] for e in v}) >= 150, timeout=120,
                           what="150 fiche events after three kills")
        seen = await events.settle(quiet=2.0)
    versions = check_versions(seen)
    assert len(versions) == 150
    assert set(versions.values()) == {1}
    assert one_id_per_version(seen) == [], "a re-send carried a new id"
    check_order(events.records)
    assert (await database_counts(settings))["unsent"] == 0


async def test_the_consumer_waits_while_the_database_is_down_then_catches_up(
    infra: Infrastructure, settings: Settings, service: Service,
) -> None:
    """A database restart mid-stream is transient: no dead letter, nothing lost."""
    if infra.local is None:
        pytest.skip("the database is external to the suite: it cannot be restarted here")
    postgres = infra.local.postgres  # type: ignore[attr-defined]
    people = [nihii("5") for _ in range(40)]
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [professional(p) for p in people[:20]])
        await events.until(lambda v: len(v) >= 20, what="the first 20 fiches")
        await asyncio.to_thread(postgres.stop)
        await publish(settings, [professional(p) for p in people[20:]])
        await asyncio.sleep(3)  # the outage itself: the consumer must wait, not dead-letter
        await asyncio.to_thread(postgres.start)
        await events.until(lambda v: len({e["subject"] for e in v}) >= 40, timeout=90,
                           what="all 40 fiches after the restart")
    check_versions(events.values())
    check_order(events.records)
    assert await dead_letters(settings) == []


async def test_database_connections_that_go_silent_are_given_up_and_the_work_done_on_new_ones(
    settings: Settings,
) -> None:
    """A failover, or a firewall that dropped the connections' state: the service's open
    connections get no answer and no error. Each statement is bounded
    (``SKSYNC_DATABASE_COMMAND_TIMEOUT_S``); the silent connections are dropped, and the
    batch, the relay and the gauges go on over new ones: nothing lost, nothing doubled."""
    people = [nihii("4") for _ in range(20)]
    async with FreezingProxy(settings.database_url) as proxy:
        config = settings.model_copy(update={"database_url": proxy.url,
                                              "database_command_timeout_s": 3.0})
        async with running_service(config), TopicReader(
                settings, settings.topics.name("fiche_event")) as events:
            await publish(settings, [professional(p) for p in people[:10]])
            await events.until(lambda v: len(v) >= 10, what="the first 10 fiches")
            assert proxy.freeze() >= 2  # the apply's pool and the relay's own
            await publish(settings, [professional(p) for p in people[10:]])
            await events.until(lambda v: len({e["subject"] for e in v}) >= 20, timeout=90,
                               what="the other 10 fiches over new connections")
            await events.settle(quiet=1.0)
    check_versions(events.values())
    check_order(events.records)
    assert len({e["id"] for e in events.values()}) == 20
    assert (await database_counts(settings))["fiches"] == 20
    assert await dead_letters(settings) == []


async def test_each_fiches_versions_reach_downstream_in_order_across_kills_and_rebalances(
    settings: Settings, sksync_process: ServiceProcesses,
) -> None:
    """Two instances in one group while four versions of 40 fiches flow: one is killed
    (its partitions move to the other), started again (they move back), then the other is
    killed. Each partition of sk.fiche.event, read in offset order, gives every fiche's
    versions one after the other (re-sends aside), each under one id."""
    people = [nihii("7") for _ in range(40)]
    batch = {"SKSYNC_APPLY_BATCH_SIZE": "10"}
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        first, second = sksync_process.start(**batch), sksync_process.start(**batch)
        for version in range(1, 5):
            await publish(settings, [professional(p, version=version,
                                                  phone=f"+32550{version:02d}{i:03d}")
                                     for i, p in enumerate(people)])
            await events.until(lambda v, n=version: len({e["id"] for e in v}) >= 10 * n,
                               timeout=120, what=f"fiche events of version {version}")
            if version == 1:
                sksync_process.kill(first)
            elif version == 2:
                first = sksync_process.start(**batch)
            elif version == 3:
                sksync_process.kill(second)
        await events.until(lambda v: len({e["id"] for e in v}) >= 4 * len(people),
                           timeout=150, what="four versions of 40 fiches")
        seen = await events.settle(quiet=2.0)
    check_order(events.records)
    assert set(check_versions(seen).values()) == {4}
    assert one_id_per_version(seen) == []


def retries(operation: str) -> float:
    return REGISTRY.get_sample_value("sksync_retries_total", {"operation": operation}) or 0.0


@pytest.fixture
async def impatient(settings: Settings) -> AsyncIterator[Settings]:
    """The service with a bound of two attempts at a failure that repeats identically (and
    short waits): an outage must be waited out all the same."""
    bounded = with_few_attempts(settings, 2)
    async with running_service(bounded):
        yield bounded


async def test_a_read_only_database_is_waited_out_and_every_update_applied_after(
    impatient: Settings, admin_url: str,
) -> None:
    """As after a failover to a standby: the database turns read-only (25006) and its
    connections drop while updates arrive. The apply stage waits, well past the bound on
    repeated failures (no dead letter); once the database is writable again every update is
    applied."""
    settings = impatient
    name = urllib.parse.unquote(urllib.parse.urlsplit(settings.database_url).path[1:])
    people = [nihii("8") for _ in range(30)]
    admin = await asyncpg.connect(admin_url)
    try:
        async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
            await publish(settings, [professional(p) for p in people[:10]])
            await events.until(lambda v: len(v) >= 10, what="the first 10 fiches")
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1", name)
            before = retries("apply")
            await publish(settings, [professional(p) for p in people[10:]])
            await wait_for(lambda: retries("apply") >= before + 6,
                           what="the apply stage retrying against the read-only database")
            assert (await database_counts(settings))["fiches"] == 10
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await events.until(lambda v: len({e["subject"] for e in v}) >= 30, timeout=90,
                               what="all 30 fiches once the database is writable")
            seen = await events.settle(quiet=1.0)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()
    assert set(check_versions(seen).values()) == {1}
    assert await dead_letters(settings) == []


async def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.1)


async def test_an_outage_is_logged_while_it_lasts_and_its_end_once(
    settings: Settings, sksync_process: ServiceProcesses, admin_url: str,
) -> None:
    """What an operator reads in ``sksync run``'s own log while the database refuses writes
    (read-only, as after a failover): the apply stage's retries, each naming the error,
    then one line when the outage is over, with the attempts it took and how long."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(settings.database_url).path[1:])
    people = [nihii("6") for _ in range(10)]
    process = sksync_process.start(SKSYNC_RETRY_MAX_BACKOFF_S="0.5")
    admin = await asyncpg.connect(admin_url)
    try:
        async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
            await publish(settings, [professional(p) for p in people[:5]])
            await events.until(lambda v: len(v) >= 5, timeout=90, what="the first 5 fiches")
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1", name)
            await publish(settings, [professional(p) for p in people[5:]])
            await wait_for(lambda: sum(line.get("operation") == "apply" for line in
                                       sksync_process.log_lines()) >= 3,
                           what="three retries of the apply logged")
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await events.until(lambda v: len({e["subject"] for e in v}) >= 10, timeout=90,
                               what="all 10 fiches once the database is writable")
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()
    assert sksync_process.stop(process) == 0
    lines = [line for line in sksync_process.log_lines() if line.get("operation") == "apply"]
    retrying = [line for line in lines if line["event"] == "transient failure, retrying"]
    [recovered] = [line for line in lines if line["event"] == "recovered"]
    assert retrying
    assert {line["error"] for line in retrying} == {"ReadOnlySQLTransactionError"}
    assert lines.index(recovered) == len(lines) - 1  # after every retry
    assert recovered["attempts"] == retrying[-1]["attempt"] + 1
    assert recovered["seconds"] > 0
    assert recovered["level"] == "info"
