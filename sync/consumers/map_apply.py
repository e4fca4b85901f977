"""One hop: source records mapped and applied in the same process, when it runs both stages.

The updates a batch maps to go straight to the apply stage as the models the mappers built:
no message on ``sk.fiche.update``, no second consumer, no JSON to parse and validate again.
An update that cannot be applied dead-letters its *source record* (to the source topic's DLQ),
so that a replay goes through this same path. The caller commits the source offsets only
after the database transactions committed and the broker acknowledged every dead letter,
notice and (with ``SKSYNC_AUDIT_UPDATES``) audit copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from sync.consumers.apply import AUDIT_HEADER, ApplyStage
from sync.consumers.source import Mapped, Record, SourceStage, as_message
from sync.events import FicheUpdate
from sync.producers.kafka import Outgoing, PublishFailed, send_all
from sync.retry import retry_transient

__all__ = ["Abandoned", "After", "Applying", "MapApplyStage"]

log = structlog.get_logger(__name__)
AUDIT_COPY = (AUDIT_HEADER, b"1")


#: Each record with an update that was rejected, and its dead letter.
Letters = list[tuple[Record, Outgoing]]
#: Per topic partition, the transaction a partition's next one waits for (``None``: none).
After = Callable[[tuple[str, int]], "asyncio.Future[Any] | None"] | None


class Abandoned(Exception):
    """A transaction not started because the one before it on its partition failed: its
    records are delivered again, after those of the failed one."""


@dataclass
class Applying:
    """A mapped batch whose partitions' transactions are under way."""

    mapped: list[Mapped]
    #: Per topic partition, its transaction: the rejected records' dead letters.
    transactions: dict[tuple[str, int], asyncio.Task[Letters]]


def _by_partition(records: Sequence[Record]) -> list[list[Record]]:
    """``records`` grouped by topic partition, each group in offset order."""
    groups: dict[tuple[str, int], list[Record]] = {}
    for record in records:
        groups.setdefault((record.topic, record.partition), []).append(record)
    return list(groups.values())


@dataclass
class MapApplyStage:
    """Maps a batch of source records, applies what they map to, then sends what must be sent."""

    source: SourceStage
    apply: ApplyStage
    #: Publish the applied updates on ``sk.fiche.update`` too, marked as audit copies.
    audit: bool = False

    async def handle(self, records: Sequence[Record]) -> None:
        """Map, apply, send dead letters and notices (and audit copies); the caller commits."""
        await self.conclude(await self.begin(records))

    async def begin(self, records: Sequence[Record], after: After = None) -> Applying:
        """Map each partition's records and start its transaction, which waits for ``after``
        (the same partition's transaction of the batch before, when one is in flight) to
        commit: a fiche's updates are applied in the order of its partition. Mapping is CPU,
        applying mostly waits for the database, so a partition's transaction runs while the
        next partition is mapped (and while the next batch is fetched and mapped)."""
        mapped: list[Mapped] = []
        applying: dict[tuple[str, int], asyncio.Task[Letters]] = {}
        for partition in _by_partition(records):
            part = self.source.map(partition)
            mapped += part
            pairs = [(record, update) for record, updates, _ in part for update in updates]
            key = (partition[0].topic, partition[0].partition)
            previous = after(key) if after is not None else None
            applying[key] = asyncio.create_task(self._apply_after(previous, pairs))
            await asyncio.sleep(0)  # let its first statement leave before mapping on
        return Applying(mapped, applying)

    async def conclude(self, applying: Applying) -> None:
        """Wait for the batch's transactions, then send dead letters and notices (and audit
        copies), waiting for the broker's acknowledgement; the caller commits the offsets.
        Raises the first failure of a transaction, after all of them ended."""
        outcomes = await asyncio.gather(*applying.transactions.values(), return_exceptions=True)
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failed:
            raise failed[0]
        rejected = {id(record): [letter]
                    for letters in outcomes if not isinstance(letters, BaseException)
                    for record, letter in letters}
        # Each record with its messages: one the broker refuses is then handled per record.
        translated = [(record, other + rejected.get(id(record), []))
                      for record, _, other in applying.mapped if other or id(record) in rejected]
        if translated:
            await retry_transient(lambda: self.source.publish(translated), what="map-publish",
                                  max_backoff_s=self.source.settings.retry_max_backoff_s)
        if self.audit:
            await self._audit([update for _, updates, _ in applying.mapped for update in updates])
        self.apply.crash_point()

    async def _apply_after(
        self, previous: asyncio.Future[Any] | None, pairs: list[tuple[Record, FicheUpdate]],
    ) -> Letters:
        if previous is not None:
            await asyncio.wait([previous])
            if previous.cancelled() or previous.exception() is not None:
                raise Abandoned("the partition's previous transaction failed")
        return await self.apply.apply(pairs)

    async def _audit(self, updates: list[FicheUpdate]) -> None:
        """The applied updates on ``sk.fiche.update``, marked so that no one applies them
        again. A copy the broker refuses for what it is (too large) is left out with a
        warning: its update is applied, and the audit stream is not worth a dead letter."""
        topic = self.source.settings.topics.name("fiche_update")
        messages = [as_message(topic, update, AUDIT_COPY) for update in updates]

        async def send() -> None:
            try:
                await send_all(self.source.producer, messages)
            except PublishFailed as failure:
                if not failure.refused:
                    raise
                for message in messages:
                    await self._audit_alone(message)

        if messages:
            await retry_transient(send, what="audit-publish",
                                  max_backoff_s=self.source.settings.retry_max_backoff_s)

    async def _audit_alone(self, message: Outgoing) -> None:
        try:
            await send_all(self.source.producer, [message])
        except PublishFailed as failure:
            if not failure.refused:
                raise
            log.warning("audit copy refused by the broker", topic=message[0],
                        update_id=message[3][0][1].decode(), error=type(failure.error).__name__)
