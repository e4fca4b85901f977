"""The one composition root: settings in, a running service out. Nothing connects at import."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import structlog
import uvicorn
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from sync.consumers.apply import ApplyStage
from sync.consumers.kafka import Redelivery, raw_body, tolerant_parser
from sync.consumers.map_apply import MapApplyStage
from sync.consumers.source import SourceStage
from sync.errors import TransientError
from sync.events import FicheEventData, FicheUpdate, NotificationData
from sync.mapping import MappingContext
from sync.observability.gcpause import watch_gc
from sync.observability.http import http_app
from sync.ops.database import owner_connection
from sync.ops.gauges import poll_gauges
from sync.ops.status import describe
from sync.ops.topics import ensure_topics
from sync.policy import default_policy
from sync.producers.kafka import SharedProducer, client_options, new_producer, start_within
from sync.producers.login import check_kafka_login
from sync.producers.relay import OutboxRelay, retention
from sync.retry import retry_transient
from sync.settings import Settings
from sync.startup import kafka_transient, refuse_unsafe
from sync.store.apply import OUTBOX_CHANNEL, Applier
from sync.store.migrate import migrate, pending_migrations
from sync.store.uow import UnitOfWork, close_pool, open_pool
from sync.store.verification import raise_verification_due
from sync.supervise import Supervisor

__all__ = ["Service", "asyncapi_app", "build_broker"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
#: How long /readyz waits for the database before calling it unreachable.
READINESS_DB_TIMEOUT_S = 3.0


@dataclass
class Stages:
    """Filled at start-up; the subscribers call into them. ``source`` maps and publishes, or,
    when the process applies too, maps and applies (:class:`MapApplyStage`). ``commits``:
    the subscribers' :class:`Redelivery`, whose offset commits are flushed at stop."""

    source: SourceStage | MapApplyStage | None = None
    apply: ApplyStage | None = None
    commits: list[Redelivery] = field(default_factory=list)


def _security(settings: Settings) -> BaseSecurity | None:
    options = client_options(settings)
    sec = settings.kafka_security
    context = options.get("ssl_context")
    if not sec.protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=context) if context else None
    user = sec.sasl_username or ""
    password = sec.sasl_password.get_secret_value() if sec.sasl_password else ""
    kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512}[sec.sasl_mechanism]
    return kind(user, password, ssl_context=context, use_ssl=sec.protocol == "SASL_SSL")


