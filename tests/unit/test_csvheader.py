"""The header rule shared by the association CSV and the link-initial export."""

from __future__ import annotations

import pytest

from sync.csvheader import HeaderError, read_header

KNOWN = ("member_id", "zip_code", "phone")
OLD = {"postcode": "zip_code"}


def test_names_are_read_in_lower_case_and_old_names_as_todays() -> None:
    header = read_header([" Member_ID", "Postcode", "phone"], KNOWN, OLD)
    assert header.columns == ("member_id", "zip_code", "phone")
    assert header.unknown == ()


def test_an_unknown_column_is_kept_in_place_and_reported() -> None:
    """Kept in place, so that the rows' fields still line up with the names."""
    header = read_header(["member_id", "remark", "zip_code"], KNOWN, OLD)
    assert header.columns == ("member_id", "remark", "zip_code")
    assert header.unknown == ("remark",)
    assert "remark" in header.report()


@pytest.mark.parametrize("name", ["zipcode", "zip-code", "zip_cde"])
def test_an_unknown_column_that_looks_like_a_missing_one_is_refused(name: str) -> None:
    with pytest.raises(HeaderError, match="zip_code"):
        read_header(["member_id", name], KNOWN, OLD)


def test_a_look_alike_of_a_column_that_is_present_is_only_reported() -> None:
    """zip_code is there: a zipcode column besides it loses nothing."""
    assert read_header(["member_id", "zip_code", "zipcode"], KNOWN, OLD).unknown == ("zipcode",)


def test_a_column_under_its_old_and_its_new_name_is_refused() -> None:
    with pytest.raises(HeaderError, match="zip_code given twice"):
        read_header(["member_id", "postcode", "zip_code"], KNOWN, OLD)
