"""Specification of the association member mapping (sync.mapping.association)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, Identifier, Source, UpdateAction
from sync.mapping import MappingContext
from sync.mapping.association import map_association_member
from sync.policy import default_policy
from sync.professions import LOCAL_SYSTEM
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"test-secret")


def member(**data: Any) -> CloudEvent:
    """Jan Claes of the VVKP, exactly as SOURCES.md §4 shows him; ``data`` overrides."""
    payload: dict[str, Any] = {
        "sourceVersion": 20261128, "associationId": "vvkp", "memberId": "4711",
        "nihii": "54263481527", "firstName": "Jan", "lastName": "Claes",
        "profession": "CLINICAL_PSYCHOLOGIST", "practiceName": "Praktijk De Linde",
        "address": {"street": "Lindestraat", "houseNumber": "5", "box": None,
                    "zipCode": "9690", "municipality": "Kluisbergen"},
        "phone": "+3255998877", "email": "jan@praktijkdelinde.be", "website": None,
        "languages": ["nl", "fr"], "specialisations": ["trauma"], "targetGroups": ["adults"],
        "serviceArea": ["Kluisbergen", "Oudenaarde", "Zwalm"],
        "acceptsNewClients": True, "status": "ACTIVE",
    }
    payload.update(data)
    subject = f"{payload['associationId']}:{payload['memberId']}"
    return CloudEvent(id=f"vvkp-{subject}-1", source=f"urn:association:{payload['associationId']}",
                      time="2026-11-28T12:00:00Z", type="be.association.member.upserted",
                      subject=subject, data=payload)


def tobacco_specialist() -> CloudEvent:
    """A tabakoloog of VRGT: no NIHII number, a local profession code."""
    return member(associationId="vrgt", memberId="T-0042", nihii=None, firstName="Sofie",
                  lastName="Maes", profession="TOBACCO_SPECIALIST", practiceName=None,
                  address={"street": "Markt", "houseNumber": "1", "zipCode": "9600",
                           "municipality": "Ronse"},
                  serviceArea=[], specialisations=[], targetGroups=[])


def left(**data: Any) -> CloudEvent:
    payload = {"sourceVersion": 20261205, "associationId": "vvkp", "memberId": "4711", **data}
    return CloudEvent(id="vvkp-4711-left", source="urn:association:vvkp",
                      time="2026-12-05T12:00:00Z", type="be.association.member.removed",
                      subject="vvkp:4711", data=payload)


def reason_of(event: CloudEvent) -> str:
    with pytest.raises(PermanentError) as caught:
        map_event(event, CONTEXT)
    return caught.value.reason


def test_a_member_with_a_nihii_number_is_routed_to_the_person() -> None:
    """The NIHII person comes first, so the member joins the CoBRHA professional's fiche."""
    (update,) = map_event(member(), CONTEXT)
    assert (update.kind, update.source, update.action) == (
        FicheKind.PERSON, Source.ASSOCIATION, UpdateAction.UPSERT)
    assert update.record_id == "vvkp:4711"
    assert update.identifiers == (Identifier(type="NIHII-PERSON", value="54263481"),
                                  Identifier(type="ASSOCIATION-MEMBER", value="vvkp:4711"))
    assert update.key == "NIHII-PERSON:54263481"


def test_every_field_of_the_member_is_carried() -> None:
    """Names, practice, contact, profile fields and the acceptance of new clients."""
    (update,) = map_event(member(), CONTEXT)
    fields = update.fields
    assert (fields["name.first"], fields["name.last"]) == ("Jan", "Claes")
    assert fields["practiceName"] == "Praktijk De Linde"
    assert fields["contact.phone"] == "+3255998877"
    assert fields["contact.email"] == "jan@praktijkdelinde.be"
    assert fields["contact.website"] is None
    assert fields["languages"] == ["nl", "fr"]
    assert fields["specialisations"] == ["trauma"]
    assert fields["targetGroups"] == ["adults"]
    assert fields["acceptsNewClients"] is True
    assert fields["status"] == {"active": True, "reason": None}
    assert fields["addresses"] == [{
        "street": "Lindestraat", "houseNumber": "5", "box": None, "postcode": "9690",
        "municipality": "Kluisbergen", "nis": "45060", "placed": True}]


