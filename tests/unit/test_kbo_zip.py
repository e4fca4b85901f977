"""Reading KBO ZIPs without a database: guards, required files, meta, numbers, decisions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.ingest.common import IngestError, InvalidRows
from sync.ingest.csvstream import LineSource
from sync.ingest.kbo_emit import Outcome, Previous, decide
from sync.ingest.kbo_rows import TABLES, RowError, entity_number
from sync.ingest.kbo_zip import KboZip, KboZipError, ZipLimits
from tests.support.kbo_zip import (
    denomination,
    enterprise,
    enterprise_number,
    write_full_zip,
    write_update_zip,
)

HOSPITAL = enterprise_number(4030192)


def test_a_zip_bomb_is_refused_before_anything_is_decompressed(tmp_path: Path) -> None:
    """20 MB of zeros deflate to about 20 kB: a ratio no KBO CSV reaches."""
    bomb = {"enterprise.csv": b"\0" * (20 << 20)}
    path = write_full_zip(tmp_path / "bomb.zip", 100, {}, raw=bomb)
    with pytest.raises(KboZipError, match=r"enterprise\.csv: compression ratio too high"):
        KboZip(path)


def test_a_member_declared_bigger_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_full_zip(tmp_path / "f.zip", 100, {"enterprise": [enterprise(HOSPITAL)]})
    with pytest.raises(KboZipError, match="bytes unzipped, refused"):
        KboZip(path, ZipLimits(max_member_bytes=100))


def test_reading_stops_at_the_byte_cap_whatever_the_zip_declares() -> None:
    lines = LineSource(io.BytesIO(b"a,b\r\n" * 1000), "x.csv", max_bytes=1000)
    with pytest.raises(IngestError, match=r"x\.csv: more than 1000 bytes"):
        list(lines)


@pytest.mark.parametrize("missing", ["address.csv", "meta.csv", "activity.csv"])
def test_a_full_zip_without_a_required_file_names_that_file(
    tmp_path: Path, missing: str,
) -> None:
    path = write_full_zip(tmp_path / "f.zip", 100, {}, omit=[missing])
    with pytest.raises(KboZipError, match=f"required file {missing} is missing"):
        KboZip(path)


def test_an_update_zip_without_an_insert_file_names_that_file(tmp_path: Path) -> None:
    path = write_update_zip(tmp_path / "u.zip", 101, omit=["contact_insert.csv"])
    with pytest.raises(KboZipError, match=r"contact_insert\.csv is missing from the Update"):
        KboZip(path)


def test_a_file_that_is_not_a_zip_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kbo.zip"
    path.write_text("EnterpriseNumber\n")
    with pytest.raises(KboZipError, match="not a readable ZIP"):
        KboZip(path)


def test_a_header_that_is_not_the_published_one_is_refused(tmp_path: Path) -> None:
    raw = {"denomination.csv": b'"EntityNumber","Language","Denomination"\r\n'}
    path = write_full_zip(tmp_path / "f.zip", 100, {}, raw=raw)
    with KboZip(path) as kbo, pytest.raises(KboZipError, match=r"denomination\.csv: header"):
        list(kbo.rows("denomination.csv", TABLES[2], InvalidRows()))


def test_meta_gives_number_type_and_snapshot_date(tmp_path: Path) -> None:
    with KboZip(write_update_zip(tmp_path / "u.zip", 142, snapshot="01-12-2026")) as kbo:
        assert (kbo.meta.extract_number, kbo.meta.extract_type) == (142, "Update")
        assert kbo.meta.snapshot_date.isoformat() == "2026-12-01"


def test_a_quoted_name_with_commas_quotes_and_a_line_break_is_read_whole(tmp_path: Path) -> None:
    name = 'Vzw "Het Anker", afdeling\nZottegem'
    path = write_full_zip(tmp_path / "f.zip", 100, {"denomination": [
        denomination(HOSPITAL, name), denomination(HOSPITAL, "Tweede")]})
    with KboZip(path) as kbo:
        invalid = InvalidRows()
        rows = list(kbo.rows("denomination.csv", TABLES[2], invalid))
    assert [row[3] for row in rows] == [name, "Tweede"]
    assert invalid.count == 0


def test_a_delete_file_is_read_by_its_first_column_whatever_its_header(tmp_path: Path) -> None:
    path = write_update_zip(tmp_path / "u.zip", 101, deletes={"enterprise": [HOSPITAL, "bad"]})
    with KboZip(path) as kbo:
        invalid = InvalidRows()
        assert list(kbo.deleted("enterprise_delete.csv", invalid)) == ["0403019261"]
    assert [(row.file, row.line) for row in invalid.rows] == [("enterprise_delete.csv", 3)]


@given(st.integers(min_value=0, max_value=19_999_999), st.integers(min_value=1, max_value=96))
def test_enterprise_numbers_pass_their_check_and_a_changed_check_fails(
    first8: int, shift: int,
) -> None:
    number = enterprise_number(first8)
    digits = number.replace(".", "")
    assert entity_number(number) == digits
    wrong = f"{digits[:8]}{(int(digits[8:]) + shift) % 100:02d}"
    with pytest.raises(RowError):
        entity_number(wrong)


def test_the_documented_example_numbers_are_valid() -> None:
    assert entity_number("0403.019.261") == "0403019261"
    assert entity_number("0566.988.259") == "0566988259"


SEEN = Previous(digest="d1", active=True, emitted=True)
SEEN_IRRELEVANT = Previous(digest="d1", active=True, emitted=False)


@pytest.mark.parametrize(("digest", "relevant", "previous", "outcome"), [
    ("d1", True, None, Outcome.UPSERTED),
    ("d1", False, None, Outcome.NOT_RELEVANT),
    ("d1", True, SEEN, Outcome.UNCHANGED),
    ("d2", True, SEEN, Outcome.UPSERTED),
    ("d2", False, SEEN, Outcome.UPSERTED),  # no longer care: the fiche still hears of it
    ("d1", True, SEEN_IRRELEVANT, Outcome.UPSERTED),  # newly linked, same state
    ("d2", False, SEEN_IRRELEVANT, Outcome.NOT_RELEVANT),
    ("d1", False, SEEN_IRRELEVANT, Outcome.UNCHANGED),
    ("d1", True, Previous("d1", active=False, emitted=True), Outcome.UPSERTED),  # back again
    (None, False, SEEN, Outcome.REMOVED),
    (None, False, SEEN_IRRELEVANT, Outcome.NOT_RELEVANT),
    (None, True, SEEN_IRRELEVANT, Outcome.REMOVED),  # linked: its fiche must hear of it
    (None, True, Previous("d1", active=False, emitted=True), Outcome.GONE),
    (None, True, None, Outcome.GONE),
])
def test_what_happens_to_an_enterprise(
    digest: str | None, relevant: bool, previous: Previous | None, outcome: Outcome,
) -> None:
    assert decide(digest, relevant, previous) is outcome


def test_a_zip_with_its_csvs_in_a_folder_is_read_too(tmp_path: Path) -> None:
    flat = write_full_zip(tmp_path / "f.zip", 100, {"enterprise": [enterprise(HOSPITAL)]})
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(flat) as source, zipfile.ZipFile(nested, "w") as target:
        for info in source.infolist():
            target.writestr(f"KboOpenData_0100/{info.filename}", source.read(info))
    with KboZip(nested) as kbo:
        assert [row[0] for row in kbo.rows("enterprise.csv", TABLES[0], InvalidRows())] == [
            "0403019261"]
