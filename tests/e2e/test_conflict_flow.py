"""Pins, conflicts and their resolution on real Kafka and PostgreSQL, driven as editors do."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Collection
from typing import Any

import pytest
from prometheus_client import REGISTRY

from sync.app import Service
from sync.events import derived_id
from sync.ops.conflicts import RESOLVED_TYPE
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow



def edit(fiche_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """A ``be.socialekaart.fiche.edited`` event as the directory's application sends it."""
    return {
        "specversion": "1.0", "id": f"sk-edit-{uuid.uuid4().hex}",
        "source": "urn:socialekaart:editor", "type": "be.socialekaart.fiche.edited",
        "time": "2026-11-28T09:30:00Z", "subject": str(fiche_id),
        "data": {"ficheId": str(fiche_id), "editor": {"id": "u-1029", "role": "editor"},
                 "changes": changes, "reason": "telefonisch bevestigd",
                 "reviewAfter": "2028-11-28"}}


async def cli(settings: Settings, *args: str) -> str:
    result = await sksync(settings, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


async def conflict_raised(notices: TopicReader, count: int) -> dict[str, Any]:
    raised = await notices.until(
        lambda v: sum(n["type"].endswith("conflict-raised") for n in v) >= count,
        what=f"{count} ConflictRaised notification(s)")
    return [n for n in raised if n["type"].endswith("conflict-raised")][count - 1]


async def fiche_events(events: TopicReader, fiche: uuid.UUID, count: int) -> list[dict[str, Any]]:
    seen = await events.until(
        lambda v: sum(e["subject"] == str(fiche) for e in v) >= count,
        what=f"{count} events of fiche {fiche}")
    return [e for e in seen if e["subject"] == str(fiche)]


async def test_a_pin_survives_a_conflicting_cobrha_update_and_keep_holds_it(
    service: Service, settings: Settings,
) -> None:
    """Edit, then CoBRHA disagrees: pin kept, one ConflictRaised; `--keep` records it."""
    number = nihii("1")
    fiche = derived_id("fiche", "person", "NIHII-PERSON", number[:8])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        await publish(settings, [professional(number, version=1, phone="+3255112233")])
        await fiche_events(events, fiche, 1)
        await publish(settings, [edit(fiche, {"contact.phone": "+3255000000"})])
        pinned = await fiche_events(events, fiche, 2)
        assert pinned[1]["data"]["snapshot"]["contact.phone"] == "+3255000000"
        first = await conflict_raised(notices, 1)  # CoBRHA's value before the edit
        assert first["data"]["candidate"] == "+3255112233"
        await publish(settings, [professional(number, version=2, phone="+3255445566")])
        second = await conflict_raised(notices, 2)
        assert second["data"]["candidate"] == "+3255445566"
        await cli(settings, "conflicts", "resolve",
                                second["data"]["conflictId"], "--keep", "--editor", "u-7")
        await publish(settings, [professional(number, version=3, phone="+3255445566",
                                              first="Anna")])
        latest = await fiche_events(events, fiche, 3)
        await notices.settle(quiet=1.5)
    assert latest[-1]["data"]["snapshot"]["contact.phone"] == "+3255000000"
    assert latest[-1]["data"]["snapshot"]["name.first"] == "Anna"
    assert sum(n["type"].endswith("conflict-raised") for n in notices.values()) == 2
    listed = await cli(settings, "conflicts", "list", "--json")
    assert second["data"]["conflictId"] not in listed


async def test_accepting_a_conflict_releases_the_pin_and_the_source_value_shows(
    service: Service, settings: Settings,
) -> None:
    """`--accept`: the pin goes and the fiche takes CoBRHA's value in a new version."""
    number = nihii("4")
    fiche = derived_id("fiche", "person", "NIHII-PERSON", number[:8])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        await publish(settings, [professional(number, code="NURSE", phone=None)])
        await fiche_events(events, fiche, 1)
        await publish(settings, [edit(fiche, {"contact.phone": "+3255000000"})])
        await fiche_events(events, fiche, 2)
        await publish(settings, [professional(number, version=2, code="NURSE",
                                              phone="+3255445566")])
        raised = await conflict_raised(notices, 1)
        await cli(settings, "conflicts", "resolve",
                                raised["data"]["conflictId"], "--accept", "--editor", "u-7")
        versions = await fiche_events(events, fiche, 3)
    assert versions[-1]["data"]["snapshot"]["contact.phone"] == "+3255445566"
    assert versions[-1]["data"]["changedFields"] == ["contact.phone"]


async def test_a_revoked_licence_deactivates_the_fiche_and_says_why(
    service: Service, settings: Settings,
) -> None:
    """No active licence left: a FicheDeactivated event with the reason; nothing deleted."""
    number = nihii("5")
    fiche = derived_id("fiche", "person", "NIHII-PERSON", number[:8])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [professional(number, code="PHYSIOTHERAPIST")])
        await fiche_events(events, fiche, 1)
        await publish(settings, [professional(number, version=2, code="PHYSIOTHERAPIST",
                                              licence="REVOKED")])
        versions = await fiche_events(events, fiche, 2)
    assert versions[-1]["type"] == "be.socialekaart.fiche.deactivated"
    assert versions[-1]["data"]["status"] == "inactive"
    assert versions[-1]["data"]["inactiveReason"] == "no active licence"
    assert versions[-1]["data"]["snapshot"]["name.last"] == "Peeters"


