"""KBO Open Data ZIPs in the real format, ingested into a real PostgreSQL: which entity events
come out of a Full extract and of the Update that follows it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.cloudevents import CloudEvent
from sync.ingest.common import IngestError, InvalidRow
from sync.ingest.kbo import KboIngestSummary, ingest_kbo_zip
from sync.mapping import MappingContext
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier, ApplyResult
from tests.support.infra import Infrastructure
from tests.support.ingest_db import Published, fresh_database
from tests.support.kbo_zip import (
    activity,
    address,
    contact,
    denomination,
    enterprise,
    enterprise_number,
    establishment,
    establishment_number,
    write_full_zip,
    write_update_zip,
)

UPSERTED = "be.fgov.economie.kbo.entity.upserted"
REMOVED = "be.fgov.economie.kbo.entity.removed"

HOSPITAL = enterprise_number(4030192)  # 0403.019.261, renamed in the Update
CARE_HOME = enterprise_number(5669882)  # 0566.988.259, names deleted and reinserted
HOME_CARE = enterprise_number(8123456)  # stopped in the Update
SHOP = enterprise_number(4567890)  # NACE 47: never a fiche
GROUP_PRACTICE = enterprise_number(6543210)  # care only through its unit
DOCTOR = enterprise_number(7001234)  # natural person, only a unit address
LINKED = enterprise_number(4445556)  # NACE 70 but already linked to a fiche
NEWCOMER = enterprise_number(7778889)  # created in the Update
PRACTICE_UNIT = establishment_number(21234567)
DOCTOR_UNIT = establishment_number(22345678)
GENT = ("Gent", "Gand")


def full_tables() -> dict[str, list[Any]]:
    return {
        "enterprise": [enterprise(n) for n in (HOSPITAL, CARE_HOME, HOME_CARE, SHOP,
                                               GROUP_PRACTICE, LINKED)]
        + [enterprise(DOCTOR, kind="1", start="15-09-2012")],
        "establishment": [establishment(PRACTICE_UNIT, GROUP_PRACTICE),
                          establishment(DOCTOR_UNIT, DOCTOR, start="15-09-2012")],
        "denomination": [
            denomination(HOSPITAL, "AZ Oudenaarde"),
            denomination(HOSPITAL, "AZ Audenarde", language="1"),
            denomination(CARE_HOME, "WZC De Linde"), denomination(CARE_HOME, "DL", kind="002"),
            denomination(HOME_CARE, "Thuiszorg Vlaamse Ardennen"),
            denomination(SHOP, "Bakkerij Peeters"),
            denomination(GROUP_PRACTICE, "Groepspraktijk Scheldekant"),
            denomination(PRACTICE_UNIT, "Huisartsen Scheldekant", kind="003"),
            denomination(LINKED, "Zorgnet Zuid-Oost-Vlaanderen"),
        ],
        "address": [address(HOSPITAL, street=("Minderbroedersstraat", "Minderbroedersstraat"),
                            number="3"),
                    address(CARE_HOME), address(HOME_CARE, zipcode="9000", municipality=GENT),
                    address(SHOP, zipcode="9000", municipality=GENT),
                    address(GROUP_PRACTICE), address(LINKED),
                    address(PRACTICE_UNIT, kind="BAET", street=("Broodstraat", "Broodstraat")),
                    address(DOCTOR_UNIT, kind="BAET", street=("Veldstraat", "Rue des Champs"),
                            number="12", box="B", zipcode="9000", municipality=GENT)],
        "contact": [contact(HOSPITAL, "TEL", "055336111"),
                    contact(DOCTOR_UNIT, "EMAIL", "praktijk@example.be", of="EST")],
        "activity": [activity(HOSPITAL, "86101"), activity(CARE_HOME, "87101", version="2025"),
                     activity(HOME_CARE, "88101"), activity(SHOP, "47241"),
                     activity(GROUP_PRACTICE, "70220"), activity(PRACTICE_UNIT, "86210"),
                     activity(DOCTOR_UNIT, "86210", group="003"), activity(LINKED, "70220")],
    }


def update_changes() -> dict[str, Any]:
    """Renamed hospital, identical names reinserted, one enterprise stopped, a shop renamed,
    a phone for the group practice's unit, the doctor's only unit closed and a new care
    enterprise."""
    return {
        "deletes": {"enterprise": [HOME_CARE], "establishment": [DOCTOR_UNIT],
                    "denomination": [HOSPITAL, CARE_HOME, HOME_CARE, SHOP],
                    "address": [CARE_HOME, HOME_CARE, DOCTOR_UNIT],
                    "contact": [DOCTOR_UNIT], "activity": [HOME_CARE, DOCTOR_UNIT]},
        "inserts": {"enterprise": [enterprise(NEWCOMER)],
                    "denomination": [denomination(HOSPITAL, "AZ Oudenaarde campus Ename"),
                                     denomination(HOSPITAL, "AZ Audenarde", language="1"),
                                     denomination(CARE_HOME, "DL", kind="002"),
                                     denomination(CARE_HOME, "WZC De Linde"),
                                     denomination(SHOP, "Bakkerij Peeters & Zoon"),
                                     denomination(NEWCOMER, "Psychologenpraktijk De Brug")],
                    "address": [address(CARE_HOME)],
                    "contact": [contact(PRACTICE_UNIT, "TEL", "092123456", of="EST")],
                    "activity": [activity(NEWCOMER, "86904")]},
    }


@pytest.fixture
async def ingest_db(infra: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(infra.database_url) as conn:
        yield conn




async def linked() -> set[str]:
    return {LINKED.replace(".", "")}


def digits(number: str) -> str:
    return number.replace(".", "")


async def ingest(conn: asyncpg.Connection, path: Path) -> tuple[KboIngestSummary, Published]:
    published = Published()
    summary = await ingest_kbo_zip(conn, path, published, linked=linked)
    return summary, published


async def test_a_full_extract_publishes_every_care_relevant_or_linked_enterprise(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Care NACE on the enterprise or on a unit, or linked: published; the shop is not."""
    summary, published = await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100,
                                                                full_tables()))
    assert published.kinds() == {(UPSERTED, digits(n)) for n in (
        HOSPITAL, CARE_HOME, HOME_CARE, GROUP_PRACTICE, DOCTOR, LINKED)}
    assert (summary.entities_upserted, summary.entities_not_relevant) == (6, 1)
    assert summary.rows_read["denomination.csv"] == 9
    assert summary.invalid_rows == []


