"""Realistic CoBRHA professional events for the benchmark. Pure and deterministic (seeded).

Every NIHII number passes its mod-97 check, every SSIN its check digits, every address is a
real Belgian postcode with its municipality (from the service's own geography tables), and a
share of the professionals hold two professions and several practice addresses, as in eCad.
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["COBRHA", "EventFactory", "latency_of", "publish_stamp"]

COBRHA = "urn:be:fgov:ehealth:cobrha"
UPSERTED = "be.ehealth.cobrha.professional.upserted"

#: (code, friendly name nl, fr, specialities): the professions CoBRHA sends most.
PROFESSIONS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("PHYSICIAN", "Arts", "Médecin", ["GENERAL_PRACTICE"]),
    ("GENERAL_PRACTITIONER", "Huisarts", "Médecin généraliste", []),
    ("NURSE", "Verpleegkundige", "Infirmier", ["HOME_CARE"]),
    ("PHYSIOTHERAPIST", "Kinesitherapeut", "Kinésithérapeute", []),
    ("CLINICAL_PSYCHOLOGIST", "Klinisch psycholoog", "Psychologue clinicien", []),
    ("DENTIST", "Tandarts", "Dentiste", []),
    ("MIDWIFE", "Vroedvrouw", "Sage-femme", []),
    ("PHARMACIST", "Apotheker", "Pharmacien", []),
)
#: First names and the parts of family names: combined, about 7,000 family names whose
#: frequencies fall off as in Belgium (a few very common, a long tail), so that a name shared
#: by many professionals in one municipality is as rare as in the real directory.
FIRST = ("An", "Jan", "Els", "Pieter", "Sofie", "Koen", "Lotte", "Tom", "Nele", "Bram", "Hanne",
         "Wout", "Marie", "Luc", "Julie", "Thomas", "Camille", "Nicolas", "Emma", "Lucas",
         "Sarah", "Laura", "Lien", "Joris", "Stijn", "Kristof", "Ines", "Eline", "Jonas",
         "Arne", "Femke", "Lisa", "Charlotte", "Manon", "Antoine", "Maxime", "Mathilde",
         "Louis", "Victor", "Noah", "Elise", "Griet", "Hilde", "Katrien", "Dirk", "Geert",
         "Bart", "Wim", "Veerle", "Annelies", "Sander", "Ruben", "Jeroen", "Evelien", "Leen",
         "Isabelle", "Nathalie", "Sophie", "Pierre", "Olivier", "Fatima", "Mohamed", "Yasmina",
         "Amine", "Sara", "Ahmed", "Nadia", "Karim", "Leila", "Youssef", "Aurélie", "Céline")
LAST_PREFIX = ("", "", "", "De ", "Van ", "Van den ", "Vande", "Ver", "Le ", "Du ")
LAST_ROOT = ("Peeter", "Jans", "Maes", "Jacob", "Merten", "Willem", "Claes", "Gooss", "Wouter",
             "Smet", "Dubois", "Lambert", "Dupont", "Damme", "Meulen", "Hooghe", "Bruyn",
             "Wilde", "Backer", "Cock", "Coster", "Clercq", "Vos", "Bosch", "Broeck", "Kerckhove",
             "Linden", "Poel", "Velde", "Berghe", "Hecke", "Roeck", "Steen", "Laere", "Acker",
             "Dael", "Eycken", "Goethals", "Hermans", "Hendrick", "Leroy", "Martin", "Renard",
             "Simon", "Laurent", "Lemaire", "Michel", "Mercier", "Fontaine", "Dumont", "Thiry",
             "Gilles", "Collard", "Denis", "Marchal", "Rousseau", "Petit", "Noël", "Moreau",
             "Baert", "Bogaert", "Callens", "Desmet", "Dewulf", "Govaert", "Lievens", "Maertens",
             "Neyt", "Pauwel", "Raes", "Segers", "Stevens", "Timmerman", "Verhaegen", "Wyns")
LAST_SUFFIX = ("", "", "s", "e", "ens", "aert", "man", "ckx", "y")
_ROOT_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 0.8
                                          for rank in range(len(LAST_ROOT))))
STREETS = ("Kerkstraat", "Stationsstraat", "Markt", "Nieuwstraat", "Dorpsstraat", "Molenstraat",
           "Schoolstraat", "Kapelstraat", "Rue de la Station", "Grand-Place", "Lindestraat")


@functools.cache
def places() -> tuple[tuple[str, str, str | None], ...]:
    """(postcode, Dutch name, French name) of every main postcode of a current municipality."""
    root = resources.files("sync") / "data" / "geo"
    with (root / "municipalities.csv").open(encoding="utf-8") as handle:
        names = {row["nis"]: (row["name_nl"], row["name_fr"] or None)
                 for row in csv.DictReader(handle) if not row["valid_to"]}
    with (root / "postcodes.csv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["main"] == "1"]
    found = [(row["postcode"], *names[row["nis"]]) for row in rows if row["nis"] in names]
    return tuple(sorted(set(found)))


def _mod97(head: str) -> str:
    return f"{head}{97 - int(head) % 97:02d}"


def publish_stamp(prefix: str, index: int) -> str:
    """An event id that carries its publish time (ns): the latency is read back from it."""
    return f"{prefix}-{index}-{time.time_ns()}"


def latency_of(event_id: str, seen_ns: int) -> float | None:
    """Seconds from the publish time in ``event_id`` to ``seen_ns``; None if it has none."""
    try:
        stamp = int(event_id.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None
    return (seen_ns - stamp) / 1e9


#: Distinct professionals the factory makes (a NIHII person number has six digits before its
#: check digits): a load of more would repeat some, which the service rightly counts as
#: duplicates, and the load would wait for fiche events that never come.
PERSONS = 1_000_000


@dataclass
class EventFactory:
    """Professional ``index`` always has the same NIHII number; ``version`` varies the rest."""

    seed: int = 20261128

    def nihii(self, index: int) -> str:
        """A unique person for each of :data:`PERSONS` indices in a row (index and index +
        1,000,000 are the same person), with its check digits: a permutation of the 900,000
        heads 100000-999999 for the first 900,000, then the heads 000000-099999."""
        person = index % PERSONS
        if person < 900_000:
            head = f"{100000 + (person * 7919 + 12345) % 900_000:06d}"
        else:
            head = f"{person - 900_000:06d}"
        return _mod97(head) + f"{index % 1000:03d}"

    def ssin(self, index: int) -> str:
        """A unique SSIN per professional (birth date and serial from ``index``)."""
        serial, day = 1 + index % 997, index // 997
        first9 = f"{60 + day // 336 % 40:02d}{1 + day // 28 % 12:02d}{1 + day % 28:02d}{serial:03d}"
        return _mod97(first9)

    def family_name(self, rng: random.Random) -> str:
        """Zipf-like roots (the first ones much more frequent), prefixes and suffixes as they
        come: the most common name is about 1 % of all, as Peeters is in Flanders."""
        root = rng.choices(LAST_ROOT, cum_weights=_ROOT_WEIGHTS)[0]
        name = rng.choice(LAST_PREFIX) + root + rng.choice(LAST_SUFFIX)
        return name[0].upper() + name[1:]

    def professional(self, index: int, version: int = 1, event_id: str | None = None,
                     ) -> dict[str, Any]:
        """A ``professional.upserted`` event; a higher ``version`` changes phone and address."""
        rng = random.Random(self.seed * 1_000_003 + index)
        number = self.nihii(index)
        first, last = rng.choice(FIRST), self.family_name(rng)
        chosen = [rng.choice(PROFESSIONS)]
        if rng.random() < 0.2:  # one in five holds a second profession (e.g. nurse + midwife)
            chosen.append(rng.choice([p for p in PROFESSIONS if p != chosen[0]]))
        pool = places()
        professions = []
        for position, (code, nl, fr, specialities) in enumerate(chosen):
            addresses = []
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                postcode, name_nl, name_fr = pool[rng.randrange(len(pool))]
                street = rng.choice(STREETS)
                addresses.append({
                    "street": {"nl": street}, "houseNumber": str(rng.randint(1, 180) + version),
                    "postBox": None if rng.random() < 0.8 else "b1", "zipCode": postcode,
                    "municipality": {"nl": name_nl, **({"fr": name_fr} if name_fr else {})}})
            qualification = f"{(index + position * 7) % 1000:03d}"
            professions.append({
                "professionCode": code, "nihii": number[:8] + qualification,
                "friendlyName": {"nl": nl, "fr": fr}, "specialities": specialities,
                "licence": {"status": "ACTIVE", "validFrom": "2012-09-01", "validTo": None},
                "addresses": addresses,
                "email": f"{first.lower()}.{last.lower().replace(' ', '')}{index}@example.be",
                "phone": f"+32{rng.randint(2, 9)}{rng.randint(1000000, 9999999) + version}"})
        return {
            "specversion": "1.0", "id": event_id or f"bench-p-{index}-v{version}",
            "source": COBRHA, "type": UPSERTED, "time": "2026-11-28T09:15:02Z",
            "subject": number[:8], "datacontenttype": "application/json",
            "data": {
                "sourceVersion": 1764321302000 + version, "ssin": self.ssin(index),
                "lastName": last, "firstName": first, "gender": rng.choice("FM"),
                "language": rng.choice(("nl", "nl", "nl", "fr")),
                "birthDate": None, "deathDate": None, "professions": professions}}
