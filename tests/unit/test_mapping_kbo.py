"""Specification of the KBO entity mapping (sync.mapping.kbo)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, Identifier, Source, UpdateAction
from sync.mapping import MappingContext
from sync.mapping.kbo import map_kbo_entity
from sync.merge import Decision, merge, new_state
from sync.policy import default_policy
from sync.sources import map_event
from tests.unit.test_mapping_cobrha_organisation import organisation

CONTEXT = MappingContext(ssin_secret=b"test-secret")
KBO = "urn:be:fgov:economie:kbo"
ENTERPRISE = "0403019261"  # 97 - 4030192 % 97 == 61
UNIT_A, UNIT_B = "2123456791", "2000000339"  # establishment numbers, mod-97 checked


def seat(**overrides: Any) -> dict[str, Any]:
    """The registered seat of a hospital in Oudenaarde."""
    return {"type": "REGO", "zipcode": "9700", "municipalityNL": "Oudenaarde",
            "municipalityFR": "Audenarde", "streetNL": "Minderbroedersstraat",
            "streetFR": "Minderbroedersstraat", "houseNumber": "3", "box": None, **overrides}


def unit(number: str, **overrides: Any) -> dict[str, Any]:
    """An establishment unit (a campus) with its own address and NACE code."""
    return {
        "establishmentNumber": number, "startDate": "1998-01-01",
        "denominations": [{"language": "nl", "type": "commercial", "value": "Campus Ronse"}],
        "addresses": [{"type": "BAET", "zipcode": "9600", "municipalityNL": "Ronse",
                       "municipalityFR": "Renaix", "streetNL": "Wolvestraat",
                       "houseNumber": "7"}],
        "contacts": [{"type": "TEL", "value": "+3255231111"}],
        "activities": [{"group": "001", "naceVersion": "2008", "naceCode": "86101",
                        "classification": "MAIN"}],
        **overrides,
    }


def entity(**data: Any) -> CloudEvent:
    """An upserted KBO enterprise of the hospital sector (NACE 86.101)."""
    payload: dict[str, Any] = {
        "sourceVersion": 250, "enterpriseNumber": ENTERPRISE, "status": "AC",
        "juridicalSituation": "000", "typeOfEnterprise": "legal", "juridicalForm": "017",
        "startDate": "1998-01-01",
        "denominations": [
            {"language": "nl", "type": "name", "value": "AZ Oudenaarde"},
            {"language": "fr", "type": "name", "value": "AZ Audenarde"},
            {"language": "nl", "type": "abbreviation", "value": "AZO"}],
        "addresses": [seat()],
        "contacts": [{"type": "WEB", "value": "www.azoudenaarde.be"},
                     {"type": "TEL", "value": "+3255336111"},
                     {"type": "EMAIL", "value": "info@azoudenaarde.be"}],
        "activities": [
            {"group": "001", "naceVersion": "2008", "naceCode": "86101", "classification": "MAIN"},
            {"group": "001", "naceVersion": "2003", "naceCode": "85111", "classification": "MAIN"},
            {"group": "001", "naceVersion": "2008", "naceCode": "86220", "classification": "SECO"}],
        "establishments": [unit(UNIT_A), unit(UNIT_B, activities=[
            {"group": "001", "naceVersion": "2008", "naceCode": "87101",
             "classification": "MAIN"}])],
    }
    payload.update(data)
    return CloudEvent(id=f"kbo-250-{ENTERPRISE}", source=KBO, time="2026-11-28T06:00:00Z",
                      type="be.fgov.economie.kbo.entity.upserted", subject=ENTERPRISE,
                      data=payload)


def changed_by(before: CloudEvent, after: CloudEvent) -> Decision:
    """What the second KBO state (one extract later) does to a fiche made from the first."""
    (first,) = map_event(before, CONTEXT)
    (second,) = map_event(after.model_copy(update={
        "id": "kbo-251", "data": {**after.model_dump()["data"], "sourceVersion": 251}}), CONTEXT)
    state = merge(new_state(uuid.uuid4(), FicheKind.ORGANISATION), first, default_policy()).state
    return merge(state, second, default_policy())


def removed() -> CloudEvent:
    return CloudEvent(id=f"kbo-251-{ENTERPRISE}", source=KBO, time="2026-11-29T06:00:00Z",
                      type="be.fgov.economie.kbo.entity.removed", subject=ENTERPRISE,
                      data={"sourceVersion": 251, "enterpriseNumber": ENTERPRISE})


def reason_of(event: CloudEvent) -> str:
    with pytest.raises(PermanentError) as caught:
        map_event(event, CONTEXT)
    return caught.value.reason


def test_an_enterprise_becomes_an_organisation_update_keyed_by_its_number() -> None:
    """The enterprise number keys the record; its units' numbers follow it as identifiers."""
    (update,) = map_event(entity(), CONTEXT)
    assert (update.kind, update.source, update.action) == (
        FicheKind.ORGANISATION, Source.KBO, UpdateAction.UPSERT)
    assert update.record_id == f"enterprise:{ENTERPRISE}"
    assert update.source_version == 250
    assert update.identifiers == (
        Identifier(type="CBE", value=ENTERPRISE),
        Identifier(type="ESTABLISHMENT", value=UNIT_B),
        Identifier(type="ESTABLISHMENT", value=UNIT_A),
    )
    assert update.key == f"CBE:{ENTERPRISE}"


