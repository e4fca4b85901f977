"""A KBO natural-person enterprise is an individual practice: one organisation fiche that
links to the fiche of the person whose practice it is (docs/rules.md)."""

from __future__ import annotations

import asyncpg

from sync.cloudevents import CloudEvent
from sync.mapping import MappingContext
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier
from sync.store.queries import fiche_report, resolve_fiche_id

CONTEXT = MappingContext(ssin_secret=b"k" * 32)
PRACTICE = "0700123432"  # a natural person's enterprise (mod-97 checked)
PERSON = "18749704"  # Dr. An Peeters's NIHII person number


def event(source: str, kind: str, subject: str, data: dict[str, object]) -> CloudEvent:
    return CloudEvent(id=f"{kind}-{subject}", source=source, type=kind, subject=subject,
                      time="2026-11-28T09:00:00Z", data=data)


def doctor() -> CloudEvent:
    return event("urn:be:fgov:ehealth:cobrha", "be.ehealth.cobrha.professional.upserted",
                 PERSON, {"sourceVersion": 1, "lastName": "Peeters", "firstName": "An",
                          "professions": [{"professionCode": "PHYSICIAN",
                                           "nihii": "18749704477",
                                           "licence": {"status": "ACTIVE"}}]})


def kbo_practice() -> CloudEvent:
    return event("urn:be:fgov:economie:kbo", "be.fgov.economie.kbo.entity.upserted", PRACTICE, {
        "sourceVersion": 100, "enterpriseNumber": PRACTICE, "status": "AC",
        "typeOfEnterprise": "natural",
        "establishments": [{
            "establishmentNumber": "2234567818",
            "denominations": [{"language": "nl", "type": "commercial",
                               "value": "Huisartsenpraktijk Peeters"}],
            "addresses": [{"type": "BAET", "zipcode": "9700", "municipalityNL": "Oudenaarde",
                           "streetNL": "Kerkstraat", "houseNumber": "12"}],
            "activities": [{"group": "001", "naceVersion": "2008", "naceCode": "86210"}]}]})


def cobrha_practice() -> CloudEvent:
    return event("urn:be:fgov:ehealth:cobrha", "be.ehealth.cobrha.organisation.upserted",
                 "HCO:000099999", {
                     "sourceVersion": 7, "names": {"nl": "Huisartsenpraktijk Peeters"},
                     "ids": [{"type": "HCO", "value": "99999"}, {"type": "CBE", "value": PRACTICE},
                             {"type": "NIHII-PERSON", "value": PERSON}],
                     "organizationTypeCodes": ["orgpractice"]})


async def test_a_natural_person_enterprise_links_to_the_fiche_of_its_nihii_person(
    pg_pool: asyncpg.Pool,
) -> None:
    """KBO says it is a natural person's enterprise; CoBRHA names the person: the practice's
    fiche is typed and points at the doctor's fiche, whichever arrived first."""
    applier = Applier(pg_pool, default_policy(), {"fiche_event": "e", "notification": "n"})
    for source_event in (kbo_practice(), cobrha_practice(), doctor()):
        (update,) = map_event(source_event, CONTEXT)
        [result] = await applier.apply([update])
        assert result.outcome == "applied", result.reason
    async with pg_pool.acquire() as conn:
        practice = await resolve_fiche_id(conn, f"CBE:{PRACTICE}")
        person = await resolve_fiche_id(conn, f"NIHII-PERSON:{PERSON}")
        assert practice is not None
        assert person not in (None, practice)
        report = await fiche_report(conn, practice)
    assert report is not None
    assert (report["kind"], report["status"]) == ("organisation", "active")
    assert report["visible"]["enterpriseType"] == "natural-person"
    assert report["visible"]["practiceOf"] == {"type": "NIHII-PERSON", "value": PERSON}
    assert report["related"] == {"practiceOf": str(person)}
    assert {"type": "HCO", "value": "000099999"} in report["identifiers"]
