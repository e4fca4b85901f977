"""Writes the sample source feeds in ``schemas/samples/`` (deterministic: fixed seeds).

One file per source topic: ``cobrha-professional``, ``cobrha-organisation``, ``kbo-entity``,
``association-member`` and ``manual-edit`` (``.jsonl``, one CloudEvent a line). Every
identifier carries valid check digits, except in the events meant to be dead-lettered; every
address is a real Flemish municipality with its real postcode. The feeds tell one story when
applied in that order: the association and the editors speak about fiches CoBRHA made
(a psychologist and a home nurse share their NIHII number with CoBRHA professionals; an
editor pins the phone of the first professional, whose later CoBRHA phone then raises a
conflict), and KBO joins CoBRHA organisations through their enterprise numbers.
Run ``python scripts/make_samples.py`` after changing it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sync.events import derived_id
from sync.mapping.kbo_model import KboEntityData

OUT = Path(__file__).resolve().parent.parent / "schemas" / "samples"
COBRHA = "urn:be:fgov:ehealth:cobrha"
PLACES = [("9700", "Oudenaarde", "Audenarde"), ("9690", "Kluisbergen", None),
          ("9630", "Zwalm", None), ("9000", "Gent", "Gand"), ("9600", "Ronse", "Renaix"),
          ("9660", "Brakel", None), ("9300", "Aalst", "Alost"), ("9790", "Wortegem-Petegem", None)]
STREETS = ["Kerkstraat", "Stationsstraat", "Markt", "Nieuwstraat", "Dorpsstraat", "Molenstraat"]
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


def nihii(rng: random.Random, first: str) -> str:
    """An 11-digit NIHII number whose digits 7-8 satisfy the mod-97 check."""
    head = first + "".join(rng.choice("0123456789") for _ in range(5))
    check = 97 - int(head) % 97
    return f"{head}{check:02d}" + "".join(rng.choice("0123456789") for _ in range(3))


def ssin(rng: random.Random) -> str:
    """A valid SSIN for a birth date between 1960 and 1995."""
    yy, mm, dd = rng.randint(60, 95), rng.randint(1, 12), rng.randint(1, 28)
    first9 = f"{yy:02d}{mm:02d}{dd:02d}{rng.randint(1, 997):03d}"
    return f"{first9}{97 - int(first9) % 97:02d}"


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


def cloud_event(source: str, kind: str, id_: str, subject: str, time: str,
                data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": id_, "source": source, "type": kind, "time": time,
            "subject": subject, "datacontenttype": "application/json", "data": data}


def professional_feed(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The CoBRHA professionals (``base``) and the feed about them."""
    base = [professional(rng, i) for i in range(12)]
    feed = list(base)
    feed.append(changed(base[0], "phone", phone="+3255000111"))
    feed.append(changed(base[1], "revoked",
                        licence={"status": "REVOKED", "validFrom": "2012-09-01",
                                 "validTo": "2026-11-01"}))
    feed.append(base[2])  # a redelivered event: the inbox makes it harmless
    feed.append({"specversion": "1.0", "id": "cobrha-p-removed-3", "source": COBRHA,
                 "type": "be.ehealth.cobrha.professional.removed",
                 "time": "2026-11-28T11:00:00Z", "subject": base[3]["subject"],
                 "data": {"sourceVersion": base[3]["data"]["sourceVersion"] + 2_000_000}})
    poison = changed(base[4], "poison", professionCode="ASTROLOGER")
    feed.append(poison)  # an unknown profession code: dead-lettered, never guessed
    return base, feed


def cbe(body: str) -> str:
    """A KBO number (enterprise or establishment) from its first 8 digits: mod-97 check."""
    return f"{body}{97 - int(body) % 97:02d}"


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


KBO = "urn:be:fgov:economie:kbo"


def kbo_address(kind: str, street: str, number: str, zip_code: str, nl: str,
                fr: str | None = None) -> dict[str, Any]:
    return {"type": kind, "countryNL": None, "zipcode": zip_code, "municipalityNL": nl,
            "municipalityFR": fr or nl, "streetNL": street, "streetFR": street,
            "houseNumber": number}


def nace(code: str, classification: str = "MAIN", group: str = "001") -> dict[str, Any]:
    return {"group": group, "naceVersion": "2008", "naceCode": code,
            "classification": classification}


def enterprise(body: str, names: dict[str, str], form: str | None, seat: dict[str, Any] | None,
               activities: list[dict[str, Any]], units: list[dict[str, Any]],
               contacts: list[dict[str, str]]) -> dict[str, Any]:
    """A KBO enterprise's state exactly as the ingest publishes it (validated by its model)."""
    return {"enterpriseNumber": cbe(body), "status": "AC", "juridicalSituation": "000",
            "typeOfEnterprise": "legal" if form else "natural", "juridicalForm": form,
            "startDate": "1998-01-01",
            "denominations": [{"language": lang, "type": "name", "value": value}
                              for lang, value in names.items()],
            "addresses": [seat] if seat else [], "contacts": contacts,
            "activities": activities, "establishments": units}