async def test_a_natural_person_carries_only_its_unit_address_in_the_event_shape(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """The whole CloudEvent of a natural-person enterprise, exactly."""
    _, published = await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100,
                                                          full_tables()))
    event = next(e for e in published if e["subject"] == digits(DOCTOR))
    assert event == {
        "specversion": "1.0", "id": "kbo-0700123432-100", "source": "urn:be:fgov:economie:kbo",
        "type": UPSERTED, "time": "2026-11-28T00:00:00Z", "subject": "0700123432",
        "datacontenttype": "application/json",
        "data": {
            "sourceVersion": 100, "enterpriseNumber": "0700123432", "status": "AC",
            "juridicalSituation": "000", "typeOfEnterprise": "natural", "juridicalForm": None,
            "startDate": "2012-09-15", "denominations": [], "addresses": [], "contacts": [],
            "activities": [],
            "establishments": [{
                "establishmentNumber": "2234567818", "startDate": "2012-09-15",
                "denominations": [],
                "addresses": [{"type": "BAET", "countryNL": None, "zipcode": "9000",
                               "municipalityNL": "Gent", "municipalityFR": "Gand",
                               "streetNL": "Veldstraat", "streetFR": "Rue des Champs",
                               "houseNumber": "12", "box": "B", "extraAddressInfo": None,
                               "dateStrikingOff": None}],
                "contacts": [{"type": "EMAIL", "value": "praktijk@example.be"}],
                "activities": [{"group": "003", "naceVersion": "2008", "naceCode": "86210",
                                "classification": "MAIN"}],
            }],
        },
    }


