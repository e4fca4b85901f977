"""Which fiches a provider reaches: the number they sign in with (sync.providers.binding)."""

from __future__ import annotations

import pytest

from sync.providers.binding import Binding, BindingError, binding_of


def test_an_individual_is_bound_by_the_person_part_of_their_nihii_number() -> None:
    """The last 3 digits are a qualification that changes: the person is the first 8."""
    assert binding_of("nihii", "1-87497-04-780") == Binding("NIHII-PERSON", "18749704")
    assert binding_of("nihii", "18749704") == Binding("NIHII-PERSON", "18749704")


def test_an_organisation_is_bound_by_its_enterprise_or_establishment_number() -> None:
    """Written forms of one number give one binding."""
    assert binding_of("cbe", "0403.019.261") == Binding("CBE", "0403019261")
    assert binding_of("cbe", "BE 0403 019 261") == Binding("CBE", "0403019261")
    assert binding_of("establishment", "2.123.456.791") == Binding("ESTABLISHMENT",
                                                                   "2123456791")


@pytest.mark.parametrize(("kind", "number", "says"), [
    ("nihii", "1234", "11 digits"),
    ("cbe", "0403.019.262", "enterprise number"),
    ("establishment", "1.123.456.789", "establishment unit number"),
    ("ssin", "85073003328", "kind of number"),
    ("nihii", "  ", "Enter your number"),
])
def test_a_number_that_cannot_be_of_its_kind_is_refused_saying_why(
        kind: str, number: str, says: str) -> None:
    """A wrong check digit or length never reaches the database (nor sends a mail)."""
    with pytest.raises(BindingError, match=says):
        binding_of(kind, number)


def test_a_binding_never_names_a_protected_identifier() -> None:
    """Only NIHII-PERSON, CBE and ESTABLISHMENT can bind: not the SSIN, nor a fiche id."""
    kinds = {binding_of(k, n).type for k, n in (
        ("nihii", "18749704"), ("cbe", "0403019261"), ("establishment", "2123456791"))}
    assert kinds == {"NIHII-PERSON", "CBE", "ESTABLISHMENT"}
