"""One hop on real Kafka and PostgreSQL: a process that maps and applies applies what it maps
itself; ``sk.fiche.update`` is then an optional audit stream, and what others write there is
still applied."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from sync.consumers.apply import AUDIT_HEADER
from sync.consumers.source import SourceStage
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish, publish_raw
from tests.support.service import running_service

pytestmark = pytest.mark.slow

PEOPLE = 8


async def everything_on(settings: Settings, topic: str) -> list[Any]:
    """What ``topic`` holds once it has been quiet for a while."""
    async with TopicReader(settings, topic) as reader:
        await reader.settle(quiet=1.5)
    return reader.records


async def fiche_events(settings: Settings, people: int) -> list[dict[str, Any]]:
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda seen: len({e["subject"] for e in seen}) >= people,
                           timeout=90, what=f"{people} fiche events")
        return await events.settle(quiet=1.5)


async def dead_letters(settings: Settings) -> list[Any]:
    topics = settings.topics
    names = [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]
    return [letter for name in names for letter in await everything_on(settings, name)]


def canonical_update(settings: Settings, event: dict[str, Any]) -> FicheUpdate:
    """The update ``event`` maps to, as a separate mapping process would publish it."""
    context = MappingContext(ssin_secret=settings.ssin_secret.get_secret_value().encode())
    stage = SourceStage(settings, producer=None, context=context)  # type: ignore[arg-type]
    record = SimpleNamespace(topic=settings.topics.name("cobrha_professional"), partition=0,
                             offset=0, value=json.dumps(event).encode(), headers=())
    [(_, [update], [])] = stage.map([record])
    return update


@pytest.fixture
async def audited(settings: Settings) -> AsyncIterator[Settings]:
    """The service (all stages in one process) with the audit stream on."""
    config = settings.model_copy(update={"audit_updates": True})
    async with running_service(config):
        yield config


async def test_a_process_that_maps_and_applies_writes_nothing_on_the_update_topic(
    service: Any, settings: Settings,
) -> None:
    """Every source event becomes its fiche event, once, with no canonical update written
    to or read from ``sk.fiche.update`` on the way."""
    people = [nihii("1") for _ in range(PEOPLE)]
    await publish(settings, [professional(p) for p in people])
    seen = await fiche_events(settings, PEOPLE)
    assert len({e["id"] for e in seen}) == PEOPLE
    assert {e["data"]["version"] for e in seen} == {1}
    assert await everything_on(settings, settings.topics.name("fiche_update")) == []
    assert await dead_letters(settings) == []


async def test_the_audit_stream_holds_each_applied_update_marked_and_it_is_not_applied_again(
    audited: Settings,
) -> None:
    """With ``SKSYNC_AUDIT_UPDATES``, each applied update is on ``sk.fiche.update`` as its
    canonical JSON, keyed by its fiche and marked as an audit copy; the apply subscriber of
    the same process skips the copies (no second outcome, no dead letter)."""
    settings = audited
    people = [nihii("2") for _ in range(PEOPLE)]
    await publish(settings, [professional(p) for p in people])
    seen = await fiche_events(settings, PEOPLE)
    assert len({e["id"] for e in seen}) == PEOPLE
    copies = await everything_on(settings, settings.topics.name("fiche_update"))
    assert len(copies) == PEOPLE
    updates = [FicheUpdate.model_validate_json(copy.value) for copy in copies]
    assert {u.record_id for u in updates} == {f"professional:{p[:8]}" for p in people}
    assert all(copy.key == u.key.encode() for copy, u in zip(copies, updates, strict=True))
    assert all(dict(copy.headers)[AUDIT_HEADER] == b"1" for copy in copies)
    assert await dead_letters(settings) == []


async def test_the_apply_subscriber_skips_audit_copies_unread_and_applies_other_updates(
    service: Any, settings: Settings,
) -> None:
    """In the process that maps and applies, the subscriber on ``sk.fiche.update`` still
    applies what a separate mapping process (or an earlier version) wrote there; a marked
    audit copy is skipped without being parsed: not even an unreadable one is dead-lettered."""
    number = nihii("3")
    update = canonical_update(settings, professional(number))
    await publish_raw(settings, "fiche_update", [b"{not an update"],
                      headers=[(AUDIT_HEADER, b"1")])
    await publish_raw(settings, "fiche_update", [update.model_dump_json(by_alias=True).encode()],
                      key=update.key.encode(), headers=[("ce_id", str(update.update_id).encode())])
    [event] = await fiche_events(settings, 1)
    identifiers = {i["value"] for i in event["data"]["identifiers"]}
    assert number[:8] in identifiers
    assert await dead_letters(settings) == []
