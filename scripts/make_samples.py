"""Writes the sample source feed in ``schemas/samples/`` (deterministic: a fixed seed).

Every identifier carries valid check digits; every address is a real Flemish municipality
with its real postcode. Run ``python scripts/make_samples.py`` after changing it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

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


def main() -> None:
    rng = random.Random(20261128)
    base = [professional(rng, i) for i in range(12)]
    feed = list(base)
    feed.append(changed(base[0], "phone", phone="+3255000111"))
    feed.append(changed(base[1], "revoked",
                        licence={"status": "REVOKED", "validFrom": "2012-09-01",
                                 "validTo": "2026-11-01"}))
    feed.append(base[2])  # a redelivered event: the inbox makes it harmless
    removed = {"specversion": "1.0", "id": "cobrha-p-removed-3", "source": COBRHA,
               "type": "be.ehealth.cobrha.professional.removed", "time": "2026-11-28T11:00:00Z",
               "subject": base[3]["subject"],
               "data": {"sourceVersion": base[3]["data"]["sourceVersion"] + 2_000_000}}
    feed.append(removed)
    poison = changed(base[4], "poison", professionCode="ASTROLOGER")
    feed.append(poison)  # an unknown profession code: dead-lettered, never guessed
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "cobrha-professional.jsonl").open("w", encoding="utf-8") as handle:
        for event in feed:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
