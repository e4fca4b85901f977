"""Specification of identifier checking and normalisation (sync.identifiers)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.identifiers import (
    IdentifierError,
    IdentifierType,
    NihiiNumber,
    format_enterprise_number,
    hash_ssin,
    normalize_enterprise_number,
    normalize_establishment_number,
    normalize_hco,
    normalize_identifier,
    normalize_ssin,
    parse_nihii,
    parse_nihii_org,
)


def with_check(body: str) -> str:
    """Append the two mod-97 check digits used by KBO numbers and SSINs born before 2000."""
    return f"{body}{97 - int(body) % 97:02d}"


enterprise_numbers = st.builds(
    lambda first, rest: with_check(f"{first}{rest:07d}"),
    st.sampled_from("01"),
    st.integers(1, 9_999_999),
)
establishment_numbers = st.builds(
    lambda first, rest: with_check(f"{first}{rest:07d}"),
    st.sampled_from("2345678"),
    st.integers(0, 9_999_999),
)


@st.composite
def ssins(draw: st.DrawFn) -> str:
    """Valid national register or BIS numbers, built by computing their check digits."""
    born = draw(st.dates(date(1900, 1, 1), date(2024, 12, 31)))
    month = born.month + draw(st.sampled_from([0, 20, 40]))  # BIS numbers add 20 or 40
    body = f"{born:%y}{month:02d}{born.day:02d}{draw(st.integers(1, 998)):03d}"
    base = int(body) if born.year < 2000 else int("2" + body)
    return f"{body}{97 - base % 97:02d}"


def single_digit_changes(number: str) -> list[tuple[int, str]]:
    """Every number that differs from ``number`` in exactly one digit, with that digit's index."""
    return [
        (i, number[:i] + d + number[i + 1 :])
        for i in range(len(number))
        for d in "0123456789"
        if d != number[i]
    ]


def rejects(parse: Callable[[str], object], value: str) -> bool:
    """Whether ``parse`` raises IdentifierError for ``value``."""
    try:
        parse(value)
    except IdentifierError:
        return True
    return False


# -- enterprise and establishment numbers -------------------------------------------------------


@pytest.mark.parametrize("raw", ["0403.019.261", "403019261", "0403 019 261", "BE0403019261"])
def test_enterprise_number_spellings_normalise_to_ten_digits(raw: str) -> None:
    """Dotted, 9-digit (old style), spaced and VAT-prefixed spellings give the same 10 digits."""
    assert normalize_enterprise_number(raw) == "0403019261"


def test_domain_examples_of_enterprise_numbers_are_valid() -> None:
    """The two examples in DOMAIN.md pass; the formatter writes them with dots."""
    assert format_enterprise_number("0566988259") == "0566.988.259"
    assert format_enterprise_number("BE 0403019261") == "0403.019.261"


@pytest.mark.parametrize("raw", ["0403.019.262", "2403019261", "04030192", "0403.O19.261", ""])
def test_enterprise_number_with_bad_check_prefix_or_length_is_rejected(raw: str) -> None:
    """A wrong check digit, first digit, length or character raises IdentifierError."""
    with pytest.raises(IdentifierError):
        normalize_enterprise_number(raw)


def test_enterprise_number_with_check_digits_00_is_rejected_although_stdnum_accepts_it() -> None:
    """97 - (n % 97) is never 0: '00' in place of '97' is stdnum leniency we do not copy."""
    body = f"{97 * 10310:08d}"  # a multiple of 97, so its check digits are 97
    assert normalize_enterprise_number(body + "97") == body + "97"
    with pytest.raises(IdentifierError, match="check digits"):
        normalize_enterprise_number(body + "00")


@given(enterprise_numbers)
def test_enterprise_numbers_with_computed_check_digits_are_accepted(number: str) -> None:
    """Any 10-digit number starting 0/1 whose last two digits are 97 - first8 % 97 is valid."""
    assert normalize_enterprise_number(number) == number


@given(enterprise_numbers)
def test_any_single_digit_change_of_an_enterprise_number_is_rejected(number: str) -> None:
    """Mod 97 catches every one-digit substitution (97 is prime and divides no d * 10^k)."""
    assert all(rejects(normalize_enterprise_number, m) for _, m in single_digit_changes(number))


@given(enterprise_numbers)
def test_enterprise_number_formatting_variants_normalise_alike(number: str) -> None:
    """Dots, spaces, a BE prefix and the formatter's own output all map back to the number."""
    dotted = f"{number[:4]}.{number[4:7]}.{number[7:]}"
    variants = [dotted, f"BE{number}", f"BE {dotted}", dotted.replace(".", " ")]
    variants += [format_enterprise_number(number)] + ([number[1:]] if number[0] == "0" else [])
    assert {normalize_enterprise_number(v) for v in variants} == {number}


