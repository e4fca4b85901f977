"""The first vertical slice, on real Kafka and PostgreSQL: source event -> fiche event."""

from __future__ import annotations

import asyncpg
import pytest
from prometheus_client import REGISTRY

from sync.app import Service
from sync.settings import Settings
from sync.store.queries import fiche_report, resolve_fiche_id
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish, publish_raw

pytestmark = pytest.mark.slow



async def stored_fiche(settings: Settings, ref: str) -> dict[str, object] | None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        fiche_id = await resolve_fiche_id(conn, ref)
        return None if fiche_id is None else await fiche_report(conn, fiche_id)
    finally:
        await conn.close()


async def test_a_cobrha_professional_becomes_a_stored_fiche_and_a_fiche_created_event(
    service: Service, settings: Settings,
) -> None:
    """The event is mapped, applied and relayed; the fiche holds its values with provenance."""
    number = nihii("1")
    await publish(settings, [professional(number, first="An", last="Peeters")])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        seen = await events.until(lambda v: len(v) >= 1, what="a fiche event")
    event = seen[0]
    assert event["type"] == "be.socialekaart.fiche.created"
    data = event["data"]
    assert data["version"] == 1
    assert data["snapshot"]["name.last"] == "Peeters"
    assert data["snapshot"]["professions"][0]["code"] == "PHYSICIAN"
    assert {"type": "NIHII-PERSON", "value": number[:8]} in data["identifiers"]
    stored = await stored_fiche(settings, f"NIHII-PERSON:{number[:8]}")
    assert stored is not None
    assert stored["id"] == data["ficheId"]
    assert stored["visible"]["name.first"] == "An"  # type: ignore[index]
    provenance = stored["provenance"]["name.first"]  # type: ignore[index]
    assert provenance[0]["source"] == "cobrha"
    assert provenance[0]["record"] == f"professional:{number[:8]}"


async def test_redelivering_the_same_source_event_changes_nothing_and_emits_nothing(
    service: Service, settings: Settings,
) -> None:
    """The record's sourceVersion, held on the fiche, makes a second delivery harmless: the
    same event again, or the same version under another event id. None writes an inbox row."""
    event = professional(nihii("4"), code="NURSE")
    await publish(settings, [event])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda v: len(v) == 1, what="the first fiche event")
        await publish(settings, [event, event, event | {"id": f"{event['id']}-again"}])
        marker = professional(nihii("5"), code="PHYSIOTHERAPIST")
        await publish(settings, [marker])
        seen = await events.until(lambda v: len(v) >= 2, what="the marker's fiche event")
        seen = await events.settle(quiet=1.5)
    assert [e["data"]["version"] for e in seen] == [1, 1]
    assert seen[1]["subject"] != seen[0]["subject"]
    stored = await stored_fiche(settings, f"NIHII-PERSON:{event['subject']}")
    assert stored is not None
    assert stored["version"] == 1
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
    finally:
        await conn.close()
    # In one hop the outcomes are counted on the source topic the events came from.
    source_topic = settings.topics.name("cobrha_professional")
    counted = {sample.labels["outcome"]: sample.value for metric in REGISTRY.collect()
               for sample in metric.samples if sample.name == "sksync_events_total"
               and sample.labels.get("topic") == source_topic}
    assert counted.get("duplicate") == 3  # counted as such, not as stale


async def test_a_later_version_updates_the_fiche_and_an_older_one_is_ignored(
    service: Service, settings: Settings,
) -> None:
    """sourceVersion decides within one source record; a stale event emits nothing."""
    number = nihii("1")
    await publish(settings, [professional(number, version=5, phone="+3255000001")])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await events.until(lambda v: len(v) == 1, what="the created event")
        await publish(settings, [professional(number, version=3, phone="+3255999999"),
                                 professional(number, version=7, phone="+3255000002")])
        seen = await events.until(lambda v: len(v) >= 2, what="the updated event")
        seen = await events.settle(quiet=1.5)
    assert [e["type"].rsplit(".", 1)[1] for e in seen] == ["created", "updated"]
    assert seen[1]["data"]["changedFields"] == ["contact.phone"]
    assert seen[1]["data"]["snapshot"]["contact.phone"] == "+3255000002"


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_next_is_applied(
    service: Service, settings: Settings,
) -> None:
    """Undecodable bytes and an unknown profession go to the DLQ; the consumer goes on."""
    await publish_raw(settings, "cobrha_professional", [b"{not json", b"\xff\xfe"])
    await publish(settings, [professional(code="ASTROLOGER")])
    good = professional(nihii("3"), code="DENTIST")
    await publish(settings, [good])
    dlq = settings.topics.dlq(settings.topics.name("cobrha_professional"))
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda v: len(letters.records) >= 3, what="three dead letters")
    reasons = sorted(dict(r.headers)["sksync-reason"].decode() for r in letters.records)
    assert reasons == ["undecodable", "undecodable", "unknown-profession"]
    headers = dict(letters.records[0].headers)
    assert headers["sksync-original-topic"].decode() == settings.topics.name("cobrha_professional")
    assert {"sksync-original-offset", "sksync-original-partition", "sksync-exception",
            "sksync-attempts", "sksync-first-failure", "sksync-last-failure"} <= set(headers)
    assert {r.value for r in letters.records} >= {b"{not json", b"\xff\xfe"}
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        seen = await events.until(lambda v: len(v) >= 1, what="the good event's fiche")
    assert seen[0]["subject"] == seen[0]["data"]["ficheId"]
    assert seen[0]["data"]["snapshot"]["professions"][0]["code"] == "DENTIST"
