"""What an operator scrapes from /metrics, on real Kafka and PostgreSQL: a burst shows as lag
and event age, then the lag falls to 0; dead letters are counted; and every metric that the
Grafana dashboard and the Prometheus alert rules name is one the service really exports."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devstack import free_port
from sync.app import Service
from sync.console.live import Sampler
from sync.ops.status import collect_status
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import publish, publish_raw

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "sksync-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
#: Series that Prometheus makes itself when it scrapes; the service cannot export them.
MADE_BY_PROMETHEUS = {"up"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
BURST = 30


class Scrape:
    """One parsed /metrics response: every sample, by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples = [sample for family in text_string_to_metric_families(text)
                        for sample in family.samples]

    @property
    def names(self) -> set[str]:
        """Sample names as PromQL sees them (``_total``, ``_bucket``, ``_count``, ``_sum``)."""
        return {sample.name for sample in self.samples}

    def total(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over the samples that carry ``labels`` (0 when there are none)."""
        return sum(s.value for s in self.samples
                   if s.name == name and labels.items() <= s.labels.items())

    def has(self, name: str, **labels: str) -> bool:
        return any(s.name == name and labels.items() <= s.labels.items() for s in self.samples)


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service with its HTTP server on a free port and gauges polled every 0.2 s; a client
    of that server once it answers."""
    config = settings.model_copy(update={"http_port": free_port(), "gauges_interval_s": 0.2})
    service = Service(config)
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.http_port}",
                                     timeout=10, trust_env=False) as client:
            await answering(client)
            yield client
    finally:
        await service.stop()


