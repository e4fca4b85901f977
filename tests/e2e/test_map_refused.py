"""The map stage of a split flow (a process that maps, another that applies) on real Kafka and
PostgreSQL: a canonical update the broker refuses (too large for ``sk.fiche.update``) is
dead-lettered with its source event and the stage moves on; a dead letter too large for its
own topic is shortened rather than retried for ever. (In one process that maps and applies,
nothing is published on ``sk.fiche.update``.)"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sync.app import Service
from sync.producers.dlq import TRUNCATED
from sync.producers.kafka import client_options
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.service import running_split

pytestmark = pytest.mark.slow

#: ``sk.fiche.update`` refuses record batches over this many bytes in these tests.
UPDATE_TOPIC_MAX_BYTES = 4000
#: The source's dead-letter topic, in the second test, refuses batches over this many bytes.
DLQ_TOPIC_MAX_BYTES = 3000
#: A last name that makes the source event about 6 kB: fine on its topic, too large mapped.
LONG_NAME = "x" * 6000


async def create_topics(settings: Settings, limits: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        for name, limit in limits.items():
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(
                    name, 3, 1, topic_configs={"max.message.bytes": str(limit)})])
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def running(settings: Settings, limits: dict[str, int]) -> AsyncIterator[Service]:
    await create_topics(settings, limits)
    async with running_split(settings) as (mapper, _):
        yield mapper


async def the_letter_and_the_good_event(settings: Settings, big: dict[str, Any]) -> Any:
    """Publish ``big`` and a good event after it; return the one dead letter once the good
    event's fiche event is out (the stage went on past the refused update)."""
    good = professional(nihii("3"), code="DENTIST")
    await publish(settings, [big, good])
    dlq = settings.topics.dlq(settings.topics.name("cobrha_professional"))
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda _: len(letters.records) >= 1, what="the dead letter")
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        [event] = await events.until(lambda v: len(v) >= 1, what="the good event's fiche")
    assert event["data"]["snapshot"]["professions"][0]["code"] == "DENTIST"
    [letter] = letters.records
    return letter


async def test_an_update_too_large_for_its_topic_dead_letters_the_source_event(
    settings: Settings,
) -> None:
    """Before, the map stage retried the refused publish for ever: its partition stalled."""
    update_topic = settings.topics.name("fiche_update")
    big = professional(nihii("1"), last=LONG_NAME)
    async with running(settings, {update_topic: UPDATE_TOPIC_MAX_BYTES}):
        letter = await the_letter_and_the_good_event(settings, big)
    headers = {key: value.decode() for key, value in letter.headers}
    assert headers["sksync-reason"] == "too-large"
    assert update_topic in headers["sksync-detail"]
    assert "bytes" in headers["sksync-detail"]
    assert TRUNCATED not in headers
    assert json.loads(letter.value)["data"]["lastName"] == LONG_NAME  # the event, whole


async def test_a_dead_letter_too_large_for_its_topic_is_shortened_not_retried(
    settings: Settings,
) -> None:
    """The dead-letter topic refuses the whole event too: the letter goes without its value,
    saying how large the original was and which it was."""
    source = settings.topics.name("cobrha_professional")
    big = professional(nihii("1"), last=LONG_NAME)
    async with running(settings, {settings.topics.name("fiche_update"): UPDATE_TOPIC_MAX_BYTES,
                                  settings.topics.dlq(source): DLQ_TOPIC_MAX_BYTES}):
        letter = await the_letter_and_the_good_event(settings, big)
    headers = {key: value.decode() for key, value in letter.headers}
    assert headers["sksync-reason"] == "too-large"
    original = int(headers[TRUNCATED])
    assert original > DLQ_TOPIC_MAX_BYTES
    assert len(letter.value or b"") < original
    assert len(headers["sksync-original-sha256"]) == 64
    assert hashlib.sha256(b"").hexdigest() != headers["sksync-original-sha256"]
