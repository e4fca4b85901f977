"""Every source reaches the database and ``sk.fiche.event`` through the real service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.app import Service
from sync.settings import Settings
from sync.store.queries import fiche_report, resolve_fiche_id
from tests.integration.test_kbo_ingest import full_tables
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish
from tests.support.kbo_zip import write_full_zip

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"


def sample(name: str) -> list[dict[str, Any]]:
    lines = (SAMPLES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]



async def report(settings: Settings, ref: str) -> dict[str, Any]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        fiche_id = await resolve_fiche_id(conn, ref)
        assert fiche_id is not None, f"no fiche {ref}"
        found = await fiche_report(conn, fiche_id)
        assert found is not None
        return found
    finally:
        await conn.close()


async def test_a_cobrha_organisation_and_its_kbo_enterprise_make_one_fiche(
    service: Service, settings: Settings,
) -> None:
    """The shared enterprise number links both; KBO's legal name wins, CoBRHA's phone wins."""
    hospital = sample("cobrha-organisation")[0]
    enterprise = next(e for e in sample("kbo-entity") if e["subject"] == "0403019261")
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [hospital])
        await events.until(lambda v: len(v) >= 1, what="the hospital's fiche")
        await publish(settings, [enterprise])
        seen = await events.until(lambda v: len(v) >= 2, what="the KBO update of it")
    assert {e["subject"] for e in seen} == {seen[0]["subject"]}
    fiche = await report(settings, "CBE:0403019261")
    assert fiche["kind"] == "organisation"
    assert fiche["visible"]["name"]["nl"] == "AZ Oudenaarde"
    assert [p["source"] for p in fiche["provenance"]["name"]] == ["cobrha", "kbo"]
    assert fiche["visible"]["contact.phone"] == "+3255336111"
    assert {"type": "HCO", "value": "000012345"} in fiche["identifiers"]


async def test_an_association_member_enriches_the_fiche_of_the_same_nihii_person(
    service: Service, settings: Settings,
) -> None:
    """An association record with a known NIHII lands on the CoBRHA fiche, adding its area."""
    members = [m for m in sample("association-member") if m["data"].get("nihii")]
    professionals = {p["subject"]: p for p in sample("cobrha-professional")
                     if p["type"].endswith("upserted")}
    member = next(m for m in members if m["data"]["nihii"][:8] in professionals)
    person = member["data"]["nihii"][:8]
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [professionals[person]])
        await events.until(lambda v: len(v) >= 1, what="the professional's fiche")
        await publish(settings, [member])
        seen = await events.until(lambda v: len(v) >= 2, what="the enriched fiche")
    assert seen[1]["subject"] == seen[0]["subject"]
    assert seen[1]["data"]["version"] == 2
    fiche = await report(settings, f"NIHII-PERSON:{person}")
    assert "association" in {p["source"] for ps in fiche["provenance"].values() for p in ps}
    if member["data"].get("serviceArea"):
        assert all(area["nis"] for area in fiche["visible"]["serviceArea"] if area["placed"])


async def test_a_hand_made_fiche_is_created_and_an_edit_of_a_registration_is_refused(
    service: Service, settings: Settings,
) -> None:
    """fiche.created makes a fiche without identifiers; an edit of professions is refused:
    dead-lettered with its reason, and the editor is told."""
    created, _, refused = sample("manual-edit")[:3]
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [created])
        seen = await events.until(lambda v: len(v) >= 1, what="the hand-made fiche")
    assert seen[0]["subject"] == created["data"]["ficheId"]
    assert seen[0]["data"]["identifiers"] == []
    await publish(settings, [refused])
    async with TopicReader(settings, settings.topics.name("notification")) as notices:
        told = await notices.until(lambda v: len(v) >= 1, what="the edit-refused notice")
    assert told[0]["type"] == "be.socialekaart.notification.edit-refused"
    assert "professions" in told[0]["data"]["message"]
    dlq = settings.topics.dlq(settings.topics.name("manual_edit"))
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda v: len(letters.records) >= 1, what="the dead letter")
    assert dict(letters.records[0].headers)["sksync-reason"] == b"authoritative-field"


async def test_a_kbo_full_extract_ingested_by_the_cli_becomes_organisation_fiches(
    service: Service, settings: Settings, tmp_path: Path,
) -> None:
    """`sksync ingest kbo` -> sk.src.kbo.entity -> care enterprises become fiches."""
    archive = write_full_zip(tmp_path / "KboOpenData_0100_Full.zip", 100, full_tables())
    result = await sksync(settings, "ingest", "kbo", str(archive))
    assert result.exit_code == 0, result.output
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        seen = await events.until(lambda v: len(v) >= 1, what="a fiche from the KBO extract")
    identifiers = [i for e in seen for i in e["data"]["identifiers"] if i["type"] == "CBE"]
    assert identifiers
    assert all(e["data"]["kind"] == "organisation" for e in seen)


async def test_fiche_show_tells_an_editor_where_each_value_came_from(
    service: Service, settings: Settings,
) -> None:
    """`sksync fiche show` lists the visible values and, per field, source and version;
    a psychologist's profession is explicit in Dutch so a search for "psycholoog" finds it."""
    professional = next(p for p in sample("cobrha-professional")
                        if "CLINICAL_PSYCHOLOGIST" in json.dumps(p))
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        await publish(settings, [professional])
        seen = await events.until(lambda v: len(v) >= 1, what="the psychologist's fiche")
    labels = [p["nl"] for p in seen[0]["data"]["snapshot"]["professions"]]
    assert any("psycholoog" in label for label in labels)
    ref = f"NIHII-PERSON:{professional['subject']}"
    result = await sksync(settings, "fiche", "show", ref, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["visible"]["name.last"] == professional["data"]["lastName"]
    assert shown["provenance"]["name.last"][0]["source"] == "cobrha"
    assert shown["provenance"]["name.last"][0]["sourceVersion"] == (
        professional["data"]["sourceVersion"])
    assert all(i["type"] != "SSIN-HASH" for i in shown["identifiers"])
    table = await sksync(settings, "fiche", "show", ref)
    assert "name.last" in table.output
    assert "cobrha" in table.output
