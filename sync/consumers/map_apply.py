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
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from sync.consumers.apply import AUDIT_HEADER, ApplyStage
from sync.consumers.source import Mapped, Record, SourceStage, as_message
from sync.events import FicheUpdate
from sync.producers.kafka import Outgoing, PublishFailed, send_all
from sync.retry import retry_transient

__all__ = ["MapApplyStage"]

log = structlog.get_logger(__name__)
AUDIT_COPY = (AUDIT_HEADER, b"1")


@dataclass
class MapApplyStage:
    """Maps a batch of source records, applies what they map to, then sends what must be sent."""

    source: SourceStage
    apply: ApplyStage
    #: Publish the applied updates on ``sk.fiche.update`` too, marked as audit copies.
    audit: bool = False

    async def handle(self, records: Sequence[Record]) -> None:
        """Map, apply, send dead letters and notices (and audit copies); the caller commits."""
        mapped, rejected = await self._map_and_apply(records)
        # Each record with its messages: one the broker refuses is then handled per record.
        translated = [(record, other + rejected.get(id(record), []))
                      for record, _, other in mapped if other or id(record) in rejected]
        if translated:
            await retry_transient(lambda: self.source.publish(translated), what="map-publish",
                                  max_backoff_s=self.source.settings.retry_max_backoff_s)
        if self.audit:
            await self._audit([update for _, updates, _ in mapped for update in updates])
        self.apply.crash_point()

    async def _map_and_apply(
        self, records: Sequence[Record],
    ) -> tuple[list[Mapped], dict[int, list[Outgoing]]]:
        """Each transaction's records (:meth:`ApplyStage.transactions`: the whole of a small
        batch, else a group of a partition's records) mapped, then applied while the next
        group is mapped: mapping is CPU, applying waits for the database in turns (the
        transactions overlap as in :meth:`ApplyStage.apply`). Returns what was mapped, and the
        dead letter of each record with an update that was rejected."""
        mapped: list[Mapped] = []
        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            applying = []
            for positions in self.apply.transactions(records):
                part = self.source.map([records[i] for i in positions])
                mapped += part
                pairs = [(record, update) for record, updates, _ in part for update in updates]
                # A group is one transaction's worth already.
                applying.append(group.create_task(self.apply.apply(pairs, together=True)))
                await asyncio.sleep(0)  # let its first statement leave before mapping on
        rejected = {id(record): [letter]
                    for task in applying for record, letter in task.result()}
        return mapped, rejected

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
