"""Dead letters: list what waits on ``<topic>.dlq``; replay it through the normal path.

A replay republishes the original key and value on the original topic: still bad, it is
dead-lettered again (as a new letter). ``dead_letter_replay`` keeps what was replayed, so a
second replay sends nothing twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic.alias_generators import to_camel

from sync.ops.database import database
from sync.ops.ids import IdProblem, one_of
from sync.ops.lag import offsets
from sync.producers.kafka import Outgoing, client_options, send_all, start_producer
from sync.settings import Settings, source_topic_keys

__all__ = ["REPLAYED_FROM", "DeadLetterView", "ReplaySummary", "UnknownDeadLetters", "dlq_topics",
           "list_dead_letters", "replay"]

REPLAYED_FROM = "sksync-replayed-from"
READ_TIMEOUT_S = 60.0  # reading up to the end offsets taken first never takes longer
CHUNK = 200  # letters claimed and sent per transaction
CLAIM = """
INSERT INTO dead_letter_replay (dlq_topic, partition, "offset")
SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[]) ON CONFLICT DO NOTHING
RETURNING dlq_topic || ':' || partition || ':' || "offset" AS id
"""


class UnknownDeadLetters(ValueError):
    """Ids asked for that are on no dead-letter topic (nothing was sent)."""


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter as an operator sees it: where, why, which event; never the payload."""

    dlq_topic: str
    partition: int
    offset: int
    reason: str | None
    detail: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    failed_at: str | None
    event_id: str | None
    event_type: str | None
    attempts: int | None = None
    #: The original size when the value was cut to fit the dead-letter topic: such a letter
    #: cannot be replayed (see :mod:`sync.producers.dlq`).
    truncated_from: int | None = None

    @property
    def id(self) -> str:
        """Stable for ever: the letter's position on its dead-letter topic."""
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    def as_json(self) -> dict[str, Any]:
        """The view as ``--json`` prints it."""
        return {"id": self.id, **{to_camel(k): v for k, v in asdict(self).items()}}


@dataclass(frozen=True)
class _Letter:
    view: DeadLetterView
    target: str  # the topic it came from: its dead-letter topic's name without the suffix
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class ReplaySummary:
    """Ids sent back, and ids skipped because an earlier replay sent them."""

    replayed: list[str] = field(default_factory=list)
    already_replayed: list[str] = field(default_factory=list)


def dlq_topics(settings: Settings, topic: str | None = None) -> dict[str, str]:
    """Dead-letter topic -> original topic, for all or for ``topic`` (key, name or DLQ name)."""
    names = settings.topics
    every = {names.dlq(names.name(k)): (k, names.name(k))
             for k in [*source_topic_keys(), "fiche_update"]}
    chosen = {dlq: name for dlq, (key, name) in every.items()
              if topic is None or topic in (key, name, dlq)}
    if not chosen:
        keys = ", ".join(key for key, _ in every.values())
        raise ValueError(f"no dead-letter topic for {topic!r}; one of: {keys}")
    return chosen


def _event_fields(value: bytes | None) -> tuple[str | None, str | None]:
    """Event id and type when the value is JSON: a CloudEvent, or a canonical update."""
    try:
        doc = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    origin = doc["origin"] if isinstance(doc.get("origin"), dict) else {}
    found = [doc.get("id") or doc.get("updateId"), doc.get("type") or origin.get("type")]
    event_id, event_type = (str(i)[:200] if isinstance(i, str | int) else None for i in found)
    return event_id, event_type


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def _letter(record: ConsumerRecord[bytes, bytes], target: str) -> _Letter:
    """The view of a record (its ``sksync-*`` headers decoded) and what a replay sends."""
    ours = {k.removeprefix("sksync-"): v.decode("utf-8", "replace")
            for k, v in record.headers or () if k.startswith("sksync-")}
    event_id, event_type = _event_fields(record.value)
    view = DeadLetterView(
        dlq_topic=record.topic, partition=record.partition, offset=record.offset,
        reason=ours.get("reason"), detail=ours.get("detail"),
        original_topic=ours.get("original-topic"),
        original_partition=_int(ours.get("original-partition")),
        original_offset=_int(ours.get("original-offset")), failed_at=ours.get("last-failure"),
        event_id=event_id, event_type=event_type, attempts=_int(ours.get("attempts")),
        truncated_from=_int(ours.get("truncated-from")))
    kept = [(k, v) for k, v in record.headers or () if not k.startswith("sksync-")]
    return _Letter(view, target, record.key, record.value or b"", kept)


