"""Source subscribers: decode, map and hand over (to ``sk.fiche.update``, or to the apply stage
in the same process: :mod:`sync.consumers.map_apply`). No SQL, no rules."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from sync.cloudevents import CloudEvent, decode, with_masked_id
from sync.emitted import edit_refused
from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.observability import metrics
from sync.producers.dlq import DeadLetter, dead_letter, send_dead_letters
from sync.producers.kafka import Outgoing, Producer, PublishFailed, send_all
from sync.retry import retry_transient
from sync.settings import Settings
from sync.sources import map_masked

__all__ = ["Mapped", "SourceStage", "as_message"]

log = structlog.get_logger(__name__)
Record = Any  # aiokafka.ConsumerRecord; aiokafka ships no type information
#: A source record, the updates it maps to, and what else it sends (its dead letter and the
#: notice to its editor, when it cannot be mapped).
Mapped = tuple[Record, list[FicheUpdate], list[Outgoing]]


def as_message(topic: str, update: FicheUpdate, *headers: tuple[str, bytes]) -> Outgoing:
    """``update`` as a message on ``topic``, keyed by its fiche, with its id as ``ce_id``."""
    return (topic, update.key.encode(), update.model_dump_json(by_alias=True).encode(),
            [("ce_id", str(update.update_id).encode()), *headers])


@dataclass
class SourceStage:
    """Maps a batch of source records and hands the results over; the caller commits after."""

    settings: Settings
    producer: Producer
    context: MappingContext

    async def handle(self, records: Sequence[Record]) -> None:
        """Map ``records`` and publish their updates on ``sk.fiche.update`` (the two-hop path,
        when this process does not apply)."""
        topic = self.settings.topics.name("fiche_update")
        translated = [(record, [*(as_message(topic, update) for update in updates), *other])
                      for record, updates, other in self.map(records)]
        await retry_transient(lambda: self.publish(translated), what="map-publish",
                              max_backoff_s=self.settings.retry_max_backoff_s)

    def map(self, records: Sequence[Record]) -> list[Mapped]:
        """Each record with the updates it maps to, or with its dead letter (and the notice
        to its editor) when it cannot be mapped; counted once per batch."""
        counted: Counter[tuple[str, str]] = Counter()
        mapped = [self._translate(record, counted) for record in records]
        # Counted once per batch and label set: a labelled increment per record costs more
        # than the mapping of a small event.
        for topic, count in Counter(record.topic for record in records).items():
            metrics.CONSUMED.labels(topic).inc(count)
        for (topic, source), count in counted.items():
            metrics.OUTCOMES.labels(topic, source, "mapped").inc(count)
        return mapped

    async def publish(self, translated: list[tuple[Record, list[Outgoing]]]) -> None:
        """Send what the records map to. When the broker refuses a message for what it is
        (too large for ``sk.fiche.update``, say), sending it again can never succeed: each
        record's messages are then sent alone, in order, and a record with a refused message
        is dead-lettered instead; the others' messages are published."""
        try:
            await send_all(self.producer, [m for _, messages in translated for m in messages])
        except PublishFailed as failure:
            if not failure.refused:
                raise
            for record, messages in translated:
                await self._publish_alone(record, messages)

    async def _publish_alone(self, record: Record, messages: list[Outgoing]) -> None:
        """Send one record's messages one by one (messages of the batch written before the
        refusal are written again, with the same ids: the apply stage dedupes on them)."""
        dlq = self.settings.topics.dlq(record.topic)
        refused: list[tuple[Outgoing, PublishFailed]] = []
        for message in messages:
            if message[0] == dlq:
                await send_dead_letters(self.producer, [message])  # shortened if need be
                continue
            try:
                await send_all(self.producer, [message])
            except PublishFailed as failure:
                if not failure.refused:
                    raise
                refused.append((message, failure))
        if not refused:
            return
        bound = self._bound(record, None)
        if any(message[0] == dlq for message in messages):
            # Dead-lettered already; what was refused is the editor's notice of it.
            bound.warning("notice refused by the broker", topic=refused[0][0][0],
                          error=type(refused[0][1].error).__name__)
            return
        (topic, _, value, _), refusal = refused[0]
        error = PermanentError(
            "too-large" if refusal.too_large else "refused",
            f"{topic} refused a message of {len(value)} bytes that the event maps to "
            f"({type(refusal.error).__name__})")
        await send_dead_letters(self.producer, [self._dead(record, error, bound)])

    def _translate(self, record: Record, counted: Counter[tuple[str, str]]) -> Mapped:
        event = None
        try:
            # Masked at once: its id goes into log lines and notifications below.
            event = with_masked_id(decode(record.value), self.context.ssin_secret)
            updates = map_masked(event, self.context)
        except PermanentError as error:
            bound = self._bound(record, event)
            return record, [], [self._dead(record, error, bound), *self._tell_editor(event, error)]
        except Exception as error:  # a defect must not stop the stream: park the message
            bound = self._bound(record, event)
            bound.exception("mapping failed unexpectedly")
            return record, [], [self._dead(record, PermanentError("internal-error",
                                                                  type(error).__name__), bound)]
        counted[(record.topic, updates[0].source.value if updates else "")] += 1
        return record, updates, []

    @staticmethod
    def _bound(record: Record, event: CloudEvent | None) -> structlog.BoundLogger:
        """A logger bound to the message (and its event, once decoded): only built when there
        is something to log, which is rare."""
        bound: structlog.BoundLogger = log.bind(
            topic=record.topic, partition=record.partition, offset=record.offset)
        if event is not None:
            bound = bound.bind(event_id=event.id, source=event.source)
        return bound

    def _tell_editor(self, event: CloudEvent | None, error: PermanentError) -> list[Outgoing]:
        """A refused hand edit is dead-lettered *and* its editor is told why."""
        if event is None:
            return []
        notice = edit_refused(event.type, event.id, event.data, error.reason, error.detail,
                              datetime.now(UTC))
        if notice is None:
            return []
        return [(self.settings.topics.name("notification"), notice.key.encode(),
                 json.dumps(notice.document, ensure_ascii=False).encode(),
                 [("ce_id", str(notice.event_id).encode())])]

    def _dead(
        self, record: Record, error: PermanentError, bound: structlog.BoundLogger,
    ) -> Outgoing:
        dlq = self.settings.topics.dlq(record.topic)
        bound.warning("dead-lettered", reason=error.reason, detail=error.detail, dlq=dlq)
        metrics.DEAD_LETTERS.labels(record.topic, error.reason).inc()
        metrics.OUTCOMES.labels(record.topic, "", "dead_lettered").inc()
        return dead_letter(record, DeadLetter(error.reason, error.detail, "PermanentError"), dlq)
