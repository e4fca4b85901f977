"""Properties of the CoBRHA professional mapping, for any valid event (hypothesis).

Mapping is a pure function of the event: the same event always gives the same update (and
so the same update id), and the SSIN never leaves the mapper except as its keyed hash.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.identifiers import IdentifierError, hash_ssin, normalize_ssin
from sync.mapping import MappingContext
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"property-secret")
CODES = ["PHYSICIAN", "DENTIST", "PHARMACIST", "MIDWIFE", "NURSE", "PRACTICAL_NURSE",
         "PHYSIOTHERAPIST", "CLINICAL_PSYCHOLOGIST", "SPEECH_THERAPIST", "DIETICIAN"]
PLACES = [("9700", "Oudenaarde"), ("9690", "Kluisbergen"), ("9630", "Zwalm"), ("9000", "Gent"),
          ("1000", "Brussel"), ("9600", "Ronse"), ("2000", "Antwerpen"), ("3000", "Leuven")]
LETTERS = "abcdefghijklmnopqrstuvwxyzéèëïöçABCDEFGHIJKLMNOPQRSTUVWXYZ'-"


@st.composite
def ssins(draw: st.DrawFn) -> str:
    """A valid SSIN: national number or BIS (month + 20 / + 40), born before or after 2000."""
    born = draw(st.dates(min_value=date(1925, 1, 1), max_value=date(2020, 12, 31)))
    month = born.month + draw(st.sampled_from([0, 0, 20, 40]))
    first9 = f"{born.year % 100:02d}{month:02d}{born.day:02d}{draw(st.integers(1, 997)):03d}"
    base = int(("2" if born.year >= 2000 else "") + first9)
    return f"{first9}{97 - base % 97:02d}"


@st.composite
def nihii_numbers(draw: st.DrawFn) -> str:
    """An 11-digit NIHII number, usually passing mod 97, sometimes not (modulo 89 era)."""
    head = draw(st.sampled_from("13456")) + draw(st.from_regex(r"[0-9]{5}", fullmatch=True))
    check = f"{97 - int(head) % 97:02d}" if draw(st.booleans()) else draw(
        st.from_regex(r"[0-9]{2}", fullmatch=True))
    return head + check + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))


@st.composite
def professionals(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid ``be.ehealth.cobrha.professional.upserted`` event and its SSIN."""
    ssin, number = draw(ssins()), draw(nihii_numbers())
    zip_code, municipality = draw(st.sampled_from(PLACES))
    name = st.text(alphabet=LETTERS, min_size=1, max_size=20)
    event = {
        "specversion": "1.0", "id": draw(st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)),
        "source": "urn:be:fgov:ehealth:cobrha", "type": "be.ehealth.cobrha.professional.upserted",
        "time": "2026-11-28T09:15:02Z", "subject": number[:8],
        "data": {
            "sourceVersion": draw(st.integers(1, 9_999_999_999)), "ssin": ssin,
            "firstName": draw(name), "lastName": draw(name),
            "gender": draw(st.sampled_from(["F", "M", None])), "language": "nl",
            "deathDate": None,
            "professions": [{
                "professionCode": draw(st.sampled_from(CODES)), "nihii": number,
                "licence": {"status": draw(st.sampled_from(["ACTIVE", "SUSPENDED", "ENDED"])),
                            "validFrom": "2012-09-01", "validTo": None},
                "addresses": [{"street": {"nl": "Kerkstraat"}, "houseNumber": "12",
                               "zipCode": zip_code, "municipality": {"nl": municipality}}],
                "phone": draw(st.sampled_from(["+3255112233", None]))}]}}
    return event, ssin


def is_valid_ssin(candidate: str) -> bool:
    try:
        normalize_ssin(candidate)
    except IdentifierError:
        return False
    return True


def as_event(document: dict[str, Any]) -> CloudEvent:
    return CloudEvent.model_validate(json.loads(json.dumps(document)))


@given(professionals())
def test_mapping_a_professional_is_deterministic(generated: tuple[dict[str, Any], str]) -> None:
    """The same event mapped twice gives the same update, hence the same update id."""
    document, _ = generated
    first, second = map_event(as_event(document), CONTEXT), map_event(as_event(document), CONTEXT)
    assert first == second
    assert first[0].update_id == second[0].update_id


@given(professionals())
def test_the_ssin_never_appears_in_the_update(generated: tuple[dict[str, Any], str]) -> None:
    """Only its HMAC travels, as identifier type SSIN-HASH."""
    document, ssin = generated
    (update,) = map_event(as_event(document), CONTEXT)
    assert ssin not in update.model_dump_json(by_alias=True)
    assert ssin not in repr(update)
    hashes = [i.value for i in update.identifiers if i.type == "SSIN-HASH"]
    assert hashes == [hash_ssin(ssin, CONTEXT.ssin_secret)]


@given(professionals(), st.integers(1, 96))
def test_an_ssin_failing_its_check_is_refused_without_being_named(
    generated: tuple[dict[str, Any], str], shift: int,
) -> None:
    """A bad SSIN is a bad identifier, and the error does not repeat it."""
    document, ssin = generated
    wrong = f"{ssin[:9]}{(int(ssin[9:]) + shift) % 100:02d}"
    assume(not is_valid_ssin(wrong))  # the other century's rule may accept it
    document["data"]["ssin"] = wrong
    with pytest.raises(PermanentError) as caught:
        map_event(as_event(document), CONTEXT)
    assert caught.value.reason == "bad-identifier"
    assert wrong not in str(caught.value)


def professional(**data: Any) -> dict[str, Any]:
    """One fixed valid professional, for the plain failure cases below."""
    return {
        "specversion": "1.0", "id": "cobrha-p-1", "source": "urn:be:fgov:ehealth:cobrha",
        "type": "be.ehealth.cobrha.professional.upserted", "time": "2026-11-28T09:15:02Z",
        "subject": "18749704",
        "data": {"sourceVersion": 1, "ssin": "85073003328", "lastName": "Peeters",
                 "firstName": "An", "professions": [{
                     "professionCode": "PHYSICIAN", "nihii": "18749704477",
                     "licence": {"status": "ACTIVE", "validFrom": "2012-09-01"}}], **data}}


@pytest.mark.parametrize(
    ("data", "reason"),
    [({"professions": [{"professionCode": "ASTROLOGER", "nihii": "18749704477"}]},
      "unknown-profession"),
     ({"lastName": None}, "schema-invalid"),
     ({"professions": []}, "schema-invalid"),
     ({"ssin": "85073003329"}, "bad-identifier")],
    ids=["unknown profession", "missing last name", "no profession", "ssin check digits"],
)
def test_a_professional_that_cannot_be_mapped_is_a_permanent_error(
    data: dict[str, Any], reason: str,
) -> None:
    """Each failure has its reason code, and no message holds the SSIN."""
    with pytest.raises(PermanentError) as caught:
        map_event(as_event(professional(**data)), CONTEXT)
    assert caught.value.reason == reason
    assert "85073003328" not in str(caught.value)
    assert "85073003329" not in str(caught.value)
