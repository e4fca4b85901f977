"""``sksync status`` and the polled gauges, from the broker and the database alone."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from sync.app import Service
from sync.ops.gauges import poll_gauges, refresh_gauges
from sync.ops.lag import LagReader
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.cli import sksync
from tests.support.kafka import publish, publish_raw

pytestmark = pytest.mark.slow

BURST = 25



async def status(settings: Settings) -> dict[str, Any]:
    result = await sksync(settings, "status", "--json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def lag_of(doc: dict[str, Any], group: str) -> int:
    return sum(row["lag"] for row in doc["lag"] if row["group"] == group)


async def status_until(
    settings: Settings, condition: Callable[[dict[str, Any]], bool], *, what: str,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Ask ``sksync status`` until ``condition`` holds; fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        doc = await status(settings)
        if condition(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; last status: {doc}")
        await asyncio.sleep(0.3)


async def a_burst_without_a_service(settings: Settings) -> None:
    """The topics exist (as after an earlier run) and a burst waits on them, unread."""
    await Service(settings).ensure_topics()
    await publish(settings, [professional(nihii("1")) for _ in range(BURST)])


async def test_status_shows_the_lag_of_a_burst_until_the_service_has_applied_and_relayed_it(
    settings: Settings,
) -> None:
    """No service: the map group lags by the burst. With one: lag and outbox drain to 0, the
    fiches and the source's last apply show, and a dead letter is counted on its DLQ."""
    await a_burst_without_a_service(settings)
    mapping, applying = f"{settings.consumer_group}.map", f"{settings.consumer_group}.apply"
    source = settings.topics.name("cobrha_professional")
    dlq = settings.topics.dlq(source)
    before = await status(settings)
    assert lag_of(before, mapping) == BURST
    assert {"group": mapping, "topic": source, "lag": BURST} in [
        {k: row[k] for k in ("group", "topic", "lag")} for row in before["lag"]]
    assert before["deadLetters"][dlq] == 0
    assert before["outbox"]["backlog"] == 0
    table = await sksync(settings, "status")
    assert table.exit_code == 0, table.output
    assert mapping in table.stdout
    with capture_logs():
        service = Service(settings, serve_http=False)
        await service.start()
        try:
            await publish_raw(settings, "cobrha_professional", [b"{not json"])
            after = await status_until(
                settings, lambda d: lag_of(d, mapping) == lag_of(d, applying) == 0
                and d["outbox"]["backlog"] == 0 and d["deadLetters"][dlq] == 1
                and sum(f["count"] for f in d["fiches"]) == BURST,
                what="no lag, an empty outbox, the burst's fiches and one dead letter")
        finally:
            await service.stop()
    assert after["fiches"] == [{"kind": "person", "status": "active", "count": BURST}]
    assert after["outbox"]["oldestUnsentAgeSeconds"] is None
    assert [row["source"] for row in after["sources"]] == ["cobrha"]
    assert after["sources"][0]["ageSeconds"] < 120
    assert after["openConflicts"] == 0
    assert after["problems"] == []


async def test_status_watch_refreshes_as_often_as_asked_and_each_refresh_is_one_json_line(
    settings: Settings,
) -> None:
    """``--watch S --count N`` prints N documents and stops."""
    await a_burst_without_a_service(settings)
    result = await sksync(settings, "status", "--json", "--watch", "0.2", "--count", "3")
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) == 3
    assert all(lag_of(doc, f"{settings.consumer_group}.map") == BURST for doc in docs)
    text = await sksync(settings, "status", "--watch", "0.1", "--count", "2")
    assert text.exit_code == 0, text.output
    assert text.stdout.count("sksync status at") == 2


@pytest.mark.parametrize("args", [
    ["--watch", "0"], ["--watch", "-1"], ["--watch", "soon"], ["--count", "2"],
    ["--watch", "1", "--count", "0"],
])
async def test_bad_status_arguments_are_explained_without_a_traceback(
    settings: Settings, args: list[str],
) -> None:
    """A usage error, exit code 2."""
    result = await sksync(settings, "status", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def map_lag_gauge(settings: Settings) -> Callable[[], float]:
    """What the lag gauge says of the map group on the professionals' topic, over its three
    partitions."""
    group = f"{settings.consumer_group}.map"
    topic = settings.topics.name("cobrha_professional")
    return lambda: sum(gauge("sksync_consumer_lag_messages", group=group, topic=topic,
                             partition=str(p)) or 0.0 for p in range(3))


async def test_the_gauges_follow_the_broker_and_the_database_and_survive_a_failed_refresh(
    settings: Settings, pg_pool: asyncpg.Pool,
) -> None:
    """The map group's lag per partition sums to the burst; fiche counts read 0, not nothing.
    A refresh that fails (a table gone) is logged; the loop goes on and follows the lag."""
    await a_burst_without_a_service(settings)
    lag = map_lag_gauge(settings)

    with capture_logs() as logs:
        task = asyncio.create_task(poll_gauges(settings, pg_pool, interval_s=0.1))
        try:
            await until(lambda: lag() == BURST, what="the lag gauge")
            assert gauge("sksync_fiches", kind="organisation", status="inactive") == 0
            assert gauge("sksync_outbox_backlog") == 0
            await pg_pool.execute("ALTER TABLE source_progress RENAME TO source_progress_away")
            await until(lambda: any(e["event"] == "gauges not refreshed" for e in logs),
                        what="the failed refresh to be logged")
            await pg_pool.execute("ALTER TABLE source_progress_away RENAME TO source_progress")
            await publish(settings, [professional(nihii("1"))])
            await until(lambda: lag() == BURST + 1, what="the lag gauge to follow again")
            assert not task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert [e["event"] for e in logs].count("gauges not refreshed") == 1


async def test_repeated_refreshes_read_the_lag_right_with_the_same_two_clients(
    settings: Settings, pg_pool: asyncpg.Pool,
) -> None:
    """Refreshes with messages published between them each read the lag exactly, all with
    the admin client and consumer started for the first (before, every refresh started an
    admin client and a consumer per group, each a bootstrap). Closed, as after a failed
    read, the reader starts new ones and reads on."""
    await a_burst_without_a_service(settings)
    lag = map_lag_gauge(settings)

    async with LagReader(settings) as reader:
        for published in range(3):
            await refresh_gauges(settings, pg_pool, reader)
            assert lag() == BURST + published
            await publish(settings, [professional(nihii("1"))])
        assert reader.starts == 1
        await reader.close()
        await refresh_gauges(settings, pg_pool, reader)
        assert lag() == BURST + 3
        assert reader.starts == 2


async def until(condition: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.1)
