"""Kafka clients built from settings (security options included), a batched send, and the
shared producer that is replaced when it fails."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeAlias, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

from sync.errors import TransientError
from sync.observability import metrics
from sync.producers.partitioner import KafkaPartitioner
from sync.settings import Settings

__all__ = [
    "Outgoing", "Producer", "PublishFailed", "SharedProducer", "client_options", "new_producer",
    "send_all", "start_producer", "start_within",
]

log = structlog.get_logger(__name__)
Outgoing = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers

#: Errors that say the message itself can never be written (too large, a topic name Kafka
#: refuses, no right to write it): sending it again cannot succeed. Other non-retriable errors
#: (OUT_OF_ORDER_SEQUENCE_NUMBER, a fenced or unknown producer id, a timeout) are the
#: producer's state, not the message's: a new producer sends the same message fine.
TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)
REFUSED = (*TOO_LARGE, InvalidTopicError, TopicAuthorizationFailedError, CorruptRecordException)
#: How long a replaced producer may take to hand over what it still holds before it is dropped.
CLOSE_TIMEOUT_S = 10.0


class PublishFailed(TransientError):
    """A send failed. Transient for the batch (it is retried), but when :attr:`refused` the
    message that caused it can never be written and the relay parks it."""

    def __init__(self, error: KafkaError) -> None:
        super().__init__(f"publish failed: {type(error).__name__}")
        self.error = error

    @property
    def refused(self) -> bool:
        """Whether the broker (or the client) refused a message for what it is."""
        return isinstance(self.error, REFUSED)

    @property
    def too_large(self) -> bool:
        """Whether the message was refused for its size (by the client or the topic)."""
        return isinstance(self.error, TOO_LARGE)


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and admin clients."""
    security = settings.kafka_security
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": security.protocol,
    }
    if security.protocol.startswith("SASL"):
        options["sasl_mechanism"] = security.sasl_mechanism
        options["sasl_plain_username"] = security.sasl_username
        options["sasl_plain_password"] = (
            security.sasl_password.get_secret_value() if security.sasl_password else None)
    if security.protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=security.ssl_cafile)
        if security.ssl_certfile:
            context.load_cert_chain(security.ssl_certfile, security.ssl_keyfile)
        options["ssl_context"] = context
    return options