def handled(topics: Collection[str], outcome: str | None = None) -> float:
    """Hand-made updates read from ``topics`` that the apply stage handled (with ``outcome``,
    or any)."""
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (sample.name == "sksync_events_total" and labels["topic"] in topics
                    and labels["source"] == "manual" and labels["outcome"] != "mapped"
                    and outcome in (None, labels["outcome"])):
                total += sample.value
    return total


async def until_handled(topics: Collection[str], count: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while handled(topics) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {count} hand-made updates")
        await asyncio.sleep(0.1)


def resolution(fiche: uuid.UUID, conflict_id: str, decision: str) -> dict[str, Any]:
    """A ``be.socialekaart.conflict.resolved`` event as ``sksync conflicts resolve`` sends it."""
    return {
        "specversion": "1.0", "id": f"conflict-resolved-{uuid.uuid4()}",
        "source": "urn:socialekaart:sksync-cli", "type": RESOLVED_TYPE,
        "time": "2026-11-28T09:35:00Z", "subject": str(fiche),
        "data": {"conflictId": conflict_id, "decision": decision, "editor": "u-7"}}


async def test_a_redelivered_pin_or_resolution_does_nothing_even_where_it_would_change_much(
    service: Service, settings: Settings,
) -> None:
    """Redelivered after the fiche moved on, a pin would pin its value again and an accepted
    resolution would release the editor's later pin (the conflict it names is open again):
    the inbox recognises both as delivered already, and the fiche keeps the later pin."""
    number = nihii("9")
    fiche = derived_id("fiche", "person", "NIHII-PERSON", number[:8])
    first_pin = edit(fiche, {"contact.phone": "+3255000000"})
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        await publish(settings, [professional(number, version=1, phone="+3255112233")])
        await fiche_events(events, fiche, 1)
        await publish(settings, [first_pin])
        await fiche_events(events, fiche, 2)
        raised = await conflict_raised(notices, 1)
        accept = resolution(fiche, raised["data"]["conflictId"], "accept")
        await publish(settings, [accept])
        await fiche_events(events, fiche, 3)  # the pin released: CoBRHA's phone shows
        updates = settings.topics.sources()  # mapped and applied in one hop
        await publish(settings, [first_pin])  # redelivered: must not pin again
        await until_handled(updates, 3)
        await publish(settings, [edit(fiche, {"contact.phone": "+3255000009"})])
        await until_handled(updates, 4)  # a later pin; the same conflict is open again
        await publish(settings, [accept])  # redelivered: must not release the later pin
        await until_handled(updates, 5)
        seen = await events.settle(quiet=1.5)
    versions = [e for e in seen if e["subject"] == str(fiche)]
    assert [e["data"]["snapshot"]["contact.phone"] for e in versions] == [
        "+3255112233", "+3255000000", "+3255112233", "+3255000009"]
    assert handled(updates, "duplicate") == 2
    listed = json.loads(await cli(settings, "conflicts", "list", "--fiche", str(fiche),
                                  "--json"))
    assert [c["id"] for c in listed] == [raised["data"]["conflictId"]]