def test_the_declared_profession_never_touches_the_authoritative_professions() -> None:
    """CoBRHA alone registers professions; the association's claim is declaredProfessions."""
    (update,) = map_event(member(), CONTEXT)
    assert "professions" not in update.fields
    (declared,) = update.model_dump()["fields"]["declaredProfessions"]
    assert (declared["code"], declared["systemCode"]) == (
        "CLINICAL_PSYCHOLOGIST", "persclinicalpsychologist")


def test_declared_professions_is_a_profile_field_the_association_may_set() -> None:
    """The policy ranks the association first for it and lets an editor pin it."""
    rule = default_policy().rule(FicheKind.PERSON, "declaredProfessions")
    assert rule is not None
    assert rule.rank(Source.ASSOCIATION) == 0
    assert not rule.authoritative


def test_a_member_without_nihii_is_identified_by_association_and_member_id() -> None:
    """Tobacco specialists have no NIHII number and a profession outside CD-HCPARTY."""
    (update,) = map_event(tobacco_specialist(), CONTEXT)
    assert update.identifiers == (Identifier(type="ASSOCIATION-MEMBER", value="vrgt:T-0042"),)
    (declared,) = update.model_dump()["fields"]["declaredProfessions"]
    assert declared["system"] == LOCAL_SYSTEM
    assert update.fields["serviceArea"] is None
    assert update.fields["practiceName"] is None


def test_the_service_area_is_placed_by_municipality_name_or_nis_code() -> None:
    """A home nurse's round: names and NIS codes alike, sorted by name, duplicates once."""
    event = member(serviceArea=["Zwalm", "45035", "Kluisbergen", "Oudenaarde"])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["serviceArea"] == [
        {"nis": "45060", "name": "Kluisbergen", "placed": True},
        {"nis": "45035", "name": "Oudenaarde", "placed": True},
        {"nis": "45065", "name": "Zwalm", "placed": True},
    ]


def test_a_service_area_that_cannot_be_placed_keeps_its_text() -> None:
    """Unknown places are kept, flagged unplaced, never dropped nor guessed."""
    (update,) = map_event(member(serviceArea=["Atlantis"]), CONTEXT)
    assert update.fields["serviceArea"] == [{"nis": None, "name": "Atlantis", "placed": False}]


def test_a_member_who_is_not_active_says_so() -> None:
    """The association's status travels; CoBRHA's licence still decides the fiche status."""
    (update,) = map_event(member(status="SUSPENDED"), CONTEXT)
    assert update.fields["status"] == {"active": False, "reason": "membership suspended"}


def test_an_unknown_profession_is_refused() -> None:
    """Unknown codes are dead-lettered, never guessed."""
    assert reason_of(member(profession="ASTROLOGER")) == "unknown-profession"


def test_a_malformed_nihii_number_is_refused() -> None:
    """A NIHII number has 11 digits."""
    assert reason_of(member(nihii="5426348152")) == "bad-identifier"


def test_a_member_without_member_id_is_schema_invalid() -> None:
    """associationId and memberId key the record."""
    assert reason_of(member(memberId="")) == "schema-invalid"


def test_a_member_who_left_is_withdrawn_without_touching_the_status() -> None:
    """Leaving an association does not end a licence: only its values go."""
    (update,) = map_event(left(), CONTEXT)
    assert update.action is UpdateAction.WITHDRAW
    assert update.record_id == "vvkp:4711"
    assert update.fields == {}
    assert update.identifiers == (Identifier(type="ASSOCIATION-MEMBER", value="vvkp:4711"),)


def test_a_removal_that_names_the_nihii_number_is_routed_to_the_person() -> None:
    """Same key as the member's upserts, so both stay in one partition."""
    (update,) = map_event(left(nihii="54263481527"), CONTEXT)
    assert update.key == "NIHII-PERSON:54263481"


def test_mapping_the_same_event_twice_gives_the_same_update() -> None:
    """Deterministic: same update, same update id."""
    assert map_event(member(), CONTEXT) == map_event(member(), CONTEXT)


def test_an_unknown_association_event_type_is_refused() -> None:
    """A type neither dispatch nor the mapper knows is a permanent error."""
    event = member().model_copy(update={"type": "be.association.member.renamed"})
    assert reason_of(event) == "unknown-type"
    with pytest.raises(PermanentError, match="unknown-type"):
        map_association_member(event, CONTEXT)
