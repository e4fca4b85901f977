"""Specification of municipality and postcode placement (sync.geo)."""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.geo import (
    Municipality,
    municipalities_on,
    municipality,
    normalize_name,
    resolve,
    resolve_service_area,
)

BEFORE_2019, IN_2024, IN_2025 = date(2018, 12, 31), date(2024, 6, 1), date(2025, 6, 1)


def packaged(name: str) -> list[dict[str, str]]:
    """Rows of one of the packaged reference tables."""
    source = resources.files("sync") / "data" / "geo" / name
    with source.open("r", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def nis_of(postcode: str | None, name: str | None, on: date = IN_2025) -> str | None:
    """The NIS code a postcode and/or name resolve to (None when not placed)."""
    return resolve(postcode, name, on=on).nis


# -- realistic examples, each code checked against refnis.csv -----------------------------------


@pytest.mark.parametrize(
    ("postcode", "name", "nis"),
    [
        ("9700", "Oudenaarde", "45035"),
        ("9690", "Kluisbergen", "45060"),
        ("9630", "Zwalm", "45065"),
        ("9000", "Gent", "44021"),
        ("1000", "Brussel", "21004"),
        ("1000", "Bruxelles", "21004"),
        ("1000", "Brussel/Bruxelles", "21004"),
        ("9100", "Sint-Niklaas", "46021"),
    ],
)
def test_postcode_and_name_of_an_unchanged_municipality_place_it(
    postcode: str, name: str, nis: str
) -> None:
    """A matching postcode and Dutch or French name give the municipality and its NIS code."""
    placement = resolve(postcode, name, on=IN_2025)
    assert (placement.placed, placement.nis, placement.postcode) == (True, nis, postcode)
    assert placement.reason is None


@pytest.mark.parametrize(
    ("name", "nis", "municipality_nl"),
    [
        ("Galmaarden", "23106", "Pajottegem"),
        ("Gammerages", "23106", "Pajottegem"),
        ("Meulebeke", "37022", "Tielt"),
        ("Tielt", "37022", "Tielt"),
        ("Borsbeek", "11002", "Antwerpen"),
        ("Zwijndrecht", "46030", "Beveren-Kruibeke-Zwijndrecht"),
        ("Kortessem", "71072", "Hasselt"),
        ("Bertogne", "82039", "Bastenaken"),
    ],
)
def test_a_municipality_merged_in_2025_resolves_to_its_successor(
    name: str, nis: str, municipality_nl: str
) -> None:
    """Old names (any language) lead to today's NIS code and Dutch name."""
    placement = resolve(None, name, on=IN_2025)
    assert (placement.nis, placement.municipality_nl) == (nis, municipality_nl)


@pytest.mark.parametrize(
    ("name", "nis"),
    [("Kruishoutem", "45068"), ("Zingem", "45068"), ("Nevele", "44083"), ("Merendree", "44083"),
     ("Knesselare", "44084"), ("Zomergem", "44085"), ("Opglabbeek", "72042"),
     ("Overpelt", "72043"), ("Sint-Amands", "12041")],
)  # fmt: skip
def test_a_municipality_merged_in_2019_resolves_to_its_successor(name: str, nis: str) -> None:
    """2019 mergers: Nevele went whole to Deinze, Merendree included (not to Lievegem)."""
    assert nis_of(None, name, on=IN_2024) == nis_of(None, name) == nis


def test_the_date_decides_which_code_an_old_name_gets() -> None:
    """Before a merger the old municipality is returned; a new one does not exist yet."""
    assert nis_of(None, "Galmaarden", on=IN_2024) == "23023"
    assert nis_of(None, "Nevele", on=BEFORE_2019) == "44049"
    assert nis_of("9850", None, on=BEFORE_2019) == "44049"
    unborn = resolve(None, "Pajottegem", on=IN_2024)
    assert not unborn.placed
    assert "Pajottegem" in (unborn.reason or "")


def test_walloon_municipalities_renumbered_in_2019_follow_their_new_code() -> None:
    """Hainaut's new arrondissements gave Mouscron and La Louvière new codes, not new borders."""
    assert resolve_service_area("54007", on=IN_2024).nis == "57096"
    assert nis_of(None, "La Louvière", on=IN_2024) == "58001"


def test_a_section_name_places_its_municipality() -> None:
    """Deelgemeenten resolve to the municipality they belong to, e.g. Aaigem -> Erpe-Mere."""
    assert nis_of(None, "Aaigem") == "41082"
    assert nis_of("9690", "Ruien") == "45060"


def test_matching_ignores_accents_case_punctuation_and_saint_spelling() -> None:
    """'ST JOOST TEN NODE', 'sint-joost-ten-node' and 'Lüttich' (German) all match."""
    assert nis_of(None, "ST JOOST TEN NODE") == nis_of(None, "sint-joost-ten-node") == "21014"
    assert nis_of(None, "Lüttich") == nis_of(None, "LIEGE") == nis_of(None, "Luik") == "62063"
    assert normalize_name("'s Gravenwezel") == "s gravenwezel"


def test_a_qualified_name_is_matched_with_or_without_its_qualifier() -> None:
    """Statbel's 'Tielt (Tielt)' and a user's 'Tielt (West-Vlaanderen)' both match Tielt."""
    assert nis_of(None, "Tielt (West-Vlaanderen)", on=IN_2024) == "37015"
    assert nis_of(None, "Saint-Nicolas (Liège)") == "62093"


# -- ambiguity and failure ----------------------------------------------------------------------


def test_a_name_shared_by_several_places_is_not_placed_without_a_postcode() -> None:
    """Deurne is a district of Antwerpen and a section of Diest: the reason names both."""
    placement = resolve(None, "Deurne", on=IN_2025)
    assert not placement.placed
    assert placement.nis is None
    assert "11002" in (placement.reason or "")
    assert "24020" in (placement.reason or "")


def test_a_postcode_settles_a_shared_name() -> None:
    """Kapellen alone is the Antwerp municipality; with 3381 it is the section in Glabbeek."""
    assert nis_of(None, "Kapellen") == nis_of("2950", "Kapellen") == "11023"
    assert nis_of("3381", "Kapellen") == "24137"
    assert nis_of("2100", "Deurne") == "11002"


def test_a_postcode_and_name_that_disagree_are_not_placed() -> None:
    """9000 lies in Gent, not Brugge: guessing either would misplace the fiche."""
    placement = resolve("9000", "Brugge", on=IN_2025)
    assert not placement.placed
    assert "9000" in (placement.reason or "")


def test_an_unknown_name_falls_back_to_the_postcode_and_vice_versa() -> None:
    """A hamlet unknown to the tables still places by postcode; a new postcode by name."""
    assert nis_of("9630", "Sint-Denijs-Boekel-Dorp") == "45065"
    assert nis_of("9999", "Gent") == "44021"


@pytest.mark.parametrize(
    ("postcode", "name", "reason"),
    [("1234", None, "unknown postcode 1234"), ("abc", None, "not a Belgian postcode"),
     (None, "Atlantis", "unknown municipality"), (None, None, "nothing given"),
     ("  ", "  ", "nothing given")],
)  # fmt: skip
def test_unknown_input_is_not_placed_and_says_why(
    postcode: str | None, name: str | None, reason: str
) -> None:
    """Nothing raises; the reason is readable by whoever fixes the data."""
    placement = resolve(postcode, name, on=IN_2025)
    assert not placement.placed
    assert reason in (placement.reason or "")


@settings(deadline=None)  # the first example may pay for loading the tables
@given(st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.text(max_size=30)))
def test_resolve_never_raises(postcode: str | None, name: str | None) -> None:
    """Arbitrary text gives a Placement; placed ones carry a known, current NIS code."""
    placement = resolve(postcode, name, on=IN_2025)
    if placement.placed:
        found = municipality(placement.nis or "")
        assert found is not None
        assert found.valid_on(IN_2025)
    else:
        assert placement.nis is None
        assert placement.reason


