"""KBO Update extracts through the real service: `sksync ingest kbo` onto Kafka, the fiches in
PostgreSQL, and the fiche events downstream sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync.app import Service
from sync.settings import Settings
from tests.e2e.test_sources import report
from tests.integration.test_kbo_ingest import (
    CAMPUS,
    GROUP_PRACTICE,
    HOSPITAL,
    digits,
    full_tables,
    moves,
)
from tests.support.cli import sksync
from tests.support.kafka import TopicReader
from tests.support.kbo_zip import write_full_zip, write_update_zip

pytestmark = pytest.mark.slow


def of(events: list[dict[str, Any]], number: str) -> list[dict[str, Any]]:
    """The fiche events of the enterprise ``number``, in version order."""
    found = [e for e in events
             if {"type": "CBE", "value": number} in e["data"]["identifiers"]]
    return sorted(found, key=lambda e: e["data"]["version"])


async def ingest(settings: Settings, path: Path) -> None:
    result = await sksync(settings, "ingest", "kbo", str(path))
    assert result.exit_code == 0, result.output


async def test_seat_and_establishment_moves_of_legal_persons_reach_fiche_and_event(
    service: Service, settings: Settings, tmp_path: Path,
) -> None:
    """A Full, then an Update that moves the hospital's seat, opens a campus and moves the
    group practice's unit: both fiches get version 2 and one ``updated`` event each."""
    await ingest(settings, write_full_zip(tmp_path / "full.zip", 100, full_tables()))
    async with TopicReader(settings, settings.topics.name("fiche_event")) as topic:
        await topic.until(lambda v: len(v) >= 5, what="the five care fiches of the Full extract")
        await ingest(settings, write_update_zip(tmp_path / "update.zip", 101, **moves()))
        seen = await topic.until(lambda v: len(v) >= 7, what="the two fiche updates")
    hospital, practice = of(seen, digits(HOSPITAL)), of(seen, digits(GROUP_PRACTICE))
    assert [e["type"].rsplit(".", 1)[1] for e in hospital] == ["created", "updated"]
    assert hospital[1]["data"]["changedFields"] == ["addresses", "establishments", "seat"]
    assert hospital[1]["data"]["snapshot"]["seat"]["street"] == "Bourgondiëstraat"
    assert [e["data"]["version"] for e in practice] == [1, 2]
    assert practice[1]["data"]["changedFields"] == ["establishments"]
    fiche = await report(settings, f"ESTABLISHMENT:{digits(CAMPUS)}")
    assert fiche["id"] == hospital[1]["subject"]
    (campus,) = fiche["visible"]["establishments"]
    assert campus["address"]["municipality"] == "Ronse"
    assert fiche["provenance"]["establishments"][0]["source"] == "kbo"
