"""Nothing skipped, nothing wedged, on real Kafka and PostgreSQL: a batch whose handler raised
is delivered again; a naive time is refused; an error that repeats identically is bounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import pytest

from sync.app import Service
from sync.consumers.apply import ApplyStage
from sync.consumers.map_apply import MapApplyStage
from sync.consumers.source import SourceStage
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_service, running_split, with_few_attempts

pytestmark = pytest.mark.slow

Handle = Callable[[Any, Sequence[Any]], Awaitable[None]]


def failing_once(handle: Handle, failures: list[int]) -> Handle:
    """``handle``, except that its first call raises (before doing anything)."""

    async def wrapped(stage: Any, records: Sequence[Any]) -> None:
        if not failures:
            failures.append(len(records))
            raise RuntimeError("the handler failed")
        await handle(stage, records)

    return wrapped


async def dead_letters(settings: Settings, topic_key: str, at_least: int = 0) -> list[Any]:
    async with TopicReader(settings, settings.topics.dlq(settings.topics.name(topic_key))) as dlq:
        if at_least:
            await dlq.until(lambda _: len(dlq.records) >= at_least,
                            what=f"{at_least} dead letter(s)")
        await dlq.settle(quiet=1.0)
    return dlq.records


def reason(record: Any) -> str:
    return str(dict(record.headers)["sksync-reason"].decode())


@pytest.mark.parametrize(("stage", "split"), [
    (MapApplyStage, False), (SourceStage, True), (ApplyStage, True),
], ids=["one-hop", "split-map", "split-apply"])
async def test_a_batch_whose_handler_raised_is_delivered_again_and_applied(
    stage: type[MapApplyStage | SourceStage | ApplyStage], split: bool, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first batch's handler raises before it does anything; that batch is read again
    (not skipped by the next commit) and each of its events becomes a fiche: in one process
    that maps and applies, and in each stage of a flow split over two."""
    failures: list[int] = []
    monkeypatch.setattr(stage, "handle", failing_once(stage.handle, failures))
    people = [nihii("2") for _ in range(12)]
    async with running_split(settings) if split else running_service(settings):
        await publish(settings, [professional(p) for p in people])
        async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
            await events.until(lambda v: len({e["subject"] for e in v}) >= len(people),
                               what=f"{len(people)} fiches, the failed batch's included")
            seen = await events.settle(quiet=1.0)
    assert failures, "the handler failed on a batch"
    identifiers = {i["value"] for e in seen for i in e["data"]["identifiers"]
                   if i["type"] == "NIHII-PERSON"}
    assert identifiers == {p[:8] for p in people}
    assert sorted(e["data"]["version"] for e in {e["id"]: e for e in seen}.values()) == [1] * 12
    assert await dead_letters(settings, "fiche_update") == []
    assert await dead_letters(settings, "cobrha_professional") == []


async def test_an_event_with_a_naive_time_is_dead_lettered_and_the_fiche_goes_on(
    service: Service, settings: Settings,
) -> None:
    """A time without offset is refused at decode as ``naive-time``; the fiche it was about
    takes the next (valid) version, and nothing in between raised."""
    number = nihii("3")
    naive = professional(number, version=2, phone="+3255000002")
    naive["time"] = "2026-11-28T10:15:02"
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [professional(number, version=1, phone="+3255000001")])
        await events.until(lambda v: len(v) >= 1, what="the created event")
        offset = professional(number, version=3, phone="+3255000003")
        offset["time"] = "2026-11-28T11:15:02+01:00"
        await publish(settings, [naive, offset])
        seen = await events.until(lambda v: len(v) >= 2, what="the version of the valid event")
        seen = await events.settle(quiet=1.0)
    assert [e["data"]["snapshot"]["contact.phone"] for e in seen] == [
        "+3255000001", "+3255000003"]
    assert seen[1]["data"]["cause"]["time"] == "2026-11-28T10:15:02Z"
    [letter] = await dead_letters(settings, "cobrha_professional", at_least=1)
    assert reason(letter) == "naive-time"
    assert "UTC offset" in dict(letter.headers)["sksync-detail"].decode()


@pytest.fixture
async def bounded_service(settings: Settings) -> AsyncIterator[Settings]:
    """The service with few attempts at an error that repeats identically."""
    bounded = with_few_attempts(settings, 3)
    async with running_service(bounded):
        yield bounded


async def refuse_identifier(database_url: str, value: str) -> None:
    """A trigger that fails every insert of this identifier with a unique violation (23505),
    as an identifier taken for good would: a deterministic error that is classed as a race."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"""
            CREATE FUNCTION refuse_identifier() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.value = '{int(value)}' THEN
                RAISE EXCEPTION 'duplicate key value violates unique constraint'
                  USING ERRCODE = 'unique_violation';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_identifier BEFORE INSERT ON fiche_identifier
              FOR EACH ROW EXECUTE FUNCTION refuse_identifier();
        """)
    finally:
        await conn.close()


async def test_a_unique_violation_that_always_repeats_is_dead_lettered_not_retried_forever(
    bounded_service: Settings,
) -> None:
    """The update whose identifier always fails is isolated and its source event dead-lettered
    (to the source topic's DLQ, whence a replay takes the same path) with reason
    ``repeated-failure`` after the bounded attempts; its batch mates and what follows on the
    same partitions are applied (the partition is not stalled)."""
    settings = bounded_service
    poisoned, *others = [nihii("6") for _ in range(7)]
    await refuse_identifier(settings.database_url, poisoned[:8])
    await publish(settings, [professional(p) for p in [poisoned, *others[:3]]])
    await publish(settings, [professional(p) for p in others[3:]])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda v: len(v) >= len(others), timeout=90,
                           what="the fiches of every update but the poisoned one")
        seen = await events.settle(quiet=1.0)
    identifiers = {i["value"] for e in seen for i in e["data"]["identifiers"]
                   if i["type"] == "NIHII-PERSON"}
    assert identifiers == {p[:8] for p in others}
    [letter] = await dead_letters(settings, "cobrha_professional", at_least=1)
    assert reason(letter) == "repeated-failure"
    assert json.loads(letter.value)["subject"] == poisoned[:8]
    detail = dict(letter.headers)["sksync-detail"].decode()
    assert "(23505) 3 times in a row" in detail
    assert poisoned[:8].encode() in (letter.key or b"")
