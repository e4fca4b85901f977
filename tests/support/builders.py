"""One-line builders of realistic source events (valid check digits, real municipalities)."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

COBRHA = "urn:be:fgov:ehealth:cobrha"
_counter = itertools.count(1)


_persons_used: set[str] = set()


def nihii(first: str = "1", rng: random.Random | None = None) -> str:
    """A NIHII professional number that passes the mod-97 check, of a person (first 8
    digits) no earlier call in this process returned: only 100,000 persons exist per first
    digit, so random draws for a test of 150 people would otherwise collide one run in ten."""
    rng = rng or random.Random()
    while True:
        head = first + "".join(rng.choice("0123456789") for _ in range(5))
        if head not in _persons_used:
            _persons_used.add(head)
            break
    return f"{head}{97 - int(head) % 97:02d}" + "".join(rng.choice("0123456789") for _ in range(3))


def ssin(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    first9 = (f"{rng.randint(60, 95):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
              f"{rng.randint(1, 997):03d}")
    return f"{first9}{97 - int(first9) % 97:02d}"


def professional(
    number: str | None = None, *, version: int = 1, first: str = "An", last: str = "Peeters",
    code: str = "PHYSICIAN", licence: str = "ACTIVE", phone: str | None = "+3255112233",
    zip_code: str = "9700", municipality: str = "Oudenaarde", with_ssin: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A ``be.ehealth.cobrha.professional.upserted`` event as SOURCES.md shows it."""
    number = number or nihii()
    return {
        "specversion": "1.0", "id": event_id or f"cobrha-p-{uuid.uuid4().hex}",
        "source": COBRHA, "type": "be.ehealth.cobrha.professional.upserted",
        "time": "2026-11-28T09:15:02Z", "subject": number[:8],
        "datacontenttype": "application/json",
        "data": {
            "sourceVersion": version, "ssin": with_ssin, "lastName": last, "firstName": first,
            "gender": "F", "language": "nl", "birthDate": "1985-07-30", "deathDate": None,
            "professions": [{
                "professionCode": code, "nihii": number,
                "friendlyName": {"nl": "Huisarts", "fr": "Médecin généraliste"},
                "specialities": ["GENERAL_PRACTICE"],
                "licence": {"status": licence, "validFrom": "2012-09-01", "validTo": None},
                "addresses": [{"street": {"nl": "Kerkstraat"}, "houseNumber": "12",
                               "postBox": None, "zipCode": zip_code,
                               "municipality": {"nl": municipality}}],
                "email": "an.peeters@example.be", "phone": phone}]}}


def professional_removed(number: str, *, version: int) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": f"cobrha-p-removed-{uuid.uuid4().hex}", "source": COBRHA,
        "type": "be.ehealth.cobrha.professional.removed", "time": "2026-11-28T10:00:00Z",
        "subject": number[:8], "data": {"sourceVersion": version, "nihii": number},
    }
