"""What the start refuses, and which start-up failures it waits out.

Outside the local stack (``SKSYNC_ENVIRONMENT=local``) the service handles protected data and
feeds a public registry: a publicly known SSIN key would let anyone test guessed SSINs against
the stored hashes, and a topic with one replica (or one in-sync replica) loses acknowledged
events with one disk. The start refuses both with one line, before anything connects.

A broker that is away at start-up is different: it may come. Its errors are translated into
:class:`TransientError` so that the start waits for it with backoff, for as long as no stop
comes (:func:`unless_stopped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import string
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiokafka.errors import KafkaError, KafkaTimeoutError

from sync.errors import TransientError
from sync.settings import Settings

__all__ = ["MIN_SECRET_BYTES", "StartRefused", "kafka_transient", "refuse_unsafe",
           "start_problem", "unless_stopped"]

T = TypeVar("T")

#: Random bytes an SSIN key needs outside the local stack (HMAC-SHA256's block of security).
MIN_SECRET_BYTES = 32
#: Replication that survives one broker lost without losing or refusing acknowledged writes.
MIN_REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
_PUBLIC_DEFAULT = "change-me-in-production"
_GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class StartRefused(RuntimeError):
    """The configuration (or the cluster) does not allow a safe start; ``str()`` is one line
    for the operator. Never retried."""


def _random_bits(secret: str) -> float:
    """A generous estimate of the randomness in ``secret``: each character counts for the
    smallest usual alphabet that holds all of them (hex, base64, printable ASCII), and a
    secret of very few distinct characters counts for nothing."""
    chars = set(secret)
    if len(chars) < 8:
        return 0.0
    alphabets = (string.hexdigits.lower(), string.hexdigits.upper(),
                 string.ascii_letters + string.digits + "+/=-_", string.printable.strip())
    size = next((len(set(a)) for a in alphabets if chars <= set(a)), 256)
    return len(secret) * math.log2(size)


def _secret_problem(settings: Settings) -> str | None:
    secret = settings.ssin_secret.get_secret_value()
    if secret == _PUBLIC_DEFAULT:
        return "SKSYNC_SSIN_SECRET is not set (its default is public)"
    if _random_bits(secret) < MIN_SECRET_BYTES * 8:
        return f"SKSYNC_SSIN_SECRET holds fewer than {MIN_SECRET_BYTES} random bytes"
    return None


def _replication_problem(settings: Settings) -> str | None:
    if settings.topic_replication_factor < MIN_REPLICATION_FACTOR:
        return (f"SKSYNC_TOPIC_REPLICATION_FACTOR is {settings.topic_replication_factor}; "
                f"at least {MIN_REPLICATION_FACTOR} replicas are needed so that losing a "
                "broker loses no event")
    if settings.topic_min_insync_replicas < MIN_INSYNC_REPLICAS:
        return (f"SKSYNC_TOPIC_MIN_INSYNC_REPLICAS is {settings.topic_min_insync_replicas}; "
                f"at least {MIN_INSYNC_REPLICAS} are needed so that an acknowledged write is "
                "on two brokers")
    return None


def start_problem(settings: Settings) -> str | None:
    """Why ``settings`` may not start the service, as one line; ``None`` when they may."""
    if settings.topic_min_insync_replicas > settings.topic_replication_factor:
        return (f"refusing to start: SKSYNC_TOPIC_MIN_INSYNC_REPLICAS "
                f"({settings.topic_min_insync_replicas}) exceeds SKSYNC_TOPIC_REPLICATION_FACTOR "
                f"({settings.topic_replication_factor}): no write could ever be acknowledged")
    if settings.environment == "local":
        return None
    secret = _secret_problem(settings)
    if secret is not None:
        return (f"refusing to start: {secret}; outside the local stack "
                f"(SKSYNC_ENVIRONMENT=local) set it to at least {MIN_SECRET_BYTES} random "
                f"bytes, e.g. the output of: {_GENERATE}")
    replication = _replication_problem(settings)
    if replication is not None:
        return f"refusing to start: {replication} (only SKSYNC_ENVIRONMENT=local may use fewer)"
    return None


def refuse_unsafe(settings: Settings) -> None:
    """Raise :class:`StartRefused` when :func:`start_problem` names one."""
    problem = start_problem(settings)
    if problem is not None:
        raise StartRefused(problem)


@asynccontextmanager
async def kafka_transient(where: str) -> AsyncIterator[None]:
    """Re-raise the broker errors that may pass by waiting (no connection, a timeout, a broker
    not ready, any error Kafka marks retriable) as :class:`TransientError` naming ``where``."""
    try:
        yield
    except KafkaError as error:
        if error.retriable or isinstance(error, KafkaTimeoutError):
            raise TransientError(f"Kafka at {where}: {error}") from error
        raise


async def unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, T],
                         grace_s: float = 0.0) -> asyncio.Task[T] | None:
    """Await ``work`` (a start that may wait long for a broker or a database, a loop) unless
    ``stop`` is set first, then for ``grace_s`` more at most: its finished task (``.result()``
    returns or raises what it did), or ``None`` once it was cancelled for the stop."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and grace_s > 0:
            await asyncio.wait({task}, timeout=grace_s)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task
