"""Two people behind one SSIN: refused and counted, never merged (real Kafka + PostgreSQL)."""

from __future__ import annotations

import json

import asyncpg
import pytest
from prometheus_client import REGISTRY

from sync.app import Service
from sync.settings import Settings
from tests.support.builders import nihii, professional, ssin
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow


def conflicts_counted() -> float:
    return REGISTRY.get_sample_value(
        "sksync_identity_conflicts_total", {"source": "cobrha"}) or 0.0


async def test_a_second_nihii_person_with_the_same_ssin_is_dead_lettered_not_merged(
    service: Service, settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """An Peeters and Els Wouters arrive with one SSIN and two NIHII person numbers: the
    first has her fiche, the second is refused with a dead letter that names both numbers
    and the fiche (not the SSIN), and the refusal is counted in the metrics."""
    shared, first, second = ssin(), nihii(), nihii()
    before = conflicts_counted()
    fiches = settings.topics.name("fiche_event")
    async with TopicReader(settings, fiches) as events:
        await publish(settings, [professional(first, first="An", last="Peeters",
                                              with_ssin=shared)])
        await events.until(lambda seen: len(seen) >= 1, what="An Peeters' fiche")
    # The source event itself is dead-lettered (mapped and applied in one hop): a replay
    # after the conflict is settled goes through the same path.
    source = settings.topics.name("cobrha_professional")
    async with TopicReader(settings, settings.topics.dlq(source)) as letters:
        await publish(settings, [professional(second, first="Els", last="Wouters",
                                              with_ssin=shared)])
        await letters.until(lambda _: len(letters.records) >= 1, what="a dead letter")
    listed = await sksync(settings, "dlq", "list", "--json", "--topic", "cobrha_professional")
    assert listed.exit_code == 0, listed.output
    [letter] = json.loads(listed.stdout)
    assert letter["reason"] == "identity-conflict"
    assert letter["originalTopic"] == source
    assert first[:8] in letter["detail"]
    assert second[:8] in letter["detail"]
    assert shared not in listed.stdout
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 1
    held = await pg_conn.fetch("SELECT value FROM fiche_identifier WHERE type = 'NIHII-PERSON'")
    assert [row["value"] for row in held] == [first[:8]]
    assert await pg_conn.fetchval(
        "SELECT visible->>'name.last' FROM fiche") == "Peeters"
    assert conflicts_counted() == before + 1
