"""Stored values as an editor reads them on the console."""

from __future__ import annotations

from sync.console.readable import readable


def test_an_address_reads_as_one_line() -> None:
    """Street, number and box, then postcode and municipality."""
    address = {"street": {"nl": "Kerkstraat"}, "houseNumber": "12", "box": "3",
               "postcode": "9700", "municipality": "Oudenaarde", "nis": "45035"}
    assert readable([address]) == "Kerkstraat 12 bus 3, 9700 Oudenaarde"


def test_a_name_per_language_reads_in_dutch_and_a_profession_by_its_label() -> None:
    """Dutch first; a coded entry shows its label and its code."""
    assert readable({"fr": "AZ Audenarde", "nl": "AZ Oudenaarde"}) == "AZ Oudenaarde"
    assert readable({"fr": "AZ Audenarde"}) == "AZ Audenarde"
    profession = {"code": "GENERAL_PRACTITIONER", "nl": "huisarts", "fr": "médecin"}
    assert readable([profession]) == "huisarts (GENERAL_PRACTITIONER)"


def test_other_values_read_plainly() -> None:
    """Lists joined, objects as key: value, nothing as a dash."""
    assert readable(["nl", "fr"]) == "nl; fr"
    assert readable({"active": True, "reason": None}) == "active: ja"
    assert readable(None) == "—"