def build_broker(settings: Settings, stages: Stages) -> KafkaBroker:
    """The broker with the subscribers of the stages this process runs: the source topics'
    (group ``<g>.map``, which applies what it maps when the process applies too) and
    ``sk.fiche.update``'s (group ``<g>.apply``; in one process with the map stage it drains what
    a separate mapping process or an older version wrote there). Both commit only after their
    work is done (``AckPolicy.MANUAL``; the commit follows the database commit or the broker's
    ack), and a batch whose handler raised is read again (:class:`Redelivery`)."""
    # FastStream logs every message at INFO; our own lines say what matters per outcome.
    # A list: FastStream hands a string to aiokafka as one host, "a:9092,b:9092" included.
    servers = [server.strip() for server in settings.kafka_bootstrap_servers.split(",")]
    broker = KafkaBroker(servers, security=_security(settings),
                         client_id="sksync", log_level=logging.DEBUG,
                         logger=logging.getLogger("faststream"))
    topics = settings.topics
    common: dict[str, Any] = dict(
        batch=True, ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest",
        parser=tolerant_parser, decoder=raw_body, max_records=settings.apply_batch_size,
        batch_timeout_ms=settings.apply_batch_timeout_ms,
    )

    # A handler that raises has its batch delivered again (after a backoff), never skipped.
    commit_every_s = settings.offset_commit_interval_ms / 1000
    map_redelivery = Redelivery("map-batch", settings.retry_max_backoff_s,
                                settings.apply_batch_size, commit_every_s)
    apply_redelivery = Redelivery("apply-batch", settings.retry_max_backoff_s,
                                  settings.apply_batch_size, commit_every_s)
    stages.commits[:] = [map_redelivery, apply_redelivery]

    async def map_sources(body: Any, msg: KafkaMessage) -> None:
        assert stages.source is not None
        await map_redelivery.run(stages.source.handle, msg)

    async def apply_updates(body: Any, msg: KafkaMessage) -> None:
        assert stages.apply is not None
        await apply_redelivery.run(stages.apply.handle, msg)

    applying: dict[str, Any] = {"max_partition_fetch_bytes": settings.apply_partition_fetch_bytes}
    if settings.runs("map"):
        broker.subscriber(
            *topics.sources(), group_id=f"{settings.consumer_group}.map", **common,
            **(applying if settings.one_hop else {}),
            title="map-sources",
            description=("Source events mapped and applied to PostgreSQL with an outbox."
                         if settings.one_hop else "Source events to canonical updates."),
        )(map_sources)
    if settings.runs("apply"):
        broker.subscriber(
            topics.name("fiche_update"), group_id=f"{settings.consumer_group}.apply",
            **applying, **common,
            title="apply-updates",
            description="Canonical updates applied to PostgreSQL with an outbox.",
        )(apply_updates)

    schemas = {"fiche_update": FicheUpdate, "fiche_event": FicheEventData,
               "notification": NotificationData}
    for key, model in schemas.items():
        broker.publisher(topics.name(key), title=key, schema=model,
                         description=(model.__doc__ or "").strip().splitlines()[0])
    return broker


