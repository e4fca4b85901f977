"""The apply subscriber: canonical updates in, one transaction per batch, offsets after commit."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.observability import metrics
from sync.producers.dlq import DeadLetter, dead_letter, send_dead_letters
from sync.producers.kafka import Outgoing, Producer
from sync.retry import retry_transient
from sync.settings import Settings
from sync.store.apply import Applier, ApplyResult

__all__ = ["AUDIT_HEADER", "ApplyStage", "is_audit_copy", "transaction_groups"]

log = structlog.get_logger(__name__)
Record = Any  # aiokafka.ConsumerRecord; aiokafka ships no type information
#: Marks an update on ``sk.fiche.update`` that its mapping process applied itself (the audit
#: stream, ``SKSYNC_AUDIT_UPDATES``): the apply subscriber skips it without parsing it.
AUDIT_HEADER = "sksync-audit"


def is_audit_copy(record: Record) -> bool:
    """Whether ``record`` is an audit copy of an update that was applied where it was mapped."""
    return any(key == AUDIT_HEADER for key, _ in record.headers or ())


def transaction_groups(records: Sequence[Record], size: int) -> list[list[int]]:
    """The positions of ``records`` (in order) grouped for the transactions of a large batch:
    by partition, and a partition with more than ``size`` records split by message key into
    that many groups of about ``size`` (0: no split). A key's records stay in one group, in
    order, as they stay in one partition: a fiche's updates share a key."""
    by_partition: dict[tuple[str, int], list[int]] = {}
    for position, record in enumerate(records):
        by_partition.setdefault((record.topic, record.partition), []).append(position)
    groups: list[list[int]] = []
    for positions in by_partition.values():
        count = math.ceil(len(positions) / size) if size else 1
        if count <= 1:
            groups.append(positions)
            continue
        split: list[list[int]] = [[] for _ in range(count)]
        for position in positions:
            split[zlib.crc32(records[position].key or b"") % count].append(position)
        groups += [group for group in split if group]
    return groups