def test_establishment_unit_number_accepts_its_dotted_form() -> None:
    """'2.123.456.7xx' with correct check digits normalises to 10 digits."""
    number = with_check("21234567")
    dotted = f"{number[0]}.{number[1:4]}.{number[4:7]}.{number[7:]}"
    assert normalize_establishment_number(dotted) == number


@given(establishment_numbers)
def test_establishment_numbers_check_like_enterprise_numbers(number: str) -> None:
    """Computed check digits pass; any one-digit change fails or leaves the 2-8 range."""
    assert normalize_establishment_number(number) == number
    assert all(rejects(normalize_establishment_number, m) for _, m in single_digit_changes(number))


def test_establishment_number_must_start_with_2_to_8() -> None:
    """An enterprise number (first digit 0) is not an establishment unit number."""
    with pytest.raises(IdentifierError, match="2 to 8"):
        normalize_establishment_number("0403019261")


# -- SSIN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["85073003328", "00012556777", "98472899765", "85.07.30-033.28"])
def test_domain_examples_of_ssin_are_valid(raw: str) -> None:
    """National numbers before and after 2000 and a BIS number (month + 40) pass."""
    assert normalize_ssin(raw) == raw.replace(".", "").replace("-", "")


def test_hl7_guide_example_ssin_fails_its_check_digits() -> None:
    """79121137740 from the HL7-BE guide is not a valid SSIN."""
    with pytest.raises(IdentifierError, match="SSIN failed its check digits"):
        normalize_ssin("79121137740")


@given(ssins())
def test_ssins_with_computed_check_digits_are_accepted(ssin: str) -> None:
    """Numbers built from a birth date, a counter and the check formula are valid."""
    assert normalize_ssin(ssin) == ssin


@given(ssins())
def test_a_single_digit_change_of_an_ssin_is_rejected_except_a_century_flip(ssin: str) -> None:
    """Only moving the year's last digit by 6 can pass: 97 divides 2 * 10^9 - 6 * 10^7."""
    accepted = [(i, m) for i, m in single_digit_changes(ssin) if not rejects(normalize_ssin, m)]
    assert all(i == 1 and abs(int(m[1]) - int(ssin[1])) == 6 for i, m in accepted)


def test_domain_example_ssin_with_one_digit_changed_is_still_valid_for_another_century() -> None:
    """00012556777 (born 2000) with its 2nd digit changed to 6 passes as born in 1906.

    The two check formulas differ by a prefixed "2" (2 * 10^9 = 68 mod 97), and 6 * 10^7 is
    also 68 mod 97, so no check-digit scheme can tell these apart. Single-digit substitutions
    are otherwise always caught.
    """
    assert normalize_ssin("06012556777") == "06012556777"


@given(ssins())
def test_ssin_formatting_variants_normalise_alike(ssin: str) -> None:
    """Dotted (stdnum's format), spaced and dashed spellings normalise to the 11 digits."""
    dotted = f"{ssin[0:2]}.{ssin[2:4]}.{ssin[4:6]}-{ssin[6:9]}.{ssin[9:]}"
    variants = [dotted, dotted.replace(".", " ").replace("-", " "), f"{ssin[:6]}-{ssin[6:]}"]
    assert {normalize_ssin(v) for v in variants} == {ssin}


@given(ssins(), st.data())
def test_an_ssin_never_appears_in_an_identifier_error(ssin: str, data: st.DataObject) -> None:
    """Whatever type an SSIN is passed as, and however it is broken, errors do not echo it."""
    _i, broken = data.draw(st.sampled_from(single_digit_changes(ssin)))
    kind = data.draw(st.sampled_from([*IdentifierType, "NIHII-ANYTHING", ssin]))
    for value in (broken, broken[:10], broken + "0", f"{broken[:6]}-{broken[6:]}", ssin):
        try:
            normalize_identifier(kind, value)
        except IdentifierError as error:
            shown = str(error) + repr(error.args)
            assert broken not in shown
            assert ssin not in shown
            assert broken[:10] not in shown


def test_ssin_hash_is_hmac_sha256_of_the_normalised_number() -> None:
    """Different spellings hash alike; str and bytes secrets are the same key."""
    expected = hmac.new(b"k3y", b"85073003328", hashlib.sha256).hexdigest()
    assert hash_ssin("85.07.30-033.28", "k3y") == hash_ssin("85073003328", b"k3y") == expected


