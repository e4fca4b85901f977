"""The table of everyday profession labels (sync/data/profession_labels.csv)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.matching.export import ExportError, ExportRow, UnknownColumns, read_export
from sync.professions import _ALL, fold_label, label_table, profession_of_label

HEADER = ("id,kind,first_name,last_name,name,profession,street,house_number,zip_code,"
          "municipality,phone,email,kbo_number")


@pytest.mark.parametrize(("label", "code"), [
    ("thuisverpleegkundige", "NURSE"),
    ("Thuis-verpleegkundige", "NURSE"),
    ("zelfstandig verpleegkundige", "NURSE"),
    ("Infirmière à domicile", "NURSE"),
    ("huisarts", "GENERAL_PRACTITIONER"),
    ("kinesist", "PHYSIOTHERAPIST"),
    ("Kiné", "PHYSIOTHERAPIST"),
    ("vroedvrouw", "MIDWIFE"),
    ("dietist", "DIETICIAN"),
    ("logopède", "SPEECH_THERAPIST"),
    ("klinisch psycholoog", "CLINICAL_PSYCHOLOGIST"),
    ("BOV-coach", "BOV_COACH"),
    ("general_practitioner", "GENERAL_PRACTITIONER"),
])
def test_an_everyday_label_names_its_canonical_profession(label: str, code: str) -> None:
    """Case, accents, hyphens and spaces do not change what a label means."""
    found = profession_of_label(label)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize("label", ["psychotherapeut", "astroloog", "coach", "", "verpleeg"])
def test_a_label_the_table_does_not_know_names_no_profession(label: str) -> None:
    """No guessing: an unknown or partial label is refused, not matched to a near one."""
    assert profession_of_label(label) is None


def test_every_profession_is_known_by_its_code_and_its_dutch_and_french_names() -> None:
    """The table holds each canonical profession under its own names without a line."""
    for item in _ALL:
        for name in (item.code, item.nl, item.fr):
            assert label_table()[fold_label(name)] == item.code


def test_every_line_of_the_table_names_a_known_code_once() -> None:
    """Each label of the data file maps to exactly one canonical code."""
    table = label_table()
    assert set(table.values()) == {item.code for item in _ALL}
    assert table[fold_label("thuisverpleegkundige")] == "NURSE"


def test_an_export_row_may_give_its_profession_by_an_everyday_label() -> None:
    """A home nurse's row loads with the canonical NURSE profession."""
    [row] = read_export([HEADER, "SK-1,person,Els,Wouters,,thuisverpleegkundige,,,,,,,"],
                        datetime.now(UTC))
    assert isinstance(row, ExportRow)
    assert row.event["data"]["fields"]["professions"][0]["code"] == "NURSE"


def test_an_export_row_with_an_unknown_label_carries_the_label_for_the_report() -> None:
    """The refused label travels with the error, so the run can count it."""
    [error] = read_export([HEADER, "SK-1,person,Els,Wouters,,astroloog,,,,,,,"],
                          datetime.now(UTC))
    assert isinstance(error, ExportError)
    assert error.label == "astroloog"
    assert "line 2" in str(error)


def test_an_export_with_the_old_postcode_column_reads_it_as_zip_code() -> None:
    """Exports made before the name was aligned with the association CSV still load."""
    header = HEADER.replace("zip_code", "postcode")
    [row] = read_export([header, "SK-1,person,An,Peeters,,huisarts,Kerkstraat,12,9770,"
                         "Kruishoutem,,,"], datetime.now(UTC))
    assert isinstance(row, ExportRow)
    assert row.event["data"]["fields"]["addresses"][0]["postcode"] == "9770"


def test_an_export_column_the_format_does_not_know_is_reported_and_read_past() -> None:
    """One extra column does not refuse the file: it is named once, the rows load."""
    found = list(read_export([HEADER + ",remark", "SK-1,person,An,Peeters,,huisarts,,,,,,,,"
                              "call first"], datetime.now(UTC)))
    assert [type(item) for item in found] == [UnknownColumns, ExportRow]
    assert "remark" in str(found[0])


def test_an_export_giving_one_column_twice_is_refused_with_its_name() -> None:
    """postcode and zip_code together would leave it unclear which one counts."""
    [error] = read_export([HEADER + ",postcode", "SK-1,person,An,Peeters,,,,,,,,,,9770"],
                          datetime.now(UTC))
    assert isinstance(error, ExportError)
    assert "zip_code" in str(error)
