"""The outbox relay on real Kafka and PostgreSQL: a row the broker refuses is parked and the
rows after it still go out; a published row is deleted, and one published but not yet deleted
goes out again with the same event id; a NOTIFY during a publish is not lost; a frozen or
killed relaying process is taken over within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import MessageSizeTooLargeError
from prometheus_client import REGISTRY

from sync.producers.kafka import Outgoing, SharedProducer, client_options, new_producer
from sync.producers.relay import OutboxRelay, retention
from sync.settings import Settings
from tests.support.cli import sksync
from tests.support.kafka import TopicReader
from tests.support.process import ServiceProcesses

pytestmark = pytest.mark.slow

#: The fiche-event topic of these tests refuses any record batch over this many bytes.
TOPIC_MAX_BYTES = 4000


async def create_topic(settings: Settings, name: str, **config: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs=config)])
    finally:
        await admin.close()


async def add_events(conn: asyncpg.Connection, topic: str, sizes: list[int]) -> list[str]:
    """Outbox rows for one fiche (one key: one partition), each with a payload of about
    ``size`` bytes; their event ids, in order."""
    ids = []
    for size in sizes:
        event_id = str(uuid.uuid4())
        payload = {"id": event_id, "type": "be.socialekaart.fiche.updated", "pad": "x" * size}
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload, type)"
            " VALUES ($1, $2, 'f-1', $3, $4)",
            uuid.UUID(event_id), topic, json.dumps(payload), payload["type"])
        ids.append(event_id)
    return ids


@contextlib.asynccontextmanager
async def running_relay(
    settings: Settings, producer: SharedProducer | None = None, poll_interval_s: float = 0.1,
) -> AsyncIterator[None]:
    producer = producer or SharedProducer(lambda: new_producer(settings),
                                          start_timeout_s=settings.kafka_start_timeout_s)
    await producer.start()
    relay = OutboxRelay(settings.database_url, producer, poll_interval_s=poll_interval_s,
                        session_timeout_s=max(15.0, 4 * poll_interval_s), max_backoff_s=1)
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


async def until_unsent(conn: asyncpg.Connection, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (unsent := await conn.fetchval("SELECT count(*) FROM outbox")) != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {count} unsent rows; {unsent}")
        await asyncio.sleep(0.05)


async def until_accepted(settings: Settings, topic: str, size: int, timeout: float = 30) -> None:
    """Until the broker applies a topic's new limit: it takes a probe of ``size`` bytes (not
    JSON, so the readers of these tests pass over it)."""
    producer = AIOKafkaProducer(**client_options(settings))  # not idempotent: nothing wedges
    await producer.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                await producer.send_and_wait(topic, b"\0" * size, key=b"probe")
                return
            except MessageSizeTooLargeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await producer.stop()


def parked_total(topic: str) -> float:
    return REGISTRY.get_sample_value(
        "sksync_outbox_parked_total",
        {"topic": topic, "reason": "refused: MessageSizeTooLargeError"}) or 0.0


async def test_a_row_the_broker_refuses_is_parked_and_the_rows_after_it_are_published(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Before: MESSAGE_TOO_LARGE was retried for ever from the lowest unsent row, and no
    event after it ever left. Now the row is parked with the reason and the others go out,
    in order, through the same partition."""
    topic = settings.topics.name("fiche_event")
    await create_topic(settings, topic, **{"max.message.bytes": str(TOPIC_MAX_BYTES)})
    small, large, *after = await add_events(pg_conn, topic, [100, 3 * TOPIC_MAX_BYTES, 100, 200])
    async with running_relay(settings), TopicReader(settings, topic) as reader:
        seen = await reader.until(lambda v: len(v) >= 3, what="the three small events")
        assert [event["id"] for event in seen] == [small, *after]
        parked = await pg_conn.fetchrow(
            "SELECT parked_at, park_reason FROM outbox WHERE event_id = $1", uuid.UUID(large))
        assert parked["parked_at"] is not None
        assert parked["park_reason"] == "refused: MessageSizeTooLargeError"
        assert parked_total(topic) == 1
        later = await add_events(pg_conn, topic, [150])
        await pg_conn.execute("SELECT pg_notify('sksync_outbox', '')")
        seen = await reader.until(lambda v: len(v) >= 4, what="an event written afterwards")
        assert [event["id"] for event in seen] == [small, *after, *later]
        await until_unsent(pg_conn, 1)  # only the parked one; the published ones are gone
        await operator_sees_and_releases(settings, topic, large)
        seen = await reader.until(lambda v: len(v) >= 5, what="the released event")
        assert seen[-1]["id"] == large
        await until_unsent(pg_conn, 0)