def test_the_legal_names_are_given_by_language() -> None:
    """Abbreviations and commercial names do not replace the legal name."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["name"] == {"nl": "AZ Oudenaarde", "fr": "AZ Audenarde"}


def test_legal_form_and_enterprise_status_keep_their_kbo_codes() -> None:
    """Codes, not descriptions: the code table translates them."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["legalForm"] == "017"
    assert update.fields["enterpriseStatus"] == "AC"
    assert update.fields["status"] == {"active": True, "reason": None}


def test_the_seat_address_is_the_address_when_there_is_one() -> None:
    """REGO wins over the establishments' addresses; Oudenaarde is NIS 45035."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["addresses"] == [{
        "street": "Minderbroedersstraat", "houseNumber": "3", "box": None, "postcode": "9700",
        "municipality": "Oudenaarde", "nis": "45035", "placed": True}]


def test_a_natural_person_enterprise_uses_its_establishment_addresses_and_names() -> None:
    """No seat and no legal name: the units' BAET addresses and commercial names stand in."""
    event = entity(typeOfEnterprise="natural", juridicalForm=None, denominations=[],
                   addresses=[], contacts=[], establishments=[unit(UNIT_A)])
    (update,) = map_event(event, CONTEXT)
    assert update.fields["name"] == {"nl": "Campus Ronse"}
    assert update.fields["addresses"] == [{
        "street": "Wolvestraat", "houseNumber": "7", "box": None, "postcode": "9600",
        "municipality": "Ronse", "nis": "45041", "placed": True}]
    assert update.fields["contact.phone"] == "+3255231111"
    assert update.fields["legalForm"] is None


def test_a_struck_off_seat_address_no_longer_counts() -> None:
    """An address with a striking-off date has ended; the units' addresses remain."""
    event = entity(addresses=[seat(dateStrikingOff="2024-01-01")])
    (update,) = map_event(event, CONTEXT)
    assert [a["postcode"] for a in update.model_dump()["fields"]["addresses"]] == ["9600"]


def test_contacts_come_from_the_enterprise_first() -> None:
    """TEL, EMAIL and WEB fill the three contact fields."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["contact.phone"] == "+3255336111"
    assert update.fields["contact.email"] == "info@azoudenaarde.be"
    assert update.fields["contact.website"] == "www.azoudenaarde.be"


def test_activities_are_the_sorted_codes_of_the_newest_nace_version() -> None:
    """NACE 2003 codes are left out once 2008 codes exist; units' codes count too."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["activities"] == ["86101", "86220", "87101"]


def test_an_enterprise_whose_status_is_not_active_is_stopped() -> None:
    """Only status AC is active."""
    (update,) = map_event(entity(status="ST"), CONTEXT)
    assert update.fields["status"] == {"active": False, "reason": "enterprise stopped"}
    assert update.fields["enterpriseStatus"] == "ST"


def test_a_removed_enterprise_is_withdrawn_and_stopped() -> None:
    """Nothing is deleted: KBO's values are withdrawn and the fiche becomes inactive."""
    (update,) = map_event(removed(), CONTEXT)
    assert update.action is UpdateAction.WITHDRAW
    assert update.record_id == f"enterprise:{ENTERPRISE}"
    assert update.identifiers == (Identifier(type="CBE", value=ENTERPRISE),)
    assert update.fields == {"status": {"active": False, "reason": "enterprise stopped"}}


def test_an_enterprise_number_failing_its_check_digits_is_refused() -> None:
    """0403.019.262 fails mod 97."""
    assert reason_of(entity(enterpriseNumber="0403019262")) == "bad-identifier"


def test_an_entity_without_its_enterprise_number_is_schema_invalid() -> None:
    """The number is required (and written as 10 digits, without dots)."""
    event = entity()
    data = event.model_dump()["data"]
    del data["enterpriseNumber"]
    assert reason_of(event.model_copy(update={"data": data})) == "schema-invalid"


def test_mapping_the_same_event_twice_gives_the_same_update() -> None:
    """Deterministic: same update, same update id."""
    assert map_event(entity(), CONTEXT) == map_event(entity(), CONTEXT)


def test_an_unknown_kbo_event_type_is_refused() -> None:
    """A type neither dispatch nor the mapper knows is a permanent error."""
    event = entity().model_copy(update={"type": "be.fgov.economie.kbo.entity.merged"})
    assert reason_of(event) == "unknown-type"
    with pytest.raises(PermanentError, match="unknown-type"):
        map_kbo_entity(event, CONTEXT)


