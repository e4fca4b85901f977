"""CoBRHA samples: professionals (with the events meant to be dead-lettered) and organisations."""

from __future__ import annotations

import json
import random
from typing import Any

from samples.common import PLACES, STREETS, cbe, cloud_event, nihii, ssin

COBRHA = "urn:be:fgov:ehealth:cobrha"


NAMES = [("An", "Peeters", "F"), ("Jan", "Claes", "M"), ("Els", "De Smet", "F"),
         ("Pieter", "Van Damme", "M"), ("Sofie", "Maes", "F"), ("Koen", "Willems", "M"),
         ("Lotte", "Vermeulen", "F"), ("Tom", "De Backer", "M"), ("Nele", "Goossens", "F"),
         ("Bram", "Jacobs", "M"), ("Hanne", "Mertens", "F"), ("Wout", "Desmet", "M")]
PROFESSIONS = [("PHYSICIAN", "1", {"nl": "Huisarts", "fr": "Médecin généraliste"}),
               ("NURSE", "4", {"nl": "Verpleegkundige", "fr": "Infirmier"}),
               ("PHYSIOTHERAPIST", "5", {"nl": "Kinesitherapeut", "fr": "Kinésithérapeute"}),
               ("CLINICAL_PSYCHOLOGIST", "7", {"nl": "Klinisch psycholoog",
                                               "fr": "Psychologue clinicien"}),
               ("SPEECH_THERAPIST", "5", {"nl": "Logopedist", "fr": "Logopède"}),
               ("DENTIST", "3", {"nl": "Tandarts", "fr": "Dentiste"})]


def professional(rng: random.Random, index: int) -> dict[str, object]:
    first, last, gender = NAMES[index % len(NAMES)]
    code, digit, label = PROFESSIONS[index % len(PROFESSIONS)]
    zip_code, nl, fr = PLACES[index % len(PLACES)]
    number = nihii(rng, digit)
    municipality = {"nl": nl, **({"fr": fr} if fr else {})}
    return {
        "specversion": "1.0", "id": f"cobrha-p-{index:09d}", "source": COBRHA,
        "type": "be.ehealth.cobrha.professional.upserted", "time": "2026-11-28T09:15:02Z",
        "subject": number[:8], "datacontenttype": "application/json",
        "data": {
            "sourceVersion": 1764321302000 + index, "ssin": ssin(rng),
            "lastName": last, "firstName": first, "gender": gender, "language": "nl",
            "birthDate": None, "deathDate": None,
            "professions": [{
                "professionCode": code, "nihii": number, "friendlyName": label,
                "specialities": [], "licence": {"status": "ACTIVE", "validFrom": "2012-09-01",
                                                "validTo": None},
                "addresses": [{"street": {"nl": rng.choice(STREETS)},
                               "houseNumber": str(rng.randint(1, 120)), "postBox": None,
                               "zipCode": zip_code, "municipality": municipality}],
                "email": f"{first.lower()}.{last.lower().replace(' ', '')}@example.be",
                "phone": f"+3255{rng.randint(100000, 999999)}"}]}}


def changed(event: dict[str, object], suffix: str, **changes: object) -> dict[str, object]:
    """A later version of the same record."""
    copy = json.loads(json.dumps(event))
    copy["id"] = f"{copy['id']}-{suffix}"
    copy["data"]["sourceVersion"] += 1_000_000
    copy["time"] = "2026-11-28T10:00:00Z"
    profession = copy["data"]["professions"][0]
    for key, value in changes.items():
        profession[key] = value
    return copy


