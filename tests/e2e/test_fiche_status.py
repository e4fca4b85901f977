"""A fiche's status through the real service: what downstream hears when its sources leave."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sync.app import Service
from sync.settings import Settings
from tests.e2e.test_sources import report, sample
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow


def member_without_nihii() -> tuple[dict[str, Any], dict[str, Any]]:
    """A member (no NIHII, so only the association knows the person) and their removal."""
    removed = next(e for e in sample("association-member") if e["type"].endswith("removed"))
    joined = copy.deepcopy(next(e for e in sample("association-member")
                                if e["subject"] == removed["subject"]))
    del joined["data"]["nihii"]
    return joined, removed


async def test_a_fiche_whose_only_source_leaves_is_deactivated_downstream(
    service: Service, settings: Settings,
) -> None:
    """The association removes its member and nothing else describes the fiche: version 2 is
    inactive with the reason, sent as a ``deactivated`` event; the fiche is kept."""
    joined, removed = member_without_nihii()
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [joined])
        await events.until(lambda v: len(v) >= 1, what="the member's fiche")
        await publish(settings, [removed])
        seen = await events.until(lambda v: len(v) >= 2, what="the member's removal")
    created, left = seen
    assert left["subject"] == created["subject"]
    assert left["type"] == "be.socialekaart.fiche.deactivated"
    assert (left["data"]["version"], left["data"]["status"]) == (2, "inactive")
    assert left["data"]["inactiveReason"] == "no source left"
    fiche = await report(settings, created["subject"])
    assert (fiche["status"], fiche["inactiveReason"]) == ("inactive", "no source left")