@pytest.mark.parametrize("postcode", ["B-9000", "BE-9000", "B 9000", " 9000 "])
def test_postcode_prefixes_and_spaces_are_accepted(postcode: str) -> None:
    """Country prefixes as written on envelopes are stripped."""
    assert resolve(postcode, None, on=IN_2025).postcode == "9000"


# -- service areas and the tables ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "nis"),
    [("23023", "23106"), ("44049", "44083"), ("21004", "21004"), ("Gent", "44021"),
     ("Meulebeke", "37022")],
)  # fmt: skip
def test_a_service_area_is_a_name_or_a_nis_code_old_codes_included(item: str, nis: str) -> None:
    """Old NIS codes map to today's municipality, like old names."""
    assert resolve_service_area(item, on=IN_2025).nis == nis


def test_an_unknown_nis_code_is_not_a_service_area() -> None:
    """A 5-digit code Statbel never issued is refused with a reason."""
    placement = resolve_service_area("99999")
    assert not placement.placed
    assert "99999" in (placement.reason or "")


def test_municipality_lookup_keeps_validity_dates() -> None:
    """Merged municipalities end on 31 December; their successors start on 1 January."""
    assert municipality("23023") == Municipality(
        "23023", "Galmaarden", "Gammerages", date(1970, 1, 1), date(2024, 12, 31)
    )
    pajottegem = Municipality("23106", "Pajottegem", None, date(2025, 1, 1), None)
    assert municipality("23106") == pajottegem
    assert municipality("00000") is None


@pytest.mark.parametrize(("day", "count"), [(BEFORE_2019, 589), (IN_2024, 581), (IN_2025, 565)])
def test_the_number_of_municipalities_matches_statbel(day: date, count: int) -> None:
    """589 before 2019, 581 in 2019-2024, 565 from 2025 (DOMAIN.md)."""
    assert len(municipalities_on(day)) == count


@pytest.mark.parametrize("day", [BEFORE_2019, IN_2024, IN_2025])
def test_every_municipality_name_resolves_to_itself_or_is_reported_ambiguous(day: date) -> None:
    """Dutch and French names place their own municipality; a shared name (Saint-Nicolas) is
    reported as ambiguous, never resolved to the wrong one."""
    for found in municipalities_on(day):
        for name in filter(None, (found.name_nl, found.name_fr)):
            placement = resolve(None, name, on=day)
            assert placement.nis == found.nis or found.nis in (placement.reason or ""), name


def test_every_packaged_place_resolves_with_its_postcode() -> None:
    """Each (postcode, place) row of postcodes.csv places a current municipality."""
    rows = packaged("postcodes.csv")
    assert [r for r in rows if not resolve(r["postcode"], r["place"], on=IN_2025).placed] == []


def test_every_succession_ends_in_a_current_municipality() -> None:
    """No chain of successors breaks or loops: the successor is valid the day after the old code
    ends (Antwerpen kept its code when it absorbed Borsbeek)."""
    for row in packaged("successors.csv"):
        old, new = municipality(row["old_nis"]), municipality(row["new_nis"])
        effective = date.fromisoformat(row["effective"])
        assert old
        assert new
        assert old.valid_to
        assert (effective - old.valid_to).days == 1
        assert new.valid_on(effective)
        assert not old.valid_on(effective)
        assert resolve_service_area(row["old_nis"], on=IN_2025).placed
