"""Association member exports (CSV, full lists) ingested into a real PostgreSQL: which member
events come out, and what a broken file costs."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from sync.ingest.association import AssociationIngestSummary, ingest_association_csv
from sync.ingest.common import IngestError
from tests.support.infra import Infrastructure
from tests.support.ingest_db import Published, fresh_database

UPSERTED = "be.association.member.upserted"
REMOVED = "be.association.member.removed"
HEADER = ["member_id", "nihii", "first_name", "last_name", "profession", "practice_name",
          "street", "house_number", "box", "zip_code", "municipality", "phone", "email",
          "website", "languages", "specialisations", "target_groups", "service_area",
          "accepts_new_clients", "status"]
JAN = ["4711", "54263481527", "Jan", "Claes", "CLINICAL_PSYCHOLOGIST", "Praktijk De Linde",
       "Lindestraat", "5", "", "9690", "Kluisbergen", "+3255998877", "jan@praktijkdelinde.be",
       "", "nl|fr", "trauma", "adults", "Kluisbergen|Oudenaarde|Zwalm", "true", "ACTIVE"]
AN = ["4712", "", "An", "De Smet", "TOBACCO_SPECIALIST", "", "Markt", "1", "0.2", "9700",
      "Oudenaarde", "+3255112233", "an@example.be", "https://tabak.example.be", "nl",
      "", "adults|youth", "Oudenaarde", "ja", "ACTIVE"]
PIETER = ["4713", "54263481527", "Pieter", "Van Damme", "PHYSIOTHERAPIST", "Kine Zwalm",
          "Zottegemsesteenweg", "12", "", "9630", "Zwalm", "", "", "", "nl", "", "", "",
          "no", "ACTIVE"]
LIES = ["4714", "", "Lies", "Peeters", "NURSE", "", "", "", "", "", "", "", "", "", "nl", "",
        "", "45062|45064", "", "ACTIVE"]


def export(path: Path, rows: list[list[str]], *, sep: str = ";", bom: bool = False,
           header: list[str] = HEADER) -> Path:
    """A member export as a spreadsheet writes it (CRLF, minimal quoting)."""
    text = io.StringIO()
    csv.writer(text, delimiter=sep, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode())
    return path


def changed(row: list[str], **values: str) -> list[str]:
    return [values.get(column, value) for column, value in zip(HEADER, row, strict=True)]


@pytest.fixture
async def ingest_db(infra: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(infra.database_url) as conn:
        yield conn




async def ingest(conn: asyncpg.Connection, path: Path, version: int,
                 association: str = "vvkp") -> tuple[AssociationIngestSummary, Published]:
    published = Published()
    summary = await ingest_association_csv(conn, association, path, published,
                                           source_version=version)
    return summary, published


async def test_each_member_becomes_one_event_in_the_published_shape(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """The SOURCES.md §4 example, from a CSV row."""
    summary, published = await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, AN, PIETER]),
                                      20261128)
    assert published.kinds() == {(UPSERTED, "vvkp:4711"), (UPSERTED, "vvkp:4712"),
                                 (UPSERTED, "vvkp:4713")}
    jan = published[0]
    assert {k: jan[k] for k in ("id", "source", "type", "subject", "specversion")} == {
        "id": "vvkp-4711-20261128", "source": "urn:association:vvkp", "type": UPSERTED,
        "subject": "vvkp:4711", "specversion": "1.0"}
    assert jan["data"] == {
        "sourceVersion": 20261128, "associationId": "vvkp", "memberId": "4711",
        "nihii": "54263481527", "firstName": "Jan", "lastName": "Claes",
        "profession": "CLINICAL_PSYCHOLOGIST", "practiceName": "Praktijk De Linde",
        "address": {"street": "Lindestraat", "houseNumber": "5", "box": None, "zipCode": "9690",
                    "municipality": "Kluisbergen"},
        "phone": "+3255998877", "email": "jan@praktijkdelinde.be", "website": None,
        "languages": ["nl", "fr"], "specialisations": ["trauma"], "targetGroups": ["adults"],
        "serviceArea": ["Kluisbergen", "Oudenaarde", "Zwalm"],
        "acceptsNewClients": True, "status": "ACTIVE"}
    assert summary.rows_read == 3
    assert summary.invalid_rows == []


async def test_the_next_export_publishes_the_changed_and_the_missing_member_only(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, AN, PIETER]), 20261128)
    summary, published = await ingest(ingest_db, export(
        tmp_path / "b.csv", [changed(AN, phone="+3255000000"), JAN], sep=","), 20261205)
    assert published.kinds() == {(UPSERTED, "vvkp:4712"), (REMOVED, "vvkp:4713")}
    assert published[0]["data"]["phone"] == "+3255000000"
    assert published[1]["data"] == {"sourceVersion": 20261205, "associationId": "vvkp",
                                    "memberId": "4713"}
    assert published[1]["id"] == "vvkp-4713-20261205"
    counts = (summary.members_upserted, summary.members_unchanged, summary.members_removed)
    assert counts == (1, 1, 1)


async def test_a_member_who_returns_is_published_again(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, PIETER]), 1)
    await ingest(ingest_db, export(tmp_path / "b.csv", [JAN]), 2)
    _, published = await ingest(ingest_db, export(tmp_path / "c.csv", [JAN, PIETER]), 3)
    assert published.kinds() == {(UPSERTED, "vvkp:4713")}


@pytest.mark.parametrize(("sep", "bom"), [(";", False), (",", False), (";", True), (",", True)])
async def test_semicolon_comma_and_bom_exports_read_the_same(
    ingest_db: asyncpg.Connection, tmp_path: Path, sep: str, bom: bool,
) -> None:
    reference, variant = Published(), Published()
    await ingest_association_csv(ingest_db, "ref", export(tmp_path / "r.csv", [JAN, AN, LIES]),
                                 reference, source_version=1)
    await ingest_association_csv(ingest_db, "var", export(
        tmp_path / "v.csv", [JAN, AN, LIES], sep=sep, bom=bom), variant, source_version=1)
    strip = [{**e["data"], "associationId": None} for e in reference]
    assert [{**e["data"], "associationId": None} for e in variant] == strip
    assert variant[2]["data"]["serviceArea"] == ["45062", "45064"]


async def test_bad_rows_are_reported_by_line_and_their_members_are_not_removed(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, AN, PIETER, LIES]), 1)
    rows = [changed(JAN, phone="+3255111111"), PIETER[:12],
            changed(LIES, accepts_new_clients="misschien")]
    summary, published = await ingest(ingest_db, export(tmp_path / "b.csv", rows), 2)
    assert [(row.file, row.line) for row in summary.invalid_rows] == [("b.csv", 3), ("b.csv", 4)]
    assert "expected 20 columns, got 12" in summary.invalid_rows[0].reason
    assert "accepts_new_clients" in summary.invalid_rows[1].reason
    assert published.kinds() == {(UPSERTED, "vvkp:4711"), (REMOVED, "vvkp:4712")}


async def test_a_row_without_member_id_suppresses_removals_for_that_export(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, AN]), 1)
    rows = [JAN, changed(AN, member_id="")]
    summary, published = await ingest(ingest_db, export(tmp_path / "b.csv", rows), 2)
    assert published == []
    assert summary.removals_suppressed
    assert [(r.line, r.reason) for r in summary.invalid_rows] == [(3, "member_id is empty")]


async def test_a_truncated_export_keeps_its_complete_rows_and_reports_the_broken_one(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    path = export(tmp_path / "a.csv", [JAN, AN])
    path.write_bytes(path.read_bytes() + b'4713;54263481527;"Pieter;Van Da')
    summary, published = await ingest(ingest_db, path, 1)
    assert published.kinds() == {(UPSERTED, "vvkp:4711"), (UPSERTED, "vvkp:4712")}
    assert [row.line for row in summary.invalid_rows] == [4]


async def test_a_line_that_is_not_utf8_costs_only_its_row(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    path = export(tmp_path / "a.csv", [JAN, changed(AN, last_name="De Smet@@"), PIETER])
    path.write_bytes(path.read_bytes().replace(b"@@", b"\xff"))  # latin-1 debris
    summary, published = await ingest(ingest_db, path, 1)
    assert [(r.line, r.reason) for r in summary.invalid_rows] == [(3, "not valid UTF-8")]
    assert published.kinds() == {(UPSERTED, "vvkp:4711"), (UPSERTED, "vvkp:4713")}


async def test_an_export_whose_version_does_not_grow_is_refused(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN]), 20261128)
    with pytest.raises(IngestError, match="sourceVersion 20261128 refused"):
        await ingest(ingest_db, export(tmp_path / "b.csv", []), 20261128)


async def test_an_export_without_any_member_is_refused_rather_than_emptying_the_list(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, export(tmp_path / "a.csv", [JAN, AN]), 1)
    published = Published()
    with pytest.raises(IngestError, match="lists no member at all"):
        await ingest_association_csv(ingest_db, "vvkp", export(tmp_path / "b.csv", []),
                                     published, source_version=2)
    assert published == []


async def test_a_misspelt_known_column_is_refused_naming_both(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Reading past ``zipcode`` would drop every member's postcode: the file is refused."""
    header = [column if column != "zip_code" else "zipcode" for column in HEADER]
    with pytest.raises(IngestError, match="'zipcode' is not known and 'zip_code' is missing"):
        await ingest(ingest_db, export(tmp_path / "a.csv", [JAN], header=header), 1)


async def test_an_unknown_column_is_read_past_and_reported(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """One extra column (a remark) does not refuse the file: the members are published as
    without it, and the summary names the column."""
    path = export(tmp_path / "a.csv", [[*JAN, "belt graag"], [*AN, ""]],
                  header=[*HEADER, "opmerking"])
    summary, published = await ingest(ingest_db, path, 1)
    assert summary.ignored_columns == ("opmerking",)
    assert summary.members_upserted == 2
    assert summary.invalid_row_count == 0
    plain, _ = await ingest(ingest_db, export(tmp_path / "b.csv", [JAN, AN]), 2)
    assert plain.members_unchanged == 2  # the column changed nothing a member says
    assert "belt graag" not in str(published[0])


async def test_the_old_postcode_column_is_read_as_zip_code(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """One name for one thing: postcode (the export's old name) means zip_code."""
    header = [column if column != "zip_code" else "postcode" for column in HEADER]
    summary, published = await ingest(ingest_db, export(tmp_path / "a.csv", [JAN],
                                                        header=header), 1)
    assert summary.ignored_columns == ()
    assert published[0]["data"]["address"]["zipCode"] == "9690"
