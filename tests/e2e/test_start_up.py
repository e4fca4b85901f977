"""Start-up on real Kafka and PostgreSQL: a broker that is away is waited for (alive, saying
so on /readyz) and the service starts when it comes; topics are created as configured, and a
cluster that cannot hold them is named on /readyz rather than worked around."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from devstack import LocalKafka, free_port
from sync.app import Service
from sync.producers.kafka import client_options
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.process import ServiceProcesses
from tests.support.service import fiche_event_of, running_service
from tests.support.starting_broker import StartingBroker

pytestmark = pytest.mark.slow


@pytest.fixture
def late_kafka() -> Iterator[LocalKafka]:
    """A broker of this test's own on a port of its own, not started yet."""
    folder = Path(tempfile.mkdtemp(prefix="sksync-late-"))
    kafka = LocalKafka(folder / "kafka", port=free_port())
    try:
        yield kafka
    finally:
        kafka.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def readyz_until(port: int, condition: Callable[[int, dict[str, Any]], bool], *,
                       what: str, timeout: float = 60.0) -> dict[str, Any]:
    """Ask /readyz until ``condition(status, body)`` holds; the body then."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=8.0,
                                 trust_env=False) as http:
        while time.monotonic() < deadline:
            try:
                response = await http.get("/readyz")
            except httpx.TransportError as error:
                last = repr(error)
            else:
                body: dict[str, Any] = response.json()
                if condition(response.status_code, body):
                    return body
                last = f"{response.status_code} {body}"
            await asyncio.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for /readyz to be {what}; last: {last}")


async def ready_then_applying(config: Settings, broker: Settings, person: str,
                              last: str) -> None:
    """The service on ``config`` becomes ready (every check ok) once its broker is up, and a
    professional published through ``broker``'s address becomes a fiche event."""
    body = await readyz_until(config.http_port, lambda status, _: status == 200,
                              what="ready once the broker is up", timeout=90)
    assert set(body["checks"].values()) == {"ok"}
    await publish(broker, [professional(person, last=last)])
    async with TopicReader(broker, config.topics.name("fiche_event")) as events:
        [event] = await events.until(lambda v: len(v) >= 1, what="the fiche event")
    assert event["data"]["snapshot"]["name.last"] == last


async def retries(port: int, operation: str) -> float:
    async with httpx.AsyncClient(timeout=8.0, trust_env=False) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "sksync_retries_total"
               and sample.labels.get("operation") == operation)


async def test_sksync_run_waits_for_a_broker_that_is_down_and_starts_when_it_comes(
    settings: Settings, late_kafka: LocalKafka, tmp_path: Path,
) -> None:
    """Broker down: the process stays alive, /readyz is 503 naming the broker it waits for,
    retries go on. Broker up: ready, and a source event becomes a fiche event."""
    assert late_kafka.port is not None
    config = settings.model_copy(update={
        "kafka_bootstrap_servers": f"127.0.0.1:{late_kafka.port}", "http_port": free_port()})
    processes = ServiceProcesses(config, tmp_path)
    process = processes.start()
    try:
        body = await readyz_until(
            config.http_port,
            lambda status, body: status == 503 and body["checks"]["broker"].startswith(
                "waiting: "), what="not ready, waiting for the broker")
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["consumers"] != "ok"
        assert config.kafka_bootstrap_servers in body["checks"]["broker"]
        deadline = time.monotonic() + 60
        while await retries(config.http_port, "kafka-connect") < 3:
            assert process.poll() is None, processes.log_text()[-3000:]
            assert time.monotonic() < deadline, "no retries while the broker is away"
            await asyncio.sleep(0.2)
        assert process.poll() is None, processes.log_text()[-3000:]

        await asyncio.to_thread(late_kafka.start)
        await ready_then_applying(config, config, nihii("7"), "Late")
    finally:
        processes.kill_all()


async def test_sksync_run_started_while_its_broker_starts_is_ready_once_the_broker_is_up(
    settings: Settings, tmp_path: Path,
) -> None:
    """A KRaft broker that is starting answers metadata naming no broker; the client keeps only
    its bootstrap connection, and once that drops it has nobody left to ask. The start gives
    each attempt a bound and begins the next one afresh: not ready meanwhile, ready (and
    applying) once the broker is up, without a restart."""
    async with StartingBroker(settings.kafka_bootstrap_servers,
                              clients="aiokafka-producer") as starting:
        config = settings.model_copy(update={
            "kafka_bootstrap_servers": starting.address, "http_port": free_port()})
        processes = ServiceProcesses(config, tmp_path)
        process = processes.start(SKSYNC_KAFKA_START_TIMEOUT_S="4")
        try:
            deadline = time.monotonic() + 60
            while len(starting.answered) < 2:
                assert process.poll() is None, processes.log_text()[-3000:]
                assert time.monotonic() < deadline, "the start never asked for metadata"
                await asyncio.sleep(0.2)
            body = await readyz_until(config.http_port, lambda status, _: status == 503,
                                      what="not ready while the broker starts")
            assert body["checks"]["consumers"] != "ok"

            starting.come_up()
            await ready_then_applying(config, settings, nihii("6"), "Started")
            assert process.poll() is None, processes.log_text()[-3000:]
        finally:
            processes.kill_all()