#: Young objects allocated between two collections of the youngest generation (Python's
#: default: 700). Each update allocates thousands of short-lived objects; at the default the
#: collector ran about once per update and, with the older generations, took a fifth of the
#: apply stage's time. Collections stay, a hundred times rarer; memory is bounded as before.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Collect garbage less often (:data:`GC_THRESHOLDS`), leave what start-up built (code,
    tables, settings) out of every later collection, and time each later pass
    (``sksync_gc_pause_seconds``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    watch_gc()


def asyncapi_app() -> FastStream:
    """The app as FastStream sees it, for ``faststream docs gen sync.app:asyncapi_app``."""
    return FastStream(build_broker(Settings(), Stages()))


@dataclass
class Service:
    """The long-running service: subscribers, relay and HTTP server."""

    settings: Settings
    serve_http: bool = True
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _supervisor: Supervisor | None = None
    _pool: asyncpg.Pool | None = None
    _producer: SharedProducer | None = None
    _broker: KafkaBroker | None = None
    _stages: Stages | None = None
    _http: uvicorn.Server | None = None
    #: Per readiness check, what the start is waiting for (empty once started).
    _waiting: dict[str, str] = field(default_factory=dict)
    _console: uvicorn.Server | None = None
    _provider: uvicorn.Server | None = None

    async def start(self) -> None:
        """Refuse an unsafe configuration at once; otherwise serve HTTP, then wait (with
        backoff) for the database and the broker, saying on /readyz what is awaited."""
        settings = self.settings
        refuse_unsafe(settings)
        tune_gc()
        if self.serve_http:
            self._serve_http()
        self._pool = await self._until_up("database", self._open_pool, what="database-connect")
        await self._migrate()
        self._waiting["consumers"] = "not started: waiting for the broker"
        self._producer = await self._until_up("broker", self._connect_kafka, what="kafka-connect")
        names = {"fiche_event": settings.topics.name("fiche_event"),
                 "notification": settings.topics.name("notification")}
        context = MappingContext(ssin_secret=settings.ssin_secret.get_secret_value().encode())
        source = SourceStage(settings, self._producer, context)
        apply = ApplyStage(settings, Applier(
            self._pool, default_policy(), names,
            max_event_bytes=settings.outbox_max_event_bytes), self._producer)
        stages = Stages(source=MapApplyStage(source, apply, settings.audit_updates)
                        if settings.one_hop else source, apply=apply)
        self._broker = await self._until_up("consumers", lambda: self._start_broker(stages),
                                            what="broker-start")
        self._stages = stages
        # Never gone silently: a background task that ends is started again (sync.supervise).
        supervisor = self._supervisor = Supervisor(settings.retry_max_backoff_s)
        if settings.runs("relay"):
            relay = OutboxRelay(settings.database_url, self._producer,
                                batch_size=settings.relay_batch_size,
                                poll_interval_s=settings.relay_poll_interval_s,
                                session_timeout_s=settings.relay_session_timeout_s,
                                retention=retention(settings))
            supervisor.start("relay", relay.run)
        if settings.runs("apply"):
            supervisor.start("verification", self._verification_loop)
        pool = self._pool
        supervisor.start("gauges", lambda: poll_gauges(settings, pool, settings.gauges_interval_s))
        self._tasks.extend(supervisor.tasks)
        if settings.console_enabled:
            from sync.console.serve import console_server, serve_until_cancelled

            self._console = console_server(settings, self._pool, self.readiness)
            self._tasks.append(asyncio.create_task(serve_until_cancelled(self._console),
                                                   name="console"))
        if settings.provider_enabled:
            self._start_provider_pages()
        log.info("service started", bootstrap=settings.kafka_bootstrap_servers,
                 stages=settings.stages, http_port=settings.http_port if self.serve_http else None)

    def _serve_http(self) -> None:
        """/healthz, /readyz and /metrics from the first moment: a start that waits for its
        database or broker is alive, and says so."""
        settings = self.settings
        config = uvicorn.Config(http_app(self.readiness), host=settings.http_host,
                                port=settings.http_port, log_level="warning", lifespan="off")
        self._http = uvicorn.Server(config)
        self._tasks.append(asyncio.create_task(self._http.serve(), name="http"))

    async def _until_up(self, check: str, operation: Callable[[], Awaitable[T]], *,
                        what: str) -> T:
        """Run ``operation`` until it succeeds, retrying transient failures with backoff; while
        it fails, readiness check ``check`` says why."""
        async def attempt() -> T:
            try:
                result = await operation()
            except Exception as error:
                why = str(error) if isinstance(error, TransientError) else describe(error)
                self._waiting[check] = f"waiting: {why.splitlines()[0] if why else ''}"
                raise
            self._waiting.pop(check, None)
            return result

        return await retry_transient(attempt, what=what,
                                     max_backoff_s=self.settings.retry_max_backoff_s)

    async def _connect_kafka(self) -> SharedProducer:
        """Log in, create the missing topics and start the shared producer. A refused login
        fails at once, by name; a broker that does not answer is waited for."""
        settings = self.settings
        await check_kafka_login(settings)
        producer = SharedProducer(lambda: new_producer(settings),
                                  start_timeout_s=settings.kafka_start_timeout_s)
        try:
            async with kafka_transient(settings.kafka_bootstrap_servers):
                await ensure_topics(settings)
                await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer

    async def _start_broker(self, stages: Stages) -> KafkaBroker:
        """The subscribers, started; a broker that went away meanwhile is waited for."""
        broker = build_broker(self.settings, stages)
        async with kafka_transient(self.settings.kafka_bootstrap_servers):
            return await start_within(broker, self.settings.kafka_start_timeout_s)

    def _start_provider_pages(self) -> None:
        """The provider pages on their own port; their changes go out on this producer."""
        from sync.console.serve import serve_until_cancelled
        from sync.ops.publish import publish_events
        from sync.providers.app import provider_server

        assert self._pool is not None
        assert self._producer is not None
        producer = self._producer

        async def publish(events: list[dict[str, Any]]) -> int:
            return await publish_events(producer, events, self.settings)

        self._provider = provider_server(self.settings, self._pool, publish)
        self._tasks.append(asyncio.create_task(serve_until_cancelled(self._provider),
                                               name="provider-pages"))

    async def _verification_loop(self) -> None:
        """Now and then, ask editors to have long-unconfirmed fiches checked."""
        settings = self.settings
        period = timedelta(days=settings.verification_period_days)
        while True:
            try:
                await self.check_verification(period)
            except Exception as error:  # a failed round is retried at the next interval
                log.warning("verification check failed", error=type(error).__name__)
            await asyncio.sleep(settings.verification_check_interval_s)

    async def check_verification(self, period: timedelta) -> int:
        """One round of VerificationDue notifications; returns how many were raised."""
        assert self._pool is not None
        async with UnitOfWork(self._pool) as uow:
            raised = await raise_verification_due(
                uow.conn, topic=self.settings.topics.name("notification"), period=period,
                now=datetime.now(UTC), page_url=self.settings.provider_public_url)
            if raised:
                await uow.conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
            await uow.commit()
        if raised:
            log.info("verification due raised", fiches=raised)
        return raised

    async def _migrate(self) -> None:
        """Migrate on a connection of its own, which takes the migration lock for its session:
        the pool's connections go back without a session reset
        (:func:`~sync.store.uow.release_quietly`).
        As the owner role when ``migration_database_url`` is set: the service's own role reads
        and writes its tables but cannot change the schema (docs/security.md)."""
        owner = await retry_transient(lambda: owner_connection(self.settings),
                                      what="database-connect")
        try:
            await migrate(owner)
        finally:
            await owner.close()

    async def _open_pool(self) -> asyncpg.Pool:
        return await open_pool(self.settings.database_url, self.settings.database_pool_size,
                               self.settings.database_command_timeout_s)

    async def ensure_topics(self) -> None:
        """Create the topics (and their dead-letter topics) that do not exist yet."""
        async with kafka_transient(self.settings.kafka_bootstrap_servers):
            await ensure_topics(self.settings)

    async def readiness(self) -> dict[str, str | None]:
        """Per check, ``None`` when fine or what is wrong. Bounded: a database that does not
        answer (down, or a half-open connection) is reported after a few seconds. While the
        start waits for the database or the broker, the check concerned says so."""
        checks = await self._database_checks()
        producer = self._producer
        connected = producer is not None and producer.knows_a_broker()
        checks["broker"] = None if connected else "no broker known"
        checks["producer"] = producer.problem() if producer is not None else "not started"
        checks["consumers"] = self._assignment_problem()
        checks["tasks"] = (self._supervisor.problems() if self._supervisor is not None
                           else "not started")
        checks.update(self._waiting)
        return checks

    async def _database_checks(self) -> dict[str, str | None]:
        if self._pool is None:
            return {"database": "not connected yet", "migrations": "unknown"}
        try:
            pending = await asyncio.wait_for(self._pending_migrations(), READINESS_DB_TIMEOUT_S)
        except Exception as error:
            return {"database": f"unreachable: {describe(error)}", "migrations": "unknown"}
        return {"database": None,
                "migrations": f"pending: {', '.join(pending)}" if pending else None}

    async def _pending_migrations(self) -> list[str]:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        async with self._pool.acquire(timeout=READINESS_DB_TIMEOUT_S) as conn:
            return await pending_migrations(conn)

    def _assignment_problem(self) -> str | None:
        if self._broker is None:
            return "not started"
        for subscriber in self._broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None or not consumer.assignment():
                return "a subscriber has no partitions assigned yet"
        return None

    async def stop(self) -> None:
        for server in (self._http, self._console, self._provider):
            if server is not None:
                server.should_exit = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._stages is not None:  # the offsets of the batches applied so far
            for commits in self._stages.commits:
                await commits.flush()
        if self._broker is not None:
            await self._broker.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await close_pool(self._pool)
        log.info("service stopped")