def unit(body: str, name: str, address: dict[str, Any], code: str) -> dict[str, Any]:
    return {"establishmentNumber": cbe(body), "startDate": "2005-03-01",
            "denominations": [{"language": "nl", "type": "commercial", "value": name}],
            "addresses": [address], "contacts": [], "activities": [nace(code, group="003")]}


#: KBO extract number -> its snapshot date (the events' time)
EXTRACTS = {250: "2026-11-28T00:00:00Z", 251: "2026-11-29T00:00:00Z"}


def kbo_event(state: dict[str, Any], extract: int) -> dict[str, Any]:
    data = KboEntityData.model_validate({"sourceVersion": extract, **state})
    number = data.enterprise_number
    return cloud_event(KBO, "be.fgov.economie.kbo.entity.upserted", f"kbo-{number}-{extract}",
                       number, EXTRACTS[extract], data.model_dump(mode="json", by_alias=True))


def kbo_feed() -> list[dict[str, Any]]:
    hospital = enterprise(
        "04030192", {"nl": "AZ Oudenaarde", "fr": "AZ Audenarde"}, "017",
        kbo_address("REGO", "Minderbroedersstraat", "3", "9700", "Oudenaarde", "Audenarde"),
        [nace("86101")],
        [unit("20000003", "AZ Oudenaarde campus Oudenaarde",
              kbo_address("BAET", "Minderbroedersstraat", "3", "9700", "Oudenaarde"), "86101")],
        [{"type": "TEL", "value": "055 33 61 11"}, {"type": "WEB", "value": "www.azoudenaarde.be"}])
    care_home = enterprise(
        "04101234", {"nl": "Woonzorgcentrum Sint-Jozef"}, "017",
        kbo_address("REGO", "Wolvestraat", "7", "9600", "Ronse", "Renaix"), [nace("87101")], [],
        [{"type": "EMAIL", "value": "info@wzc-sintjozef.be"}])
    practice = enterprise(
        "08123456", {"nl": "Huisartsenpraktijk Scheldekant"}, "610",
        kbo_address("REGO", "Stationsstraat", "4", "9690", "Kluisbergen"), [nace("86210")], [], [])
    home_care = enterprise(
        "05669882", {"nl": "Thuiszorg Vlaamse Ardennen"}, "017",
        kbo_address("REGO", "Grote Markt", "12", "9600", "Ronse", "Renaix"),
        [nace("88101"), nace("86904", "SECO")], [], [{"type": "TEL", "value": "055 21 30 30"}])
    home_nurse = enterprise(  # a natural person: no name, no seat, one establishment
        "07201234", {}, None, None, [],
        [unit("22345678", "Thuisverpleging De Backer",
              kbo_address("BAET", "Nederbrakelstraat", "21", "9660", "Brakel"), "86904")], [])
    feed = [kbo_event(state, 250) for state in (hospital, care_home, practice, home_care,
                                                home_nurse)]
    renamed = {**hospital, "denominations": [
        *hospital["denominations"], {"language": "de", "type": "name", "value": "AZ Oudenaarde"}]}
    feed.append(kbo_event(renamed, 251))
    feed.append(cloud_event(KBO, "be.fgov.economie.kbo.entity.removed",
                            f"kbo-{cbe('08123456')}-251", cbe("08123456"), EXTRACTS[251],
                            {"sourceVersion": 251, "enterpriseNumber": cbe("08123456")}))
    poison = kbo_event(home_care, 251)
    poison["data"]["enterpriseNumber"] = poison["subject"] = "0566988258"  # fails mod 97
    poison["id"] = "kbo-0566988258-251"
    return [*feed, poison]


def member(association: str, member_id: str, version: int, **fields: Any) -> dict[str, Any]:
    """An association member event as SOURCES.md §4 shows it (the ingest's id scheme)."""
    data: dict[str, Any] = {
        "sourceVersion": version, "associationId": association, "memberId": member_id,
        "nihii": None, "firstName": None, "lastName": None, "profession": None,
        "practiceName": None, "address": None, "phone": None, "email": None, "website": None,
        "languages": ["nl"], "specialisations": [], "targetGroups": [], "serviceArea": [],
        "acceptsNewClients": None, "status": "ACTIVE", **fields}
    return cloud_event(f"urn:association:{association}", "be.association.member.upserted",
                       f"{association}-{member_id}-{version}", f"{association}:{member_id}",
                       "2026-11-28T12:00:00Z", data)


def street(name: str, number: str, zip_code: str, municipality: str) -> dict[str, Any]:
    return {"street": name, "houseNumber": number, "box": None, "zipCode": zip_code,
            "municipality": municipality}


