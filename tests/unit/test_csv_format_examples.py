"""The example files of docs/csv-formats.md load as the page says: no example rots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sync.cloudevents import CloudEvent
from sync.ingest.association_csv import Member, read_members
from sync.ingest.common import cloud_event
from sync.mapping import MappingContext
from sync.mapping.association import TYPE_UPSERTED, association_source
from sync.matching.export import ExportRow, read_export
from sync.sources import map_event

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_association_example_maps_every_member_with_canonical_values() -> None:
    """Every row is a member; labels become codes and phones E.164 on the way in."""
    rows = list(read_members(EXAMPLES / "association-members.csv", "vvkp", 1))
    assert len(rows) == 3
    codes, phones = [], []
    for row in rows:
        assert isinstance(row, Member)
        event = cloud_event(id=f"x-{row.data.member_id}", source=association_source("vvkp"),
                            type=TYPE_UPSERTED, subject=f"vvkp:{row.data.member_id}",
                            time=datetime.now(UTC),
                            data=row.data.model_dump(mode="json", by_alias=True))
        [update] = map_event(CloudEvent.model_validate(event), MappingContext(b"k"))
        codes.append(update.fields["declaredProfessions"][0]["code"])  # type: ignore[index,call-overload]
        phones.append(update.fields["contact.phone"])
    assert codes == ["CLINICAL_PSYCHOLOGIST", "TOBACCO_SPECIALIST", "NURSE"]
    assert phones == ["+3255998877", "+3255112233", "+32475123456"]


def test_the_export_example_loads_every_fiche() -> None:
    lines = (EXAMPLES / "link-initial-export.csv").read_text(encoding="utf-8").splitlines()
    rows = list(read_export(lines, datetime.now(UTC)))
    assert [type(row) for row in rows] == [ExportRow] * 3
