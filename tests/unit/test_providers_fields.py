"""What a provider may change and how typed values are checked (sync.providers.fields, view)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.events import FicheKind
from sync.policy import default_policy
from sync.providers.fields import FieldError, changes_from, parse_value
from sync.providers.view import display, editable_fields, rows_of


def test_a_phone_number_is_kept_in_e164_and_a_national_one_is_taken_as_belgian() -> None:
    """055 12 34 56 and +32 55 12 34 56 are one number."""
    assert parse_value("contact.phone", "055 12 34 56") == "+3255123456"
    assert parse_value("contact.phone", "+32 (0)55 12.34.56") == "+3255123456"


@pytest.mark.parametrize(("name", "typed", "says"), [
    ("contact.phone", "12", "phone number"),
    ("contact.phone", "not a number", "phone number"),
    ("contact.email", "an@", "e-mail address"),
    ("contact.website", "ftp://example.be", "web address"),
    ("contact.website", "localhost", "web address"),
    ("languages", "Dutch", "two-letter"),
    ("serviceArea", "Atlantis", "municipality"),
])
def test_bad_input_is_refused_with_a_message_for_its_field(
        name: str, typed: str, says: str) -> None:
    """Each check says what is wrong in words a provider understands."""
    with pytest.raises(FieldError, match=says):
        parse_value(name, typed)


def test_values_are_normalised_as_the_sources_give_them() -> None:
    """Lists one per line, a website with its scheme, a municipality placed by NIS code."""
    assert parse_value("contact.website", "www.example.be") == "https://www.example.be"
    assert parse_value("languages", "NL, fr") == ["nl", "fr"]
    assert parse_value("acceptsNewClients", "no") is False
    area = parse_value("serviceArea", "Gent\nAalst")
    assert [a["name"] for a in area] == ["Aalst", "Gent"]  # type: ignore[index, union-attr]


def test_only_changed_valid_fields_are_published_and_errors_keep_their_field() -> None:
    """A field typed as shown is no change; a bad field is reported, not sent."""
    visible: dict[str, Any] = {"contact.phone": "+3255123456", "contact.email": "a@b.be"}
    allowed = {"contact.phone", "contact.email", "contact.website"}
    changes, errors = changes_from({"contact.phone": "055 12 34 56", "contact.email": "x@",
                                    "contact.website": "www.example.be"}, visible, allowed)
    assert changes == {"contact.website": "https://www.example.be"}
    assert list(errors) == ["contact.email"]


def test_a_field_outside_what_providers_may_edit_is_ignored() -> None:
    """Typing a name into the form changes nothing: it is kept by RIZIV/INAMI."""
    changes, errors = changes_from({"name.last": "Other"}, {}, {"contact.phone"})
    assert (changes, errors) == ({}, {})


def test_names_professions_and_kbo_data_are_never_editable_by_a_provider() -> None:
    """The authentic groups are read-only; contact and profile fields are editable."""
    policy = default_policy()
    person = {f.name for f in editable_fields(FicheKind.PERSON, policy)}
    organisation = {f.name for f in editable_fields(FicheKind.ORGANISATION, policy)}
    assert {"contact.phone", "openingHours", "accessibility", "serviceArea"} <= person
    assert not {"name.first", "name.last", "professions", "status"} & person
    assert not {"name", "legalForm", "enterpriseStatus", "recognitions"} & organisation


def test_the_page_shows_each_value_with_its_source_and_where_to_change_locked_ones() -> None:
    """A CoBRHA name says RIZIV/INAMI; a pinned phone says who changed it."""
    report = {
        "kind": "person", "visible": {"name.last": "Peeters", "contact.phone": "+3255123456"},
        "provenance": {"name.last": [{"source": "cobrha", "value": "Peeters",
                                      "observedAt": "2026-01-02T00:00:00+00:00"}]},
        "pins": {"contact.phone": {"value": "+3255123456", "author": "NIHII-PERSON 18749704",
                                   "role": "provider", "pinnedAt": "2026-12-01T10:00:00"}},
    }
    rows = {r.name: r for r in rows_of(report, default_policy(), "NIHII-PERSON 18749704")}
    assert rows["name.last"].field is None
    assert "CoBRHA" in rows["name.last"].source
    assert "RIZIV/INAMI" in rows["name.last"].elsewhere
    assert rows["contact.phone"].field is not None
    assert rows["contact.phone"].source == "changed by you"
    assert rows["contact.phone"].typed == "+3255123456"


def test_stored_values_read_as_text_on_the_page() -> None:
    """An address as one line, a status as a word, lists one item per line."""
    address = {"street": "Kerkstraat", "houseNumber": "12", "box": None, "postcode": "9700",
               "municipality": "Oudenaarde", "nis": "45035", "placed": True}
    assert display(address) == "Kerkstraat 12, 9700 Oudenaarde"
    assert display({"active": False, "reason": "licence ended"}) == "ended (licence ended)"
    assert display(["nl", "fr"]) == "nl\nfr"
    assert display(True) == "yes"