async def answering(client: httpx.AsyncClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.get("/healthz")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape(response.text)


async def scrape_until(
    client: httpx.AsyncClient, condition: Callable[[Scrape], bool], *, what: str,
    timeout: float = 60.0,
) -> Scrape:
    """Scrape until ``condition`` holds; fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = await scrape(client)
        if condition(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s on /metrics for {what}")
        await asyncio.sleep(0.2)


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a source would send it now: its ``time`` is the moment of publishing."""
    return event | {"time": datetime.now(UTC).isoformat().replace("+00:00", "Z")}


class HeldUp:
    """A lock on the fiche identifiers, the apply consumer's first read: it waits as it would
    behind a slow database, while mapping and the polled gauges go on."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.hold = conn.transaction()

    async def release(self) -> None:
        if not self.conn.is_closed():
            await self.conn.close()  # ends the transaction, and with it the lock


@asynccontextmanager
async def apply_held_up(settings: Settings) -> AsyncIterator[HeldUp]:
    held = HeldUp(await asyncpg.connect(settings.database_url))
    try:
        await held.hold.start()
        await held.conn.execute("LOCK TABLE fiche_identifier IN ACCESS EXCLUSIVE MODE")
        yield held
    finally:
        await held.release()


async def test_a_burst_shows_as_lag_and_event_age_on_metrics_and_the_lag_falls_to_zero(
    settings: Settings,
) -> None:
    """A burst published while no service runs, then held up at apply: /metrics shows the lag
    of the group that maps and applies (one hop: nothing waits on ``sk.fiche.update``).
    Released, every lag of both groups reads 0, and the event age at apply counts the whole
    wait (at least from publishing to release, for every event of the burst)."""
    await Service(settings).ensure_topics()
    await publish(settings, [fresh(professional(nihii("1"))) for _ in range(BURST)])
    published_at = time.time()
    groups = {f"{settings.consumer_group}.map", f"{settings.consumer_group}.apply"}
    map_group = f"{settings.consumer_group}.map"
    source_topic = settings.topics.name("cobrha_professional")
    age = "sksync_event_age_seconds"
    async with apply_held_up(settings) as apply, served(settings) as client:
        try:
            held = await scrape_until(
                client, lambda s: s.total("sksync_consumer_lag_messages", group=map_group,
                                          topic=source_topic) >= BURST,
                what=f"a lag of {BURST} on {source_topic} while apply is held up")
        finally:
            await apply.release()  # before the service stops, also when the wait failed
        released_at = time.time()
        count_before = held.total(f"{age}_count", source="cobrha")
        sum_before = held.total(f"{age}_sum", source="cobrha")

        def caught_up(s: Scrape) -> bool:
            lags = [x for x in s.samples if x.name == "sksync_consumer_lag_messages"
                    and x.labels["group"] in groups]
            return ({x.labels["group"] for x in lags} == groups
                    and not any(x.value for x in lags)
                    and s.total(f"{age}_count", source="cobrha") >= count_before + BURST)

        after = await scrape_until(client, caught_up,
                                   what="no lag in either group and the burst's event ages")
    applied = after.total(f"{age}_count", source="cobrha") - count_before
    waited = after.total(f"{age}_sum", source="cobrha") - sum_before
    assert applied == BURST
    assert waited >= BURST * (released_at - published_at)
    assert after.total("sksync_events_total", topic=source_topic, outcome="applied") >= BURST
    assert not after.has("sksync_events_total", topic=settings.topics.name("fiche_update"))


async def test_a_dead_lettered_message_is_counted_on_metrics_and_in_status(
    settings: Settings,
) -> None:
    """Undecodable bytes on a source topic: the dead-letter counter of that topic and reason
    goes from nothing to 1, its outcome is counted, and ``sksync status`` shows the DLQ."""
    source = settings.topics.name("cobrha_professional")
    async with served(settings) as client:
        before = await scrape(client)
        assert not before.has("sksync_dead_letters_total", topic=source)
        await publish_raw(settings, "cobrha_professional", [b"{not json"])
        after = await scrape_until(
            client, lambda s: s.has("sksync_dead_letters_total", topic=source),
            what=f"a dead letter from {source}")
    assert after.total("sksync_dead_letters_total", topic=source, reason="undecodable") == 1
    assert after.total("sksync_events_total", topic=source, outcome="dead_lettered") == 1
    status = await collect_status(settings)
    assert status["deadLetters"][settings.topics.dlq(source)] == 1


async def test_the_consoles_sampler_keeps_its_broker_clients_from_sample_to_sample(
    settings: Settings, pg_pool: asyncpg.Pool,
) -> None:
    """The operators' page samples the status every few seconds: its samples share one pair
    of broker clients (not a bootstrap per sample) and the console's pool, and a dead letter
    published between two samples shows in the second; stopping the sampler closes them."""
    dlq = settings.topics.dlq(settings.topics.name("cobrha_professional"))
    sampler = Sampler(settings, pg_pool)
    try:
        await sampler.sample()
        assert sampler.latest["problems"] == []
        before = sampler.latest["deadLetters"][dlq]
        await publish_raw(settings, "cobrha_professional", [b"{not json"], topic=dlq)
        await sampler.sample()
        assert sampler.latest["deadLetters"][dlq] == before + 1
        reader = sampler._reader  # the clients the samples share
        assert reader is not None
        assert reader.starts == 1
    finally:
        await sampler.close()
    assert sampler._reader is None


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: what is left once strings, label matchers,
    ranges and grouping clauses are taken out, except function names and keywords."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    found = re.findall(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {name for name in found if name.lower() not in PROMQL_KEYWORDS}


def walk_exprs(node: Any) -> Iterator[str]:
    """Every ``expr`` string anywhere in a JSON or YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from walk_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_exprs(item)


def named_in_deploy_files() -> dict[str, set[str]]:
    """Per deploy file, the metric names its expressions use."""
    documents = {DASHBOARD.name: json.loads(DASHBOARD.read_text()),
                 ALERTS.name: yaml.safe_load(ALERTS.read_text())}
    return {name: {metric for expr in walk_exprs(doc) for metric in metric_names(expr)}
            for name, doc in documents.items()}


def test_metric_names_are_read_from_promql_without_functions_labels_or_keywords() -> None:
    """The extractor the next test relies on: names only, histogram suffixes kept."""
    expr = ('histogram_quantile(0.95, sum by (source, le) (rate(x_seconds_bucket{source!="kbo"}'
            '[$__rate_interval]))) > 900 and max(y_total unless y_total offset 15m) or up == 0'
            ' and time() - max by (s) (z{s="a"}) > 6 * 3600')
    assert metric_names(expr) == {"x_seconds_bucket", "y_total", "up", "z"}


async def test_every_metric_named_by_the_dashboard_and_the_alert_rules_is_exported(
    settings: Settings,
) -> None:
    """A running service that has applied an event, dead-lettered one and polled its gauges
    exports every series the dashboard and the alerts use; they name only ``sksync_*`` metrics
    and ``up`` (which Prometheus makes itself)."""
    named = named_in_deploy_files()
    assert all(named.values()), named
    wanted = set().union(*named.values())
    assert {n for n in wanted if not n.startswith("sksync_")} <= MADE_BY_PROMETHEUS, wanted
    expected = wanted - MADE_BY_PROMETHEUS
    source, group = settings.topics.name("cobrha_professional"), settings.consumer_group
    fiche_events = settings.topics.name("fiche_event")
    async with served(settings) as client:
        await publish(settings, [fresh(professional(nihii("1")))])
        await publish_raw(settings, "cobrha_professional", [b"{not json"])
        last: list[Scrape] = []

        def complete(s: Scrape) -> bool:
            last[:] = [s]
            return (expected <= s.names  # and this test's own traffic shows, not another's:
                    and s.has("sksync_dead_letters_total", topic=source)
                    and s.has("sksync_consumer_lag_messages", group=f"{group}.apply")
                    and s.has("sksync_relay_published_total", topic=fiche_events))

        try:
            await scrape_until(client, complete, what="every metric the deploy files name")
        except AssertionError:
            missing = {file: sorted(names - MADE_BY_PROMETHEUS - last[0].names)
                       for file, names in named.items()}
            raise AssertionError(f"not exported by the service: {missing}") from None