async def operator_sees_and_releases(settings: Settings, topic: str, event_id: str) -> None:
    """`sksync status` reports the parked event as a problem and `sksync outbox parked` lists
    it; after the topic's limit is raised, `sksync outbox release` hands it back."""
    status = await sksync(settings, "status", "--json")
    doc = json.loads(status.stdout)
    assert doc["outbox"]["parked"] == {"refused": 1}
    assert any("1 event(s) parked" in problem for problem in doc["problems"]), doc["problems"]
    listed = json.loads((await sksync(settings, "outbox", "parked", "--json")).stdout)
    assert [(row["eventId"], row["reason"]) for row in listed] == [
        (event_id, "refused: MessageSizeTooLargeError")]
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "1000000"})])
    finally:
        await admin.close()
    await until_accepted(settings, topic, 3 * TOPIC_MAX_BYTES)
    released = await sksync(settings, "outbox", "release", str(listed[0]["id"]))
    assert released.exit_code == 0, released.output
    assert "released 1 event(s)" in released.output


#: The relay session timeout of the processes below: a frozen relay loses its lock after it.
SESSION_TIMEOUT_S = 3


def logged(log: Path, event: str) -> bool:
    """Whether the JSON log ``log`` has a line whose event is ``event``."""
    if not log.exists():
        return False
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            if json.loads(line).get("event") == event:
                return True
    return False


