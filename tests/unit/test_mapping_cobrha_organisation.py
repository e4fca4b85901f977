"""Specification of the CoBRHA organisation mapping (sync.mapping.cobrha_organisation)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, Identifier, Source, UpdateAction
from sync.mapping import MappingContext
from sync.mapping.cobrha_organisation import map_cobrha_organisation
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"test-secret")
COBRHA = "urn:be:fgov:ehealth:cobrha"


def organisation(**data: Any) -> CloudEvent:
    """AZ Oudenaarde as SOURCES.md §2 shows it; ``data`` overrides top-level data fields."""
    payload: dict[str, Any] = {
        "sourceVersion": 88123,
        "ids": [{"type": "HCO", "value": "000012345"},
                {"type": "NIHII-HOSPITAL", "value": "71089815"},
                {"type": "CBE", "value": "0403019261"}],
        "names": {"nl": "AZ Oudenaarde", "fr": "AZ Audenarde"},
        "organizationTypeCodes": ["orghospital"],
        "recognitions": [{"code": "GENERAL_HOSPITAL", "validFrom": "1998-01-01",
                          "validTo": None}],
        "addresses": [{"street": {"nl": "Minderbroedersstraat"}, "houseNumber": "3",
                       "zipCode": "9700", "municipality": {"nl": "Oudenaarde"}}],
        "email": None, "phone": "+3255336111", "website": "https://www.azoudenaarde.be",
    }
    payload.update(data)
    return CloudEvent(id="cobrha-o-1", source=COBRHA, time="2026-11-28T09:15:02Z",
                      type="be.ehealth.cobrha.organisation.upserted", subject="HCO:000012345",
                      data=payload)


def removed(**data: Any) -> CloudEvent:
    payload = {"sourceVersion": 88124, "ids": [{"type": "HCO", "value": "000012345"}], **data}
    return CloudEvent(id="cobrha-o-2", source=COBRHA, time="2026-11-29T09:00:00Z",
                      type="be.ehealth.cobrha.organisation.removed", subject="HCO:000012345",
                      data=payload)


def reason_of(event: CloudEvent) -> str:
    with pytest.raises(PermanentError) as caught:
        map_event(event, CONTEXT)
    return caught.value.reason


def test_a_hospital_becomes_an_organisation_update_keyed_by_its_hco_number() -> None:
    """The HCO number is the record and the routing key; every field of §2 is carried."""
    (update,) = map_event(organisation(), CONTEXT)
    assert (update.kind, update.source, update.action) == (
        FicheKind.ORGANISATION, Source.COBRHA, UpdateAction.UPSERT)
    assert update.record_id == "organisation:000012345"
    assert update.key == "HCO:000012345"
    assert update.source_version == 88123
    assert update.fields["name"] == {"nl": "AZ Oudenaarde", "fr": "AZ Audenarde"}
    assert update.fields["organisationTypes"] == ["orghospital"]
    assert update.fields["recognitions"] == [
        {"code": "GENERAL_HOSPITAL", "validFrom": "1998-01-01", "validTo": None}]
    assert update.fields["contact.phone"] == "+3255336111"
    assert update.fields["contact.email"] is None
    assert update.fields["contact.website"] == "https://www.azoudenaarde.be"
    assert update.fields["status"] == {"active": True, "reason": None}


def test_identifiers_are_normalised_with_the_hco_number_first() -> None:
    """Dots in the CBE number go, a short HCO number is zero-padded, NIHII types are kept."""
    event = organisation(ids=[{"type": "CBE", "value": "0403.019.261"},
                              {"type": "nihii-hospital", "value": "71089815"},
                              {"type": "HCO", "value": "12345"}])
    (update,) = map_event(event, CONTEXT)
    assert update.identifiers == (
        Identifier(type="HCO", value="000012345"),
        Identifier(type="CBE", value="0403019261"),
        Identifier(type="NIHII-HOSPITAL", value="71089815"),
    )


def test_the_hco_number_is_taken_from_the_subject_when_the_ids_lack_it() -> None:
    """``subject`` reads ``HCO:<number>``: enough to key the record."""
    (update,) = map_event(organisation(ids=[{"type": "CBE", "value": "0403019261"}]), CONTEXT)
    assert update.identifiers[0] == Identifier(type="HCO", value="000012345")


def test_an_organisation_without_any_hco_number_is_refused() -> None:
    """Without its key the record cannot be followed: a permanent error."""
    event = organisation(ids=[{"type": "CBE", "value": "0403019261"}])
    keyless = event.model_copy(update={"subject": None})
    assert reason_of(keyless) == "bad-identifier"


def test_an_enterprise_number_with_wrong_check_digits_is_refused() -> None:
    """0403.019.262 fails mod 97: dead-lettered, not stored as a wrong link."""
    event = organisation(ids=[{"type": "HCO", "value": "000012345"},
                              {"type": "CBE", "value": "0403019262"}])
    assert reason_of(event) == "bad-identifier"


def test_a_nihii_organisation_number_of_the_wrong_length_is_refused() -> None:
    """NIHII organisation numbers have 8 digits."""
    event = organisation(ids=[{"type": "HCO", "value": "12345"},
                              {"type": "NIHII-PHARMACY", "value": "7108981"}])
    assert reason_of(event) == "bad-identifier"


def test_identifier_types_that_cannot_identify_an_organisation_are_ignored() -> None:
    """A person's number or an unknown type in ``ids`` does not become an identifier."""
    event = organisation(ids=[{"type": "HCO", "value": "12345"},
                              {"type": "NIHII-PERSON", "value": "18749704"},
                              {"type": "LOCAL-DB", "value": "x-1"}])
    (update,) = map_event(event, CONTEXT)
    assert [i.type for i in update.identifiers] == ["HCO"]