async def _read(settings: Settings, topics: dict[str, str]) -> list[_Letter]:
    """Every letter up to the end offsets read first: later letters are for a later run."""
    known = await offsets(settings, list(topics))
    bounds = {tp: (begin, end) for tp, (begin, end) in known.items() if begin < end}
    if not bounds:
        return []
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(bounds))
        for tp, (begin, _) in bounds.items():
            consumer.seek(tp, begin)
        async with asyncio.timeout(READ_TIMEOUT_S):
            records = await _drain(consumer, {tp: end for tp, (_, end) in bounds.items()})
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return [_letter(record, topics[record.topic]) for record in records]


async def _drain(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    remaining = dict(ends)
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500)
        for tp, batch in batches.items():
            records += [record for record in batch if record.offset < ends[tp]]
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                del remaining[tp]
    return records


async def list_dead_letters(settings: Settings, topic: str | None) -> list[DeadLetterView]:
    """Dead letters of every dead-letter topic (or of ``topic``), in offset order."""
    return [letter.view for letter in await _read(settings, dlq_topics(settings, topic))]


def _choose(letters: list[_Letter], ids: list[str] | None) -> list[_Letter]:
    """All letters, or those of ``ids`` (or of their unambiguous starts); one unknown or
    ambiguous id stops the replay before it starts."""
    if ids is None:
        return letters
    by_id = {letter.view.id: letter for letter in letters}
    chosen: list[str] = []
    for item in ids:  # a whole id, or a start that only one id has
        try:
            chosen.append(one_of(by_id, item, "dead letter"))
        except IdProblem as problem:
            raise UnknownDeadLetters(str(problem).replace("no dead letter", "no such dead "
                                                          "letter")) from None
    return [by_id[item] for item in dict.fromkeys(chosen)]


async def _replay_chunk(
    conn: asyncpg.Connection, producer: AIOKafkaProducer, chunk: list[_Letter],
) -> set[str]:
    """Claim, send, commit: a failed send rolls the claim back, so it is tried next time."""
    async with conn.transaction():
        claimed = await conn.fetch(CLAIM, [i.view.dlq_topic for i in chunk],
                                   [i.view.partition for i in chunk],
                                   [i.view.offset for i in chunk])
        fresh = {row["id"] for row in claimed}
        await send_all(producer, [_outgoing(i) for i in chunk if i.view.id in fresh])
    return fresh


def _outgoing(letter: _Letter) -> Outgoing:
    headers = [*letter.headers, (REPLAYED_FROM, letter.view.id.encode())]
    return (letter.target, letter.key, letter.value, headers)


async def replay(
    settings: Settings, topic: str | None, ids: list[str] | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplaySummary:
    """Send dead letters back to their original topic, each at most once across runs;
    ``on_progress(done, total)`` follows every chunk."""
    letters = _choose(await _read(settings, dlq_topics(settings, topic)), ids)
    summary = ReplaySummary()
    async with database(settings) as conn:
        producer = await start_producer(settings)
        try:
            for start in range(0, len(letters), CHUNK):
                chunk = [letter.view.id for letter in letters[start:start + CHUNK]]
                sent = await _replay_chunk(conn, producer, letters[start:start + CHUNK])
                summary.replayed += [i for i in chunk if i in sent]
                summary.already_replayed += [i for i in chunk if i not in sent]
                if on_progress is not None:
                    on_progress(start + len(chunk), len(letters))
        finally:
            await producer.stop()
    return summary