def association_feed(rng: random.Random, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Psychologists (VVKP), home nurses with their rounds, a tobacco specialist (VRGT)."""
    psychologist, nurse = base[9]["data"], base[7]["data"]  # the same people in CoBRHA
    jan = member("vvkp", "4711", 20261128, nihii="54263481527", firstName="Jan",
                 lastName="Claes", profession="CLINICAL_PSYCHOLOGIST",
                 practiceName="Praktijk De Linde", address=street("Lindestraat", "5", "9690",
                                                                  "Kluisbergen"),
                 phone="+3255998877", email="jan@praktijkdelinde.be", languages=["nl", "fr"],
                 specialisations=["trauma"], targetGroups=["adults"],
                 serviceArea=["Kluisbergen", "Oudenaarde", "Zwalm"], acceptsNewClients=True)
    feed = [jan, member(
        "vvkp", "5120", 20261128, nihii=psychologist["professions"][0]["nihii"],
        firstName=psychologist["firstName"], lastName=psychologist["lastName"],
        profession="CLINICAL_PSYCHOLOGIST", practiceName="Psychologenpraktijk Den Ast",
        address=street("Nederename", "33", "9700", "Oudenaarde"), phone="+3255305070",
        email="bram@denast.be", languages=["nl", "en"], targetGroups=["children", "adolescents"],
        specialisations=["anxiety", "burn-out"], acceptsNewClients=False)]
    feed.append(member(  # a home nurse's round: names, a NIS code and a merged municipality
        "thuisverpleging", "TV-017", 3, nihii=nurse["professions"][0]["nihii"],
        firstName=nurse["firstName"], lastName=nurse["lastName"], profession="NURSE",
        practiceName="Thuisverpleging De Backer",
        address=street("Nederbrakelstraat", "21", "9660", "Brakel"), phone="+3255423311",
        serviceArea=["Brakel", "Horebeke", "45063", "Zwalm"], acceptsNewClients=True))
    feed.append(member(
        "thuisverpleging", "TV-022", 3, nihii=nihii(rng, "4"), firstName="Ilse",
        lastName="Verhaeghe", profession="NURSE", phone="+3292301122",
        address=street("Hundelgemsesteenweg", "88", "9820", "Merelbeke-Melle"),
        serviceArea=["Melle", "Merelbeke", "Oosterzele"], acceptsNewClients=True))
    feed.append(member(  # no NIHII number: identified by association and member id only
        "vrgt", "T-0042", 7, firstName="Sofie", lastName="Maes",
        profession="TOBACCO_SPECIALIST", practiceName="Rookstopcentrum Ronse",
        address=street("Grote Markt", "12", "9600", "Ronse"), phone="+3255213030",
        languages=["nl", "fr"], targetGroups=["adults"], acceptsNewClients=True))
    feed.append(cloud_event("urn:association:vvkp", "be.association.member.removed",
                            "vvkp-4711-20261205", "vvkp:4711", "2026-12-05T12:00:00Z",
                            {"sourceVersion": 20261205, "associationId": "vvkp",
                             "memberId": "4711"}))
    feed.append(member("vvkp", "6001", 20261128, firstName="Karel", lastName="Smet",
                       profession="ASTROLOGER"))  # unknown profession: dead-lettered
    return feed


EDITOR = "urn:socialekaart:editor"
HAND_MADE = "3f2b8c1e-5a7d-4e9f-b6c2-8d1e0f4a7b93"


def manual_feed(base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A hand-made fiche, a pinned phone on a CoBRHA fiche, and a refused edit."""
    fiche = str(derived_id("fiche", "person", "NIHII-PERSON", base[0]["subject"]))
    created = cloud_event(EDITOR, "be.socialekaart.fiche.created", "sk-edit-000001", HAND_MADE,
                          "2026-11-28T08:00:00Z", {
                              "ficheId": HAND_MADE, "kind": "organisation",
                              "editor": {"id": "u-1029", "role": "editor"},
                              "fields": {"name": {"nl": "Ontmoetingscentrum De Brug"},
                                         "contact.phone": "+3255310011",
                                         "openingHours": "ma-vr 9-12",
                                         "description": "Inloophuis voor mensen in armoede"}})
    pinned = cloud_event(EDITOR, "be.socialekaart.fiche.edited", "sk-edit-000002", fiche,
                         "2026-11-28T09:30:00Z", {
                             "ficheId": fiche, "editor": {"id": "u-1029", "role": "editor"},
                             "changes": {"contact.phone": "+3255999000"},
                             "reason": "telefonisch bevestigd", "reviewAfter": "2028-11-28"})
    refused = cloud_event(EDITOR, "be.socialekaart.fiche.edited", "sk-edit-000003", fiche,
                          "2026-11-28T09:45:00Z", {
                              "ficheId": fiche, "editor": {"id": "u-2203", "role": "provider"},
                              "changes": {"professions": [{"code": "GENERAL_PRACTITIONER"}]},
                              "reason": "ik ben huisarts, geen arts"})
    return [created, pinned, refused]  # the last one is refused: professions are CoBRHA's


def write(name: str, feed: list[dict[str, Any]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", encoding="utf-8") as handle:
        for item in feed:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def main() -> None:
    rng = random.Random(20261128)
    base, professionals = professional_feed(rng)
    write("cobrha-professional.jsonl", professionals)
    write("cobrha-organisation.jsonl", organisation_feed())
    write("kbo-entity.jsonl", kbo_feed())
    write("association-member.jsonl", association_feed(random.Random(4711), base))
    write("manual-edit.jsonl", manual_feed(base))


if __name__ == "__main__":
    main()