async def wait_logged(log: Path, event: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not logged(log, event):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {event!r} in {log}")
        await asyncio.sleep(0.1)


async def two_relays(processes: ServiceProcesses) -> tuple[subprocess.Popen[bytes], Path]:
    """Two relay-only processes; the first holds the lock. The second and its log."""
    options = {"SKSYNC_STAGES": "relay", "SKSYNC_RELAY_POLL_INTERVAL_S": "0.2",
               "SKSYNC_RELAY_SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S)}
    processes.start(**options)
    await wait_logged(processes.logs[0], "relay active")
    standby = processes.start(**options)
    await wait_logged(processes.logs[1], "service started")
    return standby, processes.logs[1]


async def relayed_after(
    settings: Settings, conn: asyncpg.Connection, reader: TopicReader, what: str,
) -> float:
    """Write one event; the seconds until it is on the topic."""
    [event_id] = await add_events(conn, settings.topics.name("fiche_event"), [50])
    await conn.execute("SELECT pg_notify('sksync_outbox', '')")
    started = time.monotonic()
    await reader.until(lambda v: event_id in {e.get("id") for e in v}, what=what, timeout=45)
    return time.monotonic() - started


@pytest.mark.parametrize("stop", [signal.SIGSTOP, signal.SIGKILL], ids=["frozen", "killed"])
async def test_another_instance_takes_over_relaying_within_seconds(
    settings: Settings, pg_conn: asyncpg.Connection, sksync_process: ServiceProcesses,
    stop: signal.Signals,
) -> None:
    """A relaying process that freezes (SIGSTOP: its connection stays open, as a half-open one
    does) or dies (SIGKILL) loses the relay lock within the session timeout; the standby
    takes over and publishes. Before, a frozen relay held the lock for as long as its
    connection lived, and nothing was published."""
    async with TopicReader(settings, settings.topics.name("fiche_event")) as reader:
        standby, standby_log = await two_relays(sksync_process)
        await relayed_after(settings, pg_conn, reader, "an event from the first relay")
        assert not logged(standby_log, "relay active")
        first = sksync_process.running[0]
        first.send_signal(stop)
        try:
            seconds = await relayed_after(settings, pg_conn, reader, "an event after the stop")
        finally:
            sksync_process.kill(first)  # SIGKILL ends a stopped process too
        assert logged(standby_log, "relay active")
        assert seconds < SESSION_TIMEOUT_S + 10, seconds
        assert standby.poll() is None


async def test_the_relaying_process_deletes_inbox_rows_past_their_retention(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Inbox rows older than their retention go, a bounded batch at a time, while the relay
    keeps publishing; the event it published leaves the outbox."""
    topic = settings.topics.name("fiche_event")
    await pg_conn.execute(
        "INSERT INTO inbox (source, event_id, outcome, processed_at)"
        " SELECT 's', 'old-' || i, 'applied', now() - interval '31 days'"
        " FROM generate_series(1, 25) AS i")
    await pg_conn.execute("INSERT INTO inbox (source, event_id, outcome) VALUES ('s', 'new', 'x')")
    [fresh] = await add_events(pg_conn, topic, [10])
    before = REGISTRY.get_sample_value(
        "sksync_retention_deleted_total", {"table": "inbox"}) or 0.0
    producer = SharedProducer(lambda: new_producer(settings),
                              start_timeout_s=settings.kafka_start_timeout_s)
    await producer.start()
    relay = OutboxRelay(settings.database_url, producer, poll_interval_s=0.1,
                        retention=retention(settings.model_copy(
                            update={"retention_batch_size": 10})))
    task = asyncio.create_task(relay.run())
    try:
        async with TopicReader(settings, topic) as reader:
            await reader.until(lambda v: fresh in {e.get("id") for e in v}, what="the event")
        deadline = time.monotonic() + 30
        while await pg_conn.fetchval("SELECT count(*) FROM inbox") > 1:
            assert time.monotonic() < deadline, "old inbox rows still there after 30 s"
            await asyncio.sleep(0.05)
        await until_unsent(pg_conn, 0)
        assert await pg_conn.fetchval("SELECT array_agg(event_id) FROM inbox") == ["new"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()
    after = REGISTRY.get_sample_value("sksync_retention_deleted_total", {"table": "inbox"})
    assert after == before + 25


class HeldProducer(SharedProducer):
    """Holds its first publish until :attr:`release` is set: a publish in flight."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: new_producer(settings),
                         start_timeout_s=settings.kafka_start_timeout_s)
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def send_all(self, messages: Iterable[Outgoing]) -> None:
        messages = list(messages)
        if not self.in_flight.is_set():
            self.in_flight.set()
            await asyncio.wait_for(self.release.wait(), timeout=30)
        await super().send_all(messages)


async def test_rows_notified_while_a_publish_is_in_flight_go_out_without_a_poll_wait(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """With a poll interval of a minute, rows committed (with their NOTIFY) while the relay
    waits for the broker are published as soon as that publish ends. Before, the relay
    cleared its wake-up after the publish and so slept the whole interval."""
    topic = settings.topics.name("fiche_event")
    producer = HeldProducer(settings)
    [first] = await add_events(pg_conn, topic, [10])
    async with TopicReader(settings, topic) as reader, \
            running_relay(settings, producer, poll_interval_s=60):
        await asyncio.wait_for(producer.in_flight.wait(), timeout=30)
        [second] = await add_events(pg_conn, topic, [10])
        await pg_conn.execute("SELECT pg_notify('sksync_outbox', '')")
        producer.release.set()
        seen = await reader.until(lambda v: second in {e.get("id") for e in v}, timeout=10,
                                  what="the row notified during the publish")
        assert [e["id"] for e in seen] == [first, second]
        await until_unsent(pg_conn, 0, timeout=10)


class CutAfterPublish(SharedProducer):
    """Ends the relay's database session right after its first publish, before the relay can
    delete what it published: a crash between publish and delete."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: new_producer(settings),
                         start_timeout_s=settings.kafka_start_timeout_s)
        self.settings = settings
        self.cut = False

    async def send_all(self, messages: Iterable[Outgoing]) -> None:
        await super().send_all(messages)
        if not self.cut:
            self.cut = True
            conn = await asyncpg.connect(self.settings.database_url)
            try:  # the relay's session is the one holding an advisory lock here
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND database = (SELECT oid FROM pg_database"
                    "                 WHERE datname = current_database())")
            finally:
                await conn.close()


async def test_rows_published_but_not_deleted_go_out_again_with_the_same_event_ids(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """The relay deletes a row only after the broker took it; when its session ends in
    between, the next session publishes the same rows again, same ids, same order, then
    deletes them."""
    topic = settings.topics.name("fiche_event")
    ids = await add_events(pg_conn, topic, [10, 20, 30])
    async with TopicReader(settings, topic) as reader, \
            running_relay(settings, CutAfterPublish(settings)):
        seen = await reader.until(lambda v: len(v) >= 6, what="the three events twice")
        await until_unsent(pg_conn, 0)
    assert [e["id"] for e in seen] == ids + ids