def test_ssin_hash_refuses_an_invalid_ssin_or_an_empty_secret() -> None:
    """An invalid SSIN is not hashed; an empty key would make the hash a plain digest."""
    with pytest.raises(IdentifierError):
        hash_ssin("79121137740", "k3y")
    with pytest.raises(ValueError, match="secret"):
        hash_ssin("85073003328", b"")


# -- NIHII --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["18749704477", "54263481527", "1-87497-04-477"])
def test_domain_examples_of_nihii_numbers_are_verified(raw: str) -> None:
    """The DOMAIN.md examples pass the mod-97 check, with or without separators."""
    assert parse_nihii(raw).verified


def test_nihii_number_splits_into_person_and_qualification() -> None:
    """The first 8 digits identify the person, the last 3 the qualification."""
    number = parse_nihii("18749704477")
    assert (number.person, number.qualification) == ("18749704", "477")


@given(st.text("0123456789", min_size=11, max_size=11))
def test_a_nihii_number_failing_mod_97_is_unverified_not_rejected(digits: str) -> None:
    """Every 11-digit string parses; verified says whether digits 7-8 are 97 - first6 % 97."""
    expected = int(digits[6:8]) == 97 - int(digits[:6]) % 97
    assert parse_nihii(digits) == NihiiNumber(digits, verified=expected)


@pytest.mark.parametrize("raw", ["1874970447", "187497044770", "18749704A77", "", "   "])
def test_nihii_number_with_wrong_length_or_letters_is_rejected(raw: str) -> None:
    """Only the length and the characters can make a NIHII number unusable."""
    with pytest.raises(IdentifierError, match="11 digits"):
        parse_nihii(raw)


def test_nihii_organisation_number_is_eight_digits() -> None:
    """Organisation numbers keep their leading zeros and reject other lengths."""
    assert parse_nihii_org("0710.1234") == "07101234"
    with pytest.raises(IdentifierError, match="8 digits"):
        parse_nihii_org("7101234")


# -- other identifiers and the dispatcher -------------------------------------------------------


def test_hco_number_is_zero_padded_to_nine_digits() -> None:
    """CoBRHA HCO keys keep the 9-digit zero-padded form."""
    assert normalize_hco("12345") == normalize_hco("000012345") == "000012345"
    with pytest.raises(IdentifierError):
        normalize_hco("1234567890")


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("cbe", "BE0403.019.261", ("CBE", "0403019261")),
        ("SSIN", "85.07.30-033.28", ("SSIN", "85073003328")),
        ("NIHII", "1-87497-04-478", ("NIHII", "18749704478")),
        ("NIHII-PERSON", "1-87497-04", ("NIHII-PERSON", "18749704")),
        ("NIHII-HOSPITAL", "71012345", ("NIHII-HOSPITAL", "71012345")),
        ("nihii-medical_house", "71012345", ("NIHII-MEDICAL_HOUSE", "71012345")),
        ("NIHII-SOMETHING_NEW", "12345678", ("NIHII-SOMETHING_NEW", "12345678")),
        ("ESTABLISHMENT", with_check("21234567"), ("ESTABLISHMENT", with_check("21234567"))),
        ("HCO", "12345", ("HCO", "000012345")),
        ("EHP", "1234567890", ("EHP", "1234567890")),
        ("ASSOCIATION-MEMBER", " Axxon : M-123 ", ("ASSOCIATION-MEMBER", "axxon:M-123")),
        ("SSIN-HASH", "AB" * 32, ("SSIN-HASH", "ab" * 32)),
    ],
)
def test_dispatcher_normalises_type_and_value(
    kind: str, value: str, expected: tuple[str, str]
) -> None:
    """Types match case-insensitively; any NIHII-<UPPER> is an 8-digit organisation number."""
    assert normalize_identifier(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [("PASSPORT", "X"), ("NIHII-", "12345678"), ("ASSOCIATION-MEMBER", "axxon"),
     ("ASSOCIATION-MEMBER", ":123"), ("EHP", "123"), ("SSIN-HASH", "abc")],
)  # fmt: skip
def test_dispatcher_rejects_unknown_types_and_bad_values(kind: str, value: str) -> None:
    """An unknown type or a value breaking its type's rule raises IdentifierError."""
    with pytest.raises(IdentifierError):
        normalize_identifier(kind, value)


def test_identifier_error_is_a_value_error_and_rejects_non_text() -> None:
    """Callers catching ValueError also catch it; an int loses leading zeros, so it is refused."""
    with pytest.raises(ValueError, match="text"):
        normalize_ssin(12556777)  # type: ignore[arg-type]