def test_every_establishment_unit_is_a_location_of_the_enterprise_fiche() -> None:
    """A legal person's units are listed with number, name, address, contacts and NACE codes,
    by number: they are where care is given, also when the enterprise has a seat."""
    (update,) = map_event(entity(), CONTEXT)
    units = update.model_dump()["fields"]["establishments"]
    assert [u["establishmentNumber"] for u in units] == [UNIT_B, UNIT_A]
    assert units[1] == {
        "establishmentNumber": UNIT_A, "name": {"nl": "Campus Ronse"}, "startDate": "1998-01-01",
        "address": {"street": "Wolvestraat", "houseNumber": "7", "box": None, "postcode": "9600",
                    "municipality": "Ronse", "nis": "45041", "placed": True},
        "phone": "+3255231111", "email": None, "website": None, "activities": ["86101"]}


def test_the_registered_seat_is_a_field_of_its_own() -> None:
    """The seat stays visible (organisation group, KBO first) even where another source's
    addresses rank above KBO's."""
    (update,) = map_event(entity(), CONTEXT)
    assert update.fields["seat"] == {
        "street": "Minderbroedersstraat", "houseNumber": "3", "box": None, "postcode": "9700",
        "municipality": "Oudenaarde", "nis": "45035", "placed": True}
    (natural,) = map_event(entity(typeOfEnterprise="natural", addresses=[]), CONTEXT)
    assert natural.fields["seat"] is None


def test_a_natural_person_enterprise_is_an_individual_practice() -> None:
    """TypeOfEnterprise 1 (natural) and 2 (legal) say what the organisation fiche is."""
    (legal,) = map_event(entity(), CONTEXT)
    (natural,) = map_event(entity(typeOfEnterprise="natural"), CONTEXT)
    assert legal.fields["enterpriseType"] == "legal-person"
    assert natural.fields["enterpriseType"] == "natural-person"


def test_a_struck_off_unit_address_leaves_the_unit_without_address() -> None:
    """The unit stays (the KBO still lists it); only its ended address goes."""
    gone = [{"type": "BAET", "zipcode": "9600", "municipalityNL": "Ronse",
             "dateStrikingOff": "2026-01-01"}]
    (update,) = map_event(entity(establishments=[unit(UNIT_A, addresses=gone)]), CONTEXT)
    assert update.model_dump()["fields"]["establishments"][0]["address"] is None


def test_an_enterprise_without_units_has_no_establishments() -> None:
    """None, not an empty list: the source gives no value for the field."""
    (update,) = map_event(entity(establishments=[]), CONTEXT)
    assert update.fields["establishments"] is None


RONSE_MOVED = [{"type": "BAET", "zipcode": "9600", "municipalityNL": "Ronse",
                "streetNL": "Grote Markt", "houseNumber": "1"}]


def test_a_legal_person_whose_unit_moves_gets_a_new_fiche_version() -> None:
    """A changed establishment address is a visible change of the enterprise's fiche."""
    before = entity(establishments=[unit(UNIT_A), unit(UNIT_B)])
    moved = entity(establishments=[unit(UNIT_A, addresses=RONSE_MOVED), unit(UNIT_B)])
    decision = changed_by(before, moved)
    assert (decision.outcome, decision.event_type) == ("applied", "updated")
    assert decision.changed_fields == ("establishments",)
    place = decision.state.visible["establishments"][1]["address"]  # type: ignore[index,call-overload]
    assert place["street"] == "Grote Markt"  # type: ignore[index,call-overload]


def test_a_legal_person_whose_seat_moves_gets_a_new_fiche_version() -> None:
    """The seat shows in ``seat`` and, without a better source, in ``addresses``."""
    decision = changed_by(entity(), entity(addresses=[seat(streetNL="Bourgondiëstraat")]))
    assert decision.event_type == "updated"
    assert decision.changed_fields == ("addresses", "seat")


def test_a_new_and_a_closed_unit_change_the_fiche() -> None:
    """Opening a unit and closing one are both visible, even with the same NACE codes."""
    both = entity(establishments=[unit(UNIT_A), unit(UNIT_B)])
    opened = changed_by(entity(establishments=[unit(UNIT_A)]), both)
    closed = changed_by(both, entity(establishments=[unit(UNIT_A)]))
    assert opened.changed_fields == ("establishments",)
    assert closed.changed_fields == ("establishments",)
    assert len(closed.state.visible["establishments"]) == 1  # type: ignore[arg-type]


def test_a_seat_move_shows_even_where_cobrha_gives_the_address() -> None:
    """CoBRHA's address ranks above KBO's and stays; the moved seat still makes a version."""
    (cobrha,) = map_event(organisation(), CONTEXT)
    (first,) = map_event(entity(), CONTEXT)
    (moved,) = map_event(entity(addresses=[seat(streetNL="Bourgondiëstraat")]).model_copy(
        update={"id": "kbo-251"}), CONTEXT)
    state = new_state(uuid.uuid4(), FicheKind.ORGANISATION)
    for item in (cobrha, first):
        state = merge(state, item, default_policy()).state
    decision = merge(state, moved.model_copy(update={"source_version": 251}), default_policy())
    assert decision.changed_fields == ("seat",)
    assert decision.state.visible["addresses"] == cobrha.fields["addresses"]