async def test_sksync_run_waiting_for_a_broker_stops_cleanly_on_sigterm(
    settings: Settings, tmp_path: Path,
) -> None:
    """An operator who gives up on an absent broker stops the process as usual: exit 0."""
    config = settings.model_copy(update={
        "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "http_port": free_port()})
    processes = ServiceProcesses(config, tmp_path)
    process = processes.start()
    try:
        await readyz_until(config.http_port,
                           lambda status, body: body["checks"]["broker"].startswith("waiting: "),
                           what="waiting for the broker")
        code = await asyncio.to_thread(processes.stop, process, 30)
    finally:
        processes.kill_all()
    assert code == 0, processes.log_text()[-3000:]


async def test_every_server_of_a_bootstrap_list_is_tried(
    settings: Settings,
) -> None:
    """``SKSYNC_KAFKA_BOOTSTRAP_SERVERS=a:1,b:2`` names two servers, not one host: with the
    first one away, the subscribers still find the cluster through the second."""
    away = f"127.0.0.1:{free_port()}"
    config = settings.model_copy(update={
        "kafka_bootstrap_servers": f"{away},{settings.kafka_bootstrap_servers}"})
    async with running_service(config):
        event = await fiche_event_of(settings, professional(nihii("8"), last="Listed"))
    assert event["data"]["snapshot"]["name.last"] == "Listed"


async def test_a_first_start_on_new_topics_logs_no_error(
    settings: Settings, tmp_path: Path,
) -> None:
    """The topics it creates are known to the broker before anything subscribes to them: a
    consumer that asked sooner was told they do not exist, which aiokafka logs as an error (six
    error lines on every first start, the first thing an operator sees)."""
    config = settings.model_copy(update={"http_port": free_port()})
    processes = ServiceProcesses(config, tmp_path)
    process = processes.start()
    try:
        await ready_then_applying(config, config, nihii("8"), "First")
    finally:
        assert processes.stop(process) == 0
    text = processes.log_text()
    errors = [line for line in text.splitlines() if '"level": "error"' in line
              or '"level":"error"' in line]
    assert errors == [], errors


async def test_a_broker_outage_is_logged_in_a_few_lines_not_a_flood(
    settings: Settings, late_kafka: LocalKafka, tmp_path: Path,
) -> None:
    """The broker goes away under a running service: every retry of every Kafka client logs
    at error level, every few milliseconds (706 lines in five seconds before). Each kind of
    line is logged once per window; the outage still shows, and SIGTERM still stops."""
    await asyncio.to_thread(late_kafka.start)
    config = settings.model_copy(update={
        "kafka_bootstrap_servers": f"127.0.0.1:{late_kafka.port}", "http_port": free_port()})
    processes = ServiceProcesses(config, tmp_path)
    process = processes.start()
    try:
        await readyz_until(config.http_port, lambda status, _: status == 200, what="ready",
                           timeout=90)
        await asyncio.to_thread(late_kafka.kill)
        await asyncio.sleep(5)
        assert process.poll() is None, processes.log_text()[-3000:]
        assert processes.stop(process) == 0
    finally:
        processes.kill_all()
    errors = [json.loads(line)["event"] for line in processes.log_text().splitlines()
              if line.startswith("{") and '"level": "error"' in line]
    assert errors, "the outage was not logged"
    assert len(errors) <= 20, errors


async def test_topics_are_created_with_the_configured_partitions_and_replication(
    settings: Settings,
) -> None:
    """Five partitions as asked; on the one-broker local stack the replicas and
    ``min.insync.replicas`` are capped at 1."""
    config = settings.model_copy(update={"topic_partitions": 5})
    await Service(config, serve_http=False).ensure_topics()
    name = config.topics.name("fiche_update")
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        [described] = await admin.describe_topics([name])
        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, {"min.insync.replicas": None})])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 5
    assert {len(p["replicas"]) for p in described["partitions"]} == {1}
    entries = configs.resources[0][4]  # (error, message, type, name, entries)
    values = {entry[0]: entry[1] for entry in entries}
    assert values["min.insync.replicas"] == "1"


async def test_in_production_three_replicas_on_one_broker_are_waited_for_and_named(
    settings: Settings, tmp_path: Path,
) -> None:
    """Production asks the cluster for three replicas; one broker cannot hold them. The start
    creates nothing thinner, waits, and /readyz says why. The service is a process of its own,
    killed whatever happens: one that waits for ever must not outlive the test."""
    config = settings.model_copy(update={
        "environment": "production", "ssin_secret": SecretStr(secrets.token_urlsafe(32)),
        "http_port": free_port()})
    processes = ServiceProcesses(config, tmp_path)
    process = processes.start()
    try:
        body = await readyz_until(
            config.http_port,
            lambda status, body: status == 503
            and "InvalidReplicationFactorError" in body["checks"]["broker"],
            what="not ready, naming the replication the cluster cannot hold")
        assert f"cannot create topic {config.topics.prefix}" in body["checks"]["broker"]
        assert "replication factor of 3" in body["checks"]["broker"]
        assert process.poll() is None, processes.log_text()[-3000:]
    finally:
        processes.kill_all()
