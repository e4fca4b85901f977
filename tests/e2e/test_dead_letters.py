"""``sksync dlq``: dead letters listed with their reasons, replayed once through the normal path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync.app import Service
from sync.settings import Settings
from tests.support.builders import professional
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish, publish_raw

pytestmark = pytest.mark.slow

POISON = [b"{not json", b"\xff\xfe"]




async def listed(settings: Settings, *args: str) -> list[dict[str, Any]]:
    result = await sksync(settings, "dlq", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    letters: list[dict[str, Any]] = json.loads(result.stdout)
    return letters


async def three_dead_letters(settings: Settings) -> str:
    """Two undecodable messages and an unknown profession, dead-lettered by the service."""
    await publish_raw(settings, "cobrha_professional", POISON)
    await publish(settings, [professional(code="ASTROLOGER", last="Verschueren")])
    dlq = settings.topics.dlq(settings.topics.name("cobrha_professional"))
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda _: len(letters.records) >= 3, what="three dead letters")
    return dlq


async def replayed_records(settings: Settings, count: int) -> list[Any]:
    """The records on the source topic that a replay sent, once ``count`` of them arrived."""
    async with TopicReader(settings, settings.topics.name("cobrha_professional")) as topic:
        await topic.until(lambda _: len(_replays(topic.records)) >= count,
                          what=f"{count} replayed records")
        await topic.settle(quiet=1.0)
    return _replays(topic.records)


def _replays(records: list[Any]) -> list[Any]:
    return [r for r in records if "sksync-replayed-from" in dict(r.headers or ())]


async def test_dlq_list_shows_each_dead_letter_with_its_reason_and_origin_but_no_payload(
    service: Service, settings: Settings,
) -> None:
    """Every letter: a stable id, the reason, where it came from, the event id and type."""
    dlq = await three_dead_letters(settings)
    letters = await listed(settings)
    assert sorted(letter["reason"] for letter in letters) == [
        "undecodable", "undecodable", "unknown-profession"]
    source = settings.topics.name("cobrha_professional")
    for letter in letters:
        assert letter["id"] == f"{dlq}:{letter['partition']}:{letter['offset']}"
        assert letter["originalTopic"] == source
        assert isinstance(letter["originalOffset"], int)
        assert letter["failedAt"]
    [mapped] = [letter for letter in letters if letter["reason"] == "unknown-profession"]
    assert mapped["eventType"] == "be.ehealth.cobrha.professional.upserted"
    assert mapped["eventId"].startswith("cobrha-p-")
    text = await sksync(settings, "dlq", "list")
    assert text.exit_code == 0, text.output
    assert all(letter["id"] in text.stdout for letter in letters)
    assert "unknown-profession" in text.stdout
    assert "Verschueren" not in text.stdout
    assert "{not json" not in text.stdout
    assert len(await listed(settings, "--topic", "cobrha_professional")) == 3
    assert await listed(settings, "--topic", "kbo_entity") == []


async def test_a_replay_sends_letters_back_once_and_still_bad_ones_dead_letter_again(
    service: Service, settings: Settings,
) -> None:
    """The originals go back to their topic with a replayed-from header and fail again; a
    second replay of the same letters sends nothing, only the new letters are still due."""
    dlq = await three_dead_letters(settings)
    first = [letter["id"] for letter in await listed(settings)]
    done = await sksync(settings, "dlq", "replay")
    assert done.exit_code == 0, done.output
    assert "replayed 3 dead letter(s); skipped 0 already replayed" in done.stdout
    sent = await replayed_records(settings, 3)
    assert sorted(dict(r.headers)["sksync-replayed-from"].decode() for r in sent) == sorted(first)
    assert {r.value for r in sent} >= set(POISON)
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda _: len(letters.records) >= 6, what="the letters again")
    again = await sksync(settings, "dlq", "replay", *first)
    assert again.exit_code == 0, again.output
    assert "replayed 0 dead letter(s); skipped 3 already replayed" in again.stdout
    rest = await sksync(settings, "dlq", "replay", "--topic", dlq)
    assert "replayed 3 dead letter(s); skipped 3 already replayed" in rest.stdout
    sent = await replayed_records(settings, 6)
    assert len(sent) == 6
    assert len({dict(r.headers)["sksync-replayed-from"] for r in sent}) == 6


async def test_bad_dlq_arguments_are_one_explanation_and_a_nonzero_exit(
    settings: Settings,
) -> None:
    """An unknown topic or a malformed id is a usage error; an unknown letter sends nothing."""
    unknown_topic = await sksync(settings, "dlq", "list", "--topic", "sk.nothing")
    assert unknown_topic.exit_code == 2
    assert "no dead-letter topic" in unknown_topic.output
    malformed = await sksync(settings, "dlq", "replay", "not-an-id")
    assert malformed.exit_code == 2
    assert "DLQ-TOPIC:PARTITION:OFFSET" in malformed.output
    dlq = settings.topics.dlq(settings.topics.name("kbo_entity"))
    missing = await sksync(settings, "dlq", "replay", f"{dlq}:0:999")
    assert missing.exit_code == 1
    assert missing.stderr.count("\n") == 1
    assert "no such dead letter" in missing.stderr
    for result in (unknown_topic, malformed, missing):
        assert "Traceback" not in result.output


async def test_a_start_of_a_dead_letter_id_that_several_share_is_one_line_and_sends_nothing(
    service: Service, settings: Settings,
) -> None:
    """``dlq replay`` takes the start of an id only when one letter has it (unit-tested in
    tests/unit/test_cli_ids.py); a start three letters share is one line saying so."""
    dlq = await three_dead_letters(settings)
    ambiguous = await sksync(settings, "dlq", "replay", f"{dlq}:")
    assert ambiguous.exit_code == 1, ambiguous.output
    assert ambiguous.stderr.count("\n") == 1
    assert "starts 3 dead letter ids" in ambiguous.stderr
    done = await sksync(settings, "dlq", "replay", "--topic", dlq)
    assert "replayed 3 dead letter(s); skipped 0 already replayed" in done.stdout