def new_producer(settings: Settings) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retried send is never written twice. It does not
    linger: a batch of the map stage or the relay is sent whole anyway (every message is
    handed over before the sender runs, which is when the caller first waits), and a lone
    fiche event leaves at once instead of a millisecond later."""
    return AIOKafkaProducer(
        **client_options(settings), enable_idempotence=True, linger_ms=0,
        max_batch_size=256 * 1024, compression_type=None, request_timeout_ms=30000,
        partitioner=KafkaPartitioner(),
    )


class Startable(Protocol):
    """A Kafka client (a producer, a consumer, FastStream's broker): started, then stopped."""

    async def start(self) -> Any: ...

    async def stop(self) -> Any: ...


StartableT = TypeVar("StartableT", bound=Startable)


async def start_within(client: StartableT, seconds: float) -> StartableT:
    """Start ``client``; one that failed or has not started after ``seconds`` is stopped, and
    then a :class:`KafkaTimeoutError` (retriable) is raised for the latter.

    Why: a client whose bootstrap met a broker still starting gets metadata naming no broker.
    aiokafka then keeps only the bootstrap connection to ask again; once that drops, it has
    nobody left to ask, and an idempotent producer waits for its producer id for ever. A new
    client bootstraps afresh."""
    try:
        await asyncio.wait_for(client.start(), seconds)
    except BaseException as error:
        with contextlib.suppress(Exception):
            await client.stop()
        if isinstance(error, TimeoutError):
            raise KafkaTimeoutError(
                f"{type(client).__name__} did not start within {seconds:g} s") from error
        raise
    return client


async def start_producer(settings: Settings) -> AIOKafkaProducer:
    """A started producer of :func:`new_producer`, within ``SKSYNC_KAFKA_START_TIMEOUT_S``:
    for commands that publish with a producer of their own."""
    return await start_within(new_producer(settings), settings.kafka_start_timeout_s)


class SharedProducer:
    """The one producer that the stages and the relay of a process share, replaced by a new
    one (a new producer id) when a send fails for good.

    Why: with idempotence, the producer numbers each partition's batches. A batch it gives up
    on (refused by the broker, or expired while its partition had no leader) has used
    sequence numbers the broker never saw, and every later batch to that partition fails with
    OUT_OF_ORDER_SEQUENCE_NUMBER, for as long as the producer lives. A new producer starts
    its numbering afresh. Errors raised before a message is handed over (too large for the
    client's request size, buffer full) used no sequence number and keep the producer.
    """

    def __init__(self, factory: Callable[[], AIOKafkaProducer], *,
                 start_timeout_s: float) -> None:
        self._factory = factory
        self._start_timeout_s = start_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._problem: str | None = "not started"
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        #: How many times the producer was replaced since start.
        self.replaced = 0

    async def start(self) -> None:
        """Start the first producer (raises when the broker cannot be reached)."""
        async with self._lock:
            await self._start_locked()

    async def stop(self) -> None:
        """Stop the producer, waiting for what it holds to be delivered."""
        async with self._lock:
            producer, self._producer = self._producer, None
            self._problem = "stopped"
        if producer is not None:
            await producer.stop()
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task

    def problem(self) -> str | None:
        """``None`` when a producer is running, else what is wrong (for ``/readyz``)."""
        return self._problem

    def knows_a_broker(self) -> bool:
        """Whether the running producer has metadata naming at least one broker."""
        return self._producer is not None and bool(self._producer.client.cluster.brokers())

    async def send_all(self, messages: Iterable[Outgoing]) -> None:
        """Send every message and wait for the broker's acknowledgement of each; a delivery
        that failed replaces the producer before :class:`PublishFailed` is raised."""
        producer = await self._running()
        try:
            futures = [await producer.send(topic, value=value, key=key, headers=headers)
                       for topic, key, value, headers in messages]
        except KafkaError as error:  # refused before it was handed over: no sequence used
            raise PublishFailed(error) from error
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is None:
            return
        if not isinstance(failed, KafkaError):
            raise failed
        await self._replace(producer, failed)
        raise PublishFailed(failed) from failed

    async def _running(self) -> AIOKafkaProducer:
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    try:
                        await self._start_locked()
                    except KafkaError as error:
                        raise PublishFailed(error) from error
        assert self._producer is not None
        return self._producer

    async def _start_locked(self) -> None:
        try:
            producer = await start_within(self._factory(), self._start_timeout_s)
        except BaseException as error:
            self._problem = f"cannot start a producer: {type(error).__name__}"
            raise
        self._producer = producer
        self._problem = None
        metrics.PRODUCER_UP.set(1)

    async def _replace(self, failed: AIOKafkaProducer, error: KafkaError) -> None:
        """Swap ``failed`` for a new producer, unless another sender did already."""
        async with self._lock:
            if self._producer is not failed:
                return
            self._producer = None
            self._problem = f"replacing a failed producer ({type(error).__name__})"
            self.replaced += 1
            metrics.PRODUCER_UP.set(0)
            metrics.PRODUCER_REPLACED.labels(type(error).__name__).inc()
            log.warning("producer failed, replacing it", error=type(error).__name__)
            task = asyncio.create_task(_close(failed))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            with contextlib.suppress(KafkaError):  # the next send tries again; /readyz says so
                await self._start_locked()


async def _close(producer: AIOKafkaProducer) -> None:
    """Stop a replaced producer, bounded: its remaining batches may never be accepted."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), CLOSE_TIMEOUT_S)


#: What :func:`send_all` sends with: a producer of its own (CLI commands, tests) or the
#: service's shared one.
Producer: TypeAlias = AIOKafkaProducer | SharedProducer


async def send_all(producer: Producer, messages: Iterable[Outgoing]) -> None:
    """Send every message and wait until the broker has acknowledged all of them; a failure
    raises :class:`PublishFailed` (a :class:`TransientError`)."""
    if isinstance(producer, SharedProducer):
        await producer.send_all(messages)
        return
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for topic, key, value, headers in messages
        ]
        await asyncio.gather(*futures)
    except KafkaError as error:
        raise PublishFailed(error) from error