@dataclass
class ApplyStage:
    """Parses, applies (retrying transient failures) and dead-letters what cannot be applied."""

    settings: Settings
    applier: Applier
    producer: Producer
    _batches: int = 0

    async def handle(self, records: Sequence[Record]) -> None:
        """Updates read from ``sk.fiche.update``: parsed (audit copies skipped unread),
        applied, what cannot be applied dead-lettered; the caller commits after."""
        parsed: list[tuple[Record, FicheUpdate]] = []
        dead: list[Outgoing] = []
        for topic, count in Counter(record.topic for record in records).items():
            metrics.CONSUMED.labels(topic).inc(count)
        for record in records:
            if is_audit_copy(record):  # applied already, by the process that mapped it
                continue
            try:
                parsed.append((record, FicheUpdate.model_validate_json(record.value or b"")))
            except ValidationError as error:
                reason = PermanentError("schema-invalid", f"{error.error_count()} errors")
                dead.append(self._dead(record, reason))
        applied = await self.apply(parsed, together=self.together(records))
        dead += [letter for _, letter in applied]
        await self.send_dead_letters(dead)
        self.crash_point()

    def together(self, records: Sequence[Record]) -> bool:
        """Whether a batch of ``records`` is small enough to be applied in one transaction
        (``SKSYNC_APPLY_ONE_TRANSACTION_BELOW``) rather than one per group of a partition's
        records (:func:`transaction_groups`)."""
        return len(records) < self.settings.apply_one_transaction_below

    def transactions(self, records: Sequence[Record]) -> list[list[int]]:
        """The positions of ``records`` applied in each transaction: all in one for a small
        batch (:meth:`together`), else per group of a partition's records
        (:func:`transaction_groups`)."""
        if self.together(records):
            return [list(range(len(records)))]
        return transaction_groups(records, self.settings.apply_records_per_transaction)

    async def apply(
        self, pairs: list[tuple[Record, FicheUpdate]], *, together: bool = False,
    ) -> list[tuple[Record, Outgoing]]:
        """Apply each record's updates (a source record may map to several, an
        ``sk.fiche.update`` record holds one), observe the outcomes and return one dead
        letter, to ``record.topic``'s DLQ, per record with an update that was rejected
        (with its record). ``together``: in one transaction, else one per group of a
        partition's records (:func:`transaction_groups`). Nothing is sent here: the caller
        sends the letters before the offsets are committed."""
        results = (await self._apply([update for _, update in pairs]) if together
                   else await self._apply_by_group(pairs))
        outcomes: Counter[tuple[str, str, str]] = Counter()
        dead: dict[int, tuple[Record, Outgoing]] = {}
        now = datetime.now(UTC)
        for (record, _), result in zip(pairs, results, strict=True):
            outcomes[(record.topic, result.update.source.value, result.outcome)] += 1
            self._observe(record, result, now)
            if result.error is not None and id(record) not in dead:
                dead[id(record)] = (record, self._dead(record, result.error))
        # Counted once per batch and label set, as the map stage does.
        for (topic, source, outcome), count in outcomes.items():
            metrics.OUTCOMES.labels(topic, source, outcome).inc(count)
        return list(dead.values())

    async def send_dead_letters(self, dead: list[Outgoing]) -> None:
        """Send ``dead`` and wait for the broker's acknowledgement (transient failures retried)."""
        if dead:
            await retry_transient(lambda: send_dead_letters(self.producer, dead),
                                  what="dlq-publish",
                                  max_backoff_s=self.settings.retry_max_backoff_s)

    async def _apply_by_group(
        self, parsed: list[tuple[Record, FicheUpdate]],
    ) -> list[ApplyResult]:
        """Each group of a partition's updates (:func:`transaction_groups`) in a transaction of
        its own, the transactions at once.

        A fiche's updates share a key, hence a partition and a group, so each fiche's
        updates stay in one transaction and in order; updates of different groups that meet
        on one fiche (different sources) are serialised by its row lock, and their order does
        not matter (the merge is order independent). Apply time is the database's and the
        service's turn by turn: overlapping the transactions is what keeps both busy. The
        caller commits the offsets only after every transaction has committed."""
        batches = transaction_groups([record for record, _ in parsed],
                                     self.settings.apply_records_per_transaction)
        applied = await asyncio.gather(*(
            self._apply([parsed[i][1] for i in positions]) for positions in batches))
        results: list[ApplyResult | None] = [None] * len(parsed)
        for positions, outcome in zip(batches, applied, strict=True):
            for position, result in zip(positions, outcome, strict=True):
                results[position] = result
        return [result for result in results if result is not None]

    def crash_point(self) -> None:
        """Fault injection: die between the database commit and the offset commit."""
        limit = self.settings.fault_kill_after_apply_batches
        if limit:
            self._batches += 1
            if self._batches >= limit:
                log.warning("fault injection: killing the process before the offset commit")
                os.kill(os.getpid(), signal.SIGKILL)

    async def _apply(self, updates: list[FicheUpdate]) -> list[ApplyResult]:
        if not updates:
            return []
        started = time.perf_counter()
        try:
            results = await self._apply_retrying(updates)
        except Exception:  # a defect in one update must not stop the stream: isolate it
            log.exception("batch failed unexpectedly; applying its updates one by one")
            results = [await self._apply_alone(update) for update in updates]
        metrics.APPLY_LATENCY.observe(time.perf_counter() - started)
        return results

    async def _apply_retrying(self, updates: list[FicheUpdate]) -> list[ApplyResult]:
        return await retry_transient(
            lambda: self.applier.apply(updates), what="apply",
            max_backoff_s=self.settings.retry_max_backoff_s,
            give_up_after=self.settings.retry_max_attempts_deterministic)

    async def _apply_alone(self, update: FicheUpdate) -> ApplyResult:
        """One update of a batch that failed; what fails here is that update's own defect."""
        try:
            [result] = await self._apply_retrying([update])
            return result
        except PermanentError as error:  # a failure that repeated identically: RepeatedFailure
            failure = error
        except Exception as error:
            failure = PermanentError("internal-error", type(error).__name__)
        return ApplyResult(update, "rejected", reason=failure.reason, error=failure)

    def _observe(self, record: Record, result: ApplyResult, now: datetime) -> None:
        update = result.update
        source = update.source.value
        if result.outcome in ("applied", "unchanged"):
            metrics.LAST_APPLY.labels(source).set(now.timestamp())
            if update.origin.time is not None:
                metrics.EVENT_AGE.labels(source).observe(
                    max(0.0, (now - update.origin.time).total_seconds()))
        if result.event_type in ("deactivated",) or result.outcome in ("refused", "stale"):
            log.info(f"update {result.outcome}", event_id=update.origin.id, source=source,
                     topic=record.topic, partition=record.partition, offset=record.offset,
                     fiche_id=str(result.fiche_id) if result.fiche_id else None,
                     event_type=result.event_type, reason=result.reason)

    def _dead(self, record: Record, error: PermanentError) -> Outgoing:
        dlq = self.settings.topics.dlq(record.topic)
        log.warning("dead-lettered", reason=error.reason, detail=error.detail, topic=record.topic,
                    partition=record.partition, offset=record.offset, dlq=dlq)
        metrics.DEAD_LETTERS.labels(record.topic, error.reason).inc()
        return dead_letter(record, DeadLetter(error.reason, error.detail, "PermanentError"), dlq)