def test_organisation_types_are_sorted_cd_hcparty_codes() -> None:
    """Sorting makes the same set in another order no change."""
    event = organisation(organizationTypeCodes=["orgpolyclinic", "orghospital"])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["organisationTypes"] == ["orghospital", "orgpolyclinic"]


def test_a_type_code_that_is_not_an_organisation_code_is_refused() -> None:
    """A person code (``pers*``) or a made-up code is never guessed at."""
    assert reason_of(organisation(organizationTypeCodes=["persphysician"])) == "unknown-code"


def test_an_organisation_whose_recognitions_all_ended_is_inactive() -> None:
    """A recognition that ended before the event's day no longer holds."""
    event = organisation(recognitions=[
        {"code": "GENERAL_HOSPITAL", "validFrom": "1998-01-01", "validTo": "2025-12-31"}])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["status"] == {"active": False, "reason": "no valid recognition"}


def test_one_current_recognition_keeps_an_organisation_active() -> None:
    """An ended recognition next to a current one does not deactivate."""
    event = organisation(recognitions=[
        {"code": "PSYCHIATRIC_HOSPITAL", "validFrom": "1998-01-01", "validTo": "2020-01-01"},
        {"code": "GENERAL_HOSPITAL", "validFrom": "2020-01-02", "validTo": None}])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["status"] == {"active": True, "reason": None}
    recognitions = update.model_dump()["fields"]["recognitions"]
    assert [r["code"] for r in recognitions] == ["GENERAL_HOSPITAL", "PSYCHIATRIC_HOSPITAL"]


def test_an_organisation_without_recognitions_is_active() -> None:
    """Many practices have no recognition at all: that is not an end."""
    (update,) = map_event(organisation(recognitions=[]), CONTEXT)
    assert update.fields["status"] == {"active": True, "reason": None}


def test_addresses_are_canonical_and_placed_in_their_municipality() -> None:
    """Oudenaarde is NIS 45035."""
    (update,) = map_event(organisation(), CONTEXT)
    assert update.fields["addresses"] == [{
        "street": "Minderbroedersstraat", "houseNumber": "3", "box": None, "postcode": "9700",
        "municipality": "Oudenaarde", "nis": "45035", "placed": True}]


def test_an_organisation_without_a_name_is_schema_invalid() -> None:
    """``names`` is required and may not be empty."""
    assert reason_of(organisation(names={})) == "schema-invalid"


def test_a_removed_organisation_is_withdrawn_and_inactive() -> None:
    """Nothing is deleted: CoBRHA's values are withdrawn and the fiche says why it ended."""
    (update,) = map_event(removed(), CONTEXT)
    assert update.action is UpdateAction.WITHDRAW
    assert update.record_id == "organisation:000012345"
    assert update.fields == {"status": {"active": False, "reason": "removed from CoBRHA"}}


def test_mapping_the_same_event_twice_gives_the_same_update() -> None:
    """The update id derives from (source, id): redelivery is harmless downstream."""
    assert map_event(organisation(), CONTEXT) == map_event(organisation(), CONTEXT)


def test_an_unknown_organisation_event_type_is_refused() -> None:
    """Dispatch and the mapper itself refuse a type they do not know."""
    event = organisation().model_copy(update={"type": "be.ehealth.cobrha.organisation.merged"})
    assert reason_of(event) == "unknown-type"
    with pytest.raises(PermanentError, match="unknown-type"):
        map_cobrha_organisation(event, CONTEXT)


def test_a_nihii_person_among_the_ids_links_the_practice_to_that_persons_fiche() -> None:
    """An individual practice names its provider: ``practiceOf`` holds the NIHII person
    (a link to the person's fiche); it never becomes an identifier of the organisation."""
    event = organisation(organizationTypeCodes=["orgpractice"],
                         ids=[{"type": "HCO", "value": "12345"},
                              {"type": "NIHII-PERSON", "value": "18749704"}])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["practiceOf"] == {"type": "NIHII-PERSON", "value": "18749704"}
    assert [i.type for i in update.identifiers] == ["HCO"]
    (hospital,) = map_event(organisation(), CONTEXT)
    assert hospital.fields["practiceOf"] is None


def test_a_malformed_nihii_person_of_a_practice_is_refused() -> None:
    """Seven digits are no NIHII person number: a permanent error, not a broken link."""
    event = organisation(ids=[{"type": "HCO", "value": "12345"},
                              {"type": "NIHII-PERSON", "value": "1874970"}])
    assert reason_of(event) == "bad-identifier"