async def test_an_update_publishes_only_real_changes(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Renamed: upserted. Same names deleted and reinserted: nothing. Stopped: removed.
    Shop renamed: nothing. New phone on a unit: upserted. New care enterprise: upserted.
    Only care unit closed: upserted, no longer care but its fiche must hear of it."""
    await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100, full_tables()))
    summary, published = await ingest(ingest_db, write_update_zip(
        tmp_path / "u.zip", 101, **update_changes()))
    assert published.kinds() == {(UPSERTED, digits(HOSPITAL)), (REMOVED, digits(HOME_CARE)),
                                 (UPSERTED, digits(GROUP_PRACTICE)), (UPSERTED, digits(NEWCOMER)),
                                 (UPSERTED, digits(DOCTOR))}
    assert published.of(digits(DOCTOR))["establishments"] == []
    assert [d["value"] for d in published.of(digits(HOSPITAL))["denominations"]] == [
        "AZ Audenarde", "AZ Oudenaarde campus Ename"]
    assert published.of(digits(HOME_CARE)) == {"sourceVersion": 101,
                                               "enterpriseNumber": digits(HOME_CARE)}
    unit = published.of(digits(GROUP_PRACTICE))["establishments"][0]
    assert unit["contacts"] == [{"type": "TEL", "value": "092123456"}]
    assert (summary.entities_upserted, summary.entities_removed) == (4, 1)
    assert summary.entities_unchanged == 1
    assert summary.entities_not_relevant == 1


async def test_an_enterprise_absent_from_a_later_full_is_removed_and_the_rest_unchanged(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100, full_tables()))
    tables = full_tables()
    tables["enterprise"] = [row for row in tables["enterprise"] if row[0] != CARE_HOME]
    summary, published = await ingest(ingest_db, write_full_zip(tmp_path / "g.zip", 140, tables))
    assert published.kinds() == {(REMOVED, digits(CARE_HOME))}
    assert summary.entities_unchanged == 6


async def test_an_update_whose_number_is_not_higher_is_refused_and_publishes_nothing(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100, full_tables()))
    published = Published()
    with pytest.raises(IngestError, match="Update extract 100 refused"):
        await ingest_kbo_zip(ingest_db, write_update_zip(tmp_path / "u.zip", 100,
                                                         **update_changes()), published)
    assert published == []
    assert await ingest_db.fetchval("SELECT count(*) FROM kbo.denomination") == 9


async def test_an_update_before_any_full_is_refused(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    with pytest.raises(IngestError, match="no Full extract"):
        await ingest(ingest_db, write_update_zip(tmp_path / "u.zip", 7, **update_changes()))


async def test_invalid_rows_are_reported_with_file_and_line_and_the_rest_is_ingested(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    tables = full_tables()
    tables["enterprise"].insert(1, enterprise("0403.019.262"))  # wrong check digits: line 3
    tables["activity"].append(("0403.019.261", "001", "2008", "86101"))  # 4 columns: line 10
    tables["establishment"].append(establishment(establishment_number(23456789), SHOP,
                                                 start="31-02-2020"))  # no such date: line 4
    summary, _ = await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100, tables))
    assert [(row.file, row.line) for row in summary.invalid_rows] == [
        ("enterprise.csv", 3), ("establishment.csv", 4), ("activity.csv", 10)]
    assert isinstance(summary.invalid_rows[0], InvalidRow)
    assert "check digits" in summary.invalid_rows[0].reason
    assert summary.invalid_row_count == 3
    assert summary.entities_upserted == 6


async def test_by_default_enterprises_linked_in_fiche_identifier_are_published(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Without a ``linked`` callback the CBE identifiers of fiches decide (table of 0001)."""
    await ingest_db.execute("CREATE TABLE fiche_identifier (type text, value text, fiche_id uuid)")
    await ingest_db.execute("INSERT INTO fiche_identifier VALUES ('CBE', $1, gen_random_uuid())",
                            digits(SHOP))
    published, seen = Published(), list[tuple[str, int]]()
    path = write_full_zip(tmp_path / "f.zip", 100, full_tables())
    await ingest_kbo_zip(ingest_db, path, published, progress=lambda what, n: seen.append(
        (what, n)))
    assert (UPSERTED, digits(SHOP)) in published.kinds()
    assert (UPSERTED, digits(LINKED)) not in published.kinds()
    assert ("enterprise.csv", 7) in seen
    assert ("entities", 7) in seen


CAMPUS = establishment_number(23456789)  # opened by the hospital in the Update


def moves() -> dict[str, Any]:
    """An Update of legal persons only: the hospital's seat moves and it opens a campus; the
    group practice's unit moves."""
    return {
        "deletes": {"address": [HOSPITAL, PRACTICE_UNIT]},
        "inserts": {
            "establishment": [establishment(CAMPUS, HOSPITAL, start="01-12-2026")],
            "denomination": [denomination(CAMPUS, "AZ Oudenaarde campus Ronse", kind="003")],
            "address": [address(HOSPITAL, street=("Bourgondiëstraat", "Bourgondiëstraat")),
                        address(PRACTICE_UNIT, kind="BAET", street=("Kerkstraat", "Kerkstraat"),
                                number="14"),
                        address(CAMPUS, kind="BAET", zipcode="9600",
                                municipality=("Ronse", "Renaix"))],
        },
    }


async def test_an_update_that_moves_a_seat_or_a_unit_publishes_the_whole_new_state(
    ingest_db: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Seat address, unit address and a new unit of legal persons are in the events."""
    await ingest(ingest_db, write_full_zip(tmp_path / "f.zip", 100, full_tables()))
    _, published = await ingest(ingest_db, write_update_zip(tmp_path / "u.zip", 101, **moves()))
    assert published.kinds() == {(UPSERTED, digits(HOSPITAL)), (UPSERTED, digits(GROUP_PRACTICE))}
    hospital = published.of(digits(HOSPITAL))
    assert [a["streetNL"] for a in hospital["addresses"]] == ["Bourgondiëstraat"]
    assert [u["establishmentNumber"] for u in hospital["establishments"]] == [digits(CAMPUS)]
    (unit,) = published.of(digits(GROUP_PRACTICE))["establishments"]
    assert [(a["streetNL"], a["houseNumber"]) for a in unit["addresses"]] == [("Kerkstraat", "14")]


async def apply_published(applier: Applier, published: Published) -> dict[str, ApplyResult]:
    """Map and apply every published event, as the service does; results by subject."""
    context = MappingContext(ssin_secret=b"k" * 32)
    results = {}
    for event in published:
        (update,) = map_event(CloudEvent.model_validate(event), context)
        [results[event["subject"]]] = await applier.apply([update])
    return results


async def test_seat_and_unit_moves_of_legal_persons_change_their_fiches(
    pg_pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    """Through mapping and apply on the real store: each KBO change is a new fiche version
    whose visible values show it (the seat, and each unit as a location)."""
    applier = Applier(pg_pool, default_policy(), {"fiche_event": "e", "notification": "n"})
    async with pg_pool.acquire() as conn:
        _, full = await ingest(conn, write_full_zip(tmp_path / "f.zip", 100, full_tables()))
        await apply_published(applier, full)
        _, update = await ingest(conn, write_update_zip(tmp_path / "u.zip", 101, **moves()))
    results = await apply_published(applier, update)
    hospital, practice = results[digits(HOSPITAL)], results[digits(GROUP_PRACTICE)]
    assert (hospital.event_type, hospital.version) == ("updated", 2)
    assert (practice.event_type, practice.version) == ("updated", 2)
    async with pg_pool.acquire() as conn:
        seen = await conn.fetchval("SELECT visible FROM fiche WHERE id = $1", hospital.fiche_id)
        units = await conn.fetchval("SELECT visible->'establishments' FROM fiche WHERE id = $1",
                                    practice.fiche_id)
    visible = json.loads(seen)
    assert visible["seat"]["street"] == "Bourgondiëstraat"
    assert [(u["establishmentNumber"], u["address"]["municipality"], u["name"])
            for u in visible["establishments"]] == [
        (digits(CAMPUS), "Ronse", {"nl": "AZ Oudenaarde campus Ronse"})]
    assert [u["address"]["street"] for u in json.loads(units)] == ["Kerkstraat"]


async def test_a_closed_unit_of_a_legal_person_leaves_its_fiche(
    pg_pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    """The campus opened in one Update closes in the next: the hospital's fiche gets a third
    version without it (its number still finds the fiche: identifiers are kept)."""
    applier = Applier(pg_pool, default_policy(), {"fiche_event": "e", "notification": "n"})
    closing = {"deletes": {"establishment": [CAMPUS], "denomination": [CAMPUS],
                           "address": [CAMPUS]}}
    extracts = [write_full_zip(tmp_path / "f.zip", 100, full_tables()),
                write_update_zip(tmp_path / "u.zip", 101, **moves()),
                write_update_zip(tmp_path / "v.zip", 102, **closing)]
    async with pg_pool.acquire() as conn:
        for path in extracts:
            _, published = await ingest(conn, path)
            results = await apply_published(applier, published)
    hospital = results[digits(HOSPITAL)]
    assert (hospital.event_type, hospital.version) == ("updated", 3)
    async with pg_pool.acquire() as conn:
        visible = json.loads(await conn.fetchval("SELECT visible FROM fiche WHERE id = $1",
                                                 hospital.fiche_id))
        owner = await conn.fetchval("SELECT fiche_id FROM fiche_identifier WHERE value = $1",
                                    digits(CAMPUS))
    assert "establishments" not in visible
    assert owner == hospital.fiche_id
