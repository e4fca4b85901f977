"""``sksync index``: a consumer of ``sk.fiche.event`` that keeps the search index current.

Its own consumer group (``<group>.index``); it reads nothing but the fiche events. Per batch:
decode, keep the newest version per fiche, one versioned bulk write, then commit the offsets:
a crash means redelivery, which the external versions make harmless. OpenSearch being away or
overloaded is waited out (backoff, nothing committed); a document OpenSearch refuses and a
message that is not a fiche event are logged with their position and counted, never retried.

A rebuild (``--rebuild``, one indexer, none other running) fills a new index from the topic's
beginning while searches go on using the old one, and moves the alias to it once it has read as
far as the topic reached when the rebuild began.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import TransportError
from tenacity import AsyncRetrying, retry_if_exception, stop_never, wait_random_exponential

from sync.observability.metrics import CONSUMER_LAG
from sync.ops.lag import group_lag, offsets
from sync.producers.kafka import client_options, start_within
from sync.retry import retry_transient
from sync.search import metrics
from sync.search.document import IndexAction, index_action
from sync.search.settings import SearchSettings, index_group
from sync.search.writer import (
    TransientWriteError,
    ensure_index,
    new_index,
    newest,
    point_alias,
    write,
)
from sync.settings import Settings
from sync.startup import kafka_transient, unless_stopped

__all__ = ["Indexer", "search_client"]

log = structlog.get_logger(__name__)

#: How long a stopping indexer lets its batch under way finish, and its consumer leave.
STOP_GRACE_S = 10.0


def search_client(search: SearchSettings) -> OpenSearch:
    """A client of the search engine (timeouts bounded; retries are the indexer's)."""
    return OpenSearch(hosts=[search.url], timeout=30, max_retries=0)


def _transient(error: BaseException) -> bool:
    if isinstance(error, TransientWriteError | SearchConnectionError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, TransportError) and (status == 429 or not isinstance(status, int)
                                                  or status >= 500)


class Indexer:
    """The consumer; :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: Settings, search: SearchSettings, *, rebuild: bool = False):
        self.settings, self.search, self.rebuild = settings, search, rebuild
        self.group = index_group(settings)
        self.topic = settings.topics.name("fiche_event")
        self.client = search_client(search)
        self.target = search.index  # the concrete index written to, known once run() starts
        self._rebuilding: dict[TopicPartition, int] | None = None  # ends to reach, in a rebuild
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Create the index if needed (a fresh one for a rebuild), then consume until
        :meth:`stop`. What it waits for at the start (the engine, the broker) is given up when
        the stop comes first, and so is a batch still waiting for them after
        :data:`STOP_GRACE_S`."""
        started = await unless_stopped(self._stopping, self._start())
        if started is None:
            return
        consumer = started.result()
        lag = asyncio.create_task(self._watch_lag())
        log.info("indexer started", group=self.group, topic=self.topic, index=self.search.index,
                 rebuild=self.rebuild)
        try:
            # A stop lets the batch under way finish, for a while: one whose writes or commit
            # wait for the engine or the broker is then given up uncommitted (delivered again
            # at the next start, which versions make harmless), not waited for until they come.
            consumed = await unless_stopped(self._stopping, self._consume(consumer),
                                            grace_s=STOP_GRACE_S)
            if consumed is not None:
                consumed.result()
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            with contextlib.suppress(Exception):  # a broker away: the group notices anyway
                await asyncio.wait_for(consumer.stop(), STOP_GRACE_S)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=self.search.batch_size)
            records = [record for part in batches.values() for record in part]
            if records:
                await self._index(records)
                await self._commit(consumer)
            if self._rebuilding is not None and await self._caught_up(consumer):
                await self._switch()

    async def _start(self) -> AIOKafkaConsumer:
        make = new_index if self.rebuild else ensure_index
        self.target = await self._retry(lambda: asyncio.to_thread(
            make, self.client, self.search.index, self.search.replicas), "create-index")
        if self.rebuild:
            self._rebuilding = await self._from_the_beginning()
        return await retry_transient(self._start_consumer, what="kafka-connect",
                                     max_backoff_s=self.settings.retry_max_backoff_s)

    async def _start_consumer(self) -> AIOKafkaConsumer:
        """The group's consumer, subscribed and started; an attempt that fails or takes longer
        than ``SKSYNC_KAFKA_START_TIMEOUT_S`` (a broker away, or still starting) is a
        :class:`~sync.errors.TransientError`, its consumer stopped."""
        consumer = AIOKafkaConsumer(
            **client_options(self.settings), group_id=self.group, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_committed",
            max_poll_records=self.search.batch_size)
        consumer.subscribe([self.topic])
        async with kafka_transient(self.settings.kafka_bootstrap_servers):
            return await start_within(consumer, self.settings.kafka_start_timeout_s)

    async def _from_the_beginning(self) -> dict[TopicPartition, int]:
        """Commit the beginning of every partition for the group (no member may be running);
        returns the partitions' ends: the rebuilt index is complete once they are reached."""
        known = await offsets(self.settings, [self.topic])
        begins = {tp: begin for tp, (begin, _end) in known.items()}
        if not begins:
            return {}
        consumer = AIOKafkaConsumer(**client_options(self.settings), group_id=self.group,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(begins))
            await consumer.commit(dict(begins.items()))
        finally:
            await consumer.stop()
        return {tp: end for tp, (_begin, end) in known.items()}

    async def _caught_up(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether this (single) indexer has read the topic up to where the rebuild began."""
        assert self._rebuilding is not None
        held = consumer.assignment()
        for tp, end in self._rebuilding.items():
            if tp not in held or await consumer.position(tp) < end:
                return False
        return True

    async def _switch(self) -> None:
        """Searches move to the rebuilt index in one step; the old one is deleted."""
        await self._retry(lambda: asyncio.to_thread(
            point_alias, self.client, self.search.index, self.target), "switch-alias")
        log.info("rebuilt index in use", alias=self.search.index, index=self.target)
        self._rebuilding = None

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        try:
            await consumer.commit()
        except CommitFailedError:
            # The group moved on while OpenSearch was waited out (a rebalance): the batch
            # comes again to whoever holds the partitions now, and versions make that harmless.
            log.warning("offsets not committed after a rebalance; the batch will be redelivered")

    async def _index(self, records: list[Any]) -> None:
        actions: list[IndexAction] = []
        for record in records:
            action = self._decode(record)
            if action is not None:
                actions.append(action)
        kept = newest(actions)
        result = await self._retry(lambda: asyncio.to_thread(
            write, self.client, self.target, kept), "bulk")
        metrics.INDEXED.labels("indexed").inc(result.indexed)
        metrics.INDEXED.labels("stale").inc(result.stale + len(actions) - len(kept))
        metrics.INDEXED.labels("refused").inc(len(result.refused))
        for reason in result.refused:
            log.error("document refused by the search engine", detail=reason)
        metrics.LAST_INDEXED.set(time.time())

    def _decode(self, record: Any) -> IndexAction | None:
        try:
            action = index_action(json.loads(record.value))
        except (ValueError, KeyError, TypeError) as error:
            metrics.INDEXED.labels("refused").inc()
            log.error("not a fiche event", topic=record.topic, partition=record.partition,
                      offset=record.offset, error=type(error).__name__)
            return None
        if action is None:
            metrics.INDEXED.labels("skipped").inc()
        return action

    async def _retry(self, operation: Any, what: str) -> Any:
        """Wait out what may pass (engine away, overloaded), for as long as it takes."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_transient), stop=stop_never, reraise=True,
            wait=wait_random_exponential(multiplier=0.2, max=30),
            before_sleep=lambda state: log.warning(
                "search engine unavailable, retrying", operation=what,
                error=str(state.outcome.exception() if state.outcome else "")[:200]),
        ):
            with attempt:
                return await operation()
        raise AssertionError("unreachable: stop_never")

    async def _watch_lag(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a lag reading that fails is retried next time
                for row in await group_lag(self.settings, self.group, [self.topic]):
                    CONSUMER_LAG.labels(self.group, row.topic, str(row.partition)).set(row.lag)
            await asyncio.sleep(self.search.lag_interval_s)
