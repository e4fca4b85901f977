"""The committed schemas are the ones the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from sync.cli.schemas import MODELS, generate

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_the_committed_schemas_match_the_code() -> None:
    """Run ``make schemas`` after changing a model; this test names the stale files."""
    stale = [path for path, content in generate().items()
             if not (SCHEMAS / path).exists()
             or (SCHEMAS / path).read_text(encoding="utf-8") != content]
    assert stale == [], f"regenerate with `make schemas`: {stale}"


def test_every_inbound_sample_validates_against_its_schema_model() -> None:
    """The sample feed of every source is valid input for its mapper's model."""
    by_type = {
        "be.ehealth.cobrha.professional.upserted": "inbound/cobrha-professional-upserted",
        "be.ehealth.cobrha.organisation.upserted": "inbound/cobrha-organisation-upserted",
        "be.fgov.economie.kbo.entity.upserted": "inbound/kbo-entity-upserted",
        "be.association.member.upserted": "inbound/association-member-upserted",
    }
    checked = 0
    for sample in sorted((SCHEMAS / "samples").glob("*.jsonl")):
        for line in sample.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            stem = by_type.get(event["type"])
            if stem is None or "poison" in event["id"] or "ASTROLOGER" in line:
                continue
            MODELS[stem].model_validate(event["data"])
            checked += 1
    assert checked >= 20


def test_the_asyncapi_document_names_every_topic_of_the_flow() -> None:
    """Subscribers and publishers of the app appear with their default topic names."""
    document = json.loads(generate()["asyncapi.json"])
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"sk.fiche.update", "sk.fiche.event", "sk.notification"} <= addresses