def professional_feed(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The CoBRHA professionals (``base``) and the feed about them."""
    base = [professional(rng, i) for i in range(12)]
    feed = list(base)
    feed.append(changed(base[0], "phone", phone="+3255000111"))
    feed.append(changed(base[1], "revoked",
                        licence={"status": "REVOKED", "validFrom": "2012-09-01",
                                 "validTo": "2026-11-01"}))
    feed.append(base[2])  # a redelivered event: its sourceVersion makes it harmless
    feed.append({"specversion": "1.0", "id": "cobrha-p-removed-3", "source": COBRHA,
                 "type": "be.ehealth.cobrha.professional.removed",
                 "time": "2026-11-28T11:00:00Z", "subject": base[3]["subject"],
                 "data": {"sourceVersion": base[3]["data"]["sourceVersion"] + 2_000_000}})
    poison = changed(base[4], "poison", professionCode="ASTROLOGER")
    feed.append(poison)  # an unknown profession code: dead-lettered, never guessed
    return base, feed


#: hco, names, CD-HCPARTY type, NIHII number, CBE body, recognition, address, phone, website
ORGANISATIONS = [
    ("000012345", {"nl": "AZ Oudenaarde", "fr": "AZ Audenarde"}, "orghospital",
     ("NIHII-HOSPITAL", "71089815"), "04030192", "GENERAL_HOSPITAL",
     ("Minderbroedersstraat", "3", "9700", "Oudenaarde"), "+3255336111",
     "https://www.azoudenaarde.be"),
    ("000023456", {"nl": "Wijkgezondheidscentrum De Kaai"}, "orgprimaryhealthcarecenter",
     ("NIHII-MEDICAL_HOUSE", "70812345"), "04123987", "MEDICAL_HOUSE",
     ("Brugsesteenweg", "120", "9000", "Gent"), "+3292251020", None),
    ("000034567", {"nl": "Huisartsenpraktijk Scheldekant"}, "orgpractice",
     ("NIHII-GROUP_DOCTORS", "19010203"), "08123456", None,
     ("Stationsstraat", "4", "9690", "Kluisbergen"), "+3255384050", None),
    ("000045678", {"nl": "Woonzorgcentrum Sint-Jozef", "fr": "Maison de repos Saint-Joseph"},
     "orgretirementhome", ("NIHII-RETIREMENT", "76012345"), "04101234", "NURSING_HOME",
     ("Wolvestraat", "7", "9600", "Ronse"), "+3255211800", None),
    ("000056789", {"nl": "Apotheek Zwalm"}, "orgpharmacy", ("NIHII-PHARMACY", "55123456"),
     "07651234", None, ("Zottegemsesteenweg", "10", "9630", "Zwalm"), "+3255499090", None),
]


def organisation(index: int, version: int = 88_000, **changes: Any) -> dict[str, Any]:
    """A CoBRHA organisation event as SOURCES.md §2 shows it."""
    hco, names, code, nihii_id, body, recognition, place, phone, web = ORGANISATIONS[index]
    street, number, zip_code, municipality = place
    data: dict[str, Any] = {
        "sourceVersion": version + index,
        "ids": [{"type": "HCO", "value": hco}, {"type": nihii_id[0], "value": nihii_id[1]},
                {"type": "CBE", "value": cbe(body)}],
        "names": names, "organizationTypeCodes": [code],
        "recognitions": [] if recognition is None else [
            {"code": recognition, "validFrom": "1998-01-01", "validTo": None}],
        "addresses": [{"street": {"nl": street}, "houseNumber": number, "zipCode": zip_code,
                       "municipality": {"nl": municipality}}],
        "email": None, "phone": phone, "website": web, **changes}
    return cloud_event(COBRHA, "be.ehealth.cobrha.organisation.upserted",
                       f"cobrha-o-{hco}-{data['sourceVersion']}", f"HCO:{hco}",
                       "2026-11-28T09:20:00Z", data)


def organisation_feed() -> list[dict[str, Any]]:
    feed = [organisation(i) for i in range(len(ORGANISATIONS))]
    feed.append(organisation(0, 89_000, website="https://www.azoudenaarde.be/nl"))
    feed.append(organisation(3, 89_000, recognitions=[  # recognition ended: inactive
        {"code": "NURSING_HOME", "validFrom": "1998-01-01", "validTo": "2026-10-31"}]))
    feed.append(cloud_event(COBRHA, "be.ehealth.cobrha.organisation.removed",
                            "cobrha-o-000056789-removed", "HCO:000056789",
                            "2026-11-28T11:00:00Z",
                            {"sourceVersion": 90_000,
                             "ids": [{"type": "HCO", "value": "000056789"}]}))
    bad_cbe = organisation(1, 89_000, ids=[{"type": "HCO", "value": "000067890"},
                                           {"type": "CBE", "value": "0412398766"}])
    bad_code = organisation(2, 89_000, organizationTypeCodes=["persphysician"])
    return [*feed, bad_cbe, bad_code]  # both dead-lettered: bad check digits, unknown code
