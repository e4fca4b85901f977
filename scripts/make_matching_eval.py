"""Generate the labelled matching evaluation set in ``tests/data/matching/`` (seeded).

    python scripts/make_matching_eval.py [--seed 20261128] [--out tests/data/matching]

Writes ``fiches.csv`` (an export of hand-made fiches, docs/matching.md), ``records.jsonl``
(source CloudEvents as CoBRHA, the KBO and associations send them) and ``truth.csv`` (for each
record, the export id of the fiche it describes, or nothing when it describes nobody yet, and
the case it illustrates). The variations are the ones seen when hand-made directories meet
authentic sources: typos, first and last name swapped, missing accents, initials and titles,
old municipality names after the 2019 and 2025 mergers, street abbreviations, a practice that
moved, changed phones, two providers at one address, namesakes in other towns, organisations
written with abbreviations and legal forms. The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sync import geo

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("id", "kind", "first_name", "last_name", "name", "profession", "street",
           "house_number", "postcode", "municipality", "phone", "email", "kbo_number")

FIRST = ("An", "Anne", "Annelies", "Katrien", "Sofie", "Sarah", "Els", "Ellen", "Inge", "Griet",
         "Lien", "Lotte", "Marie", "Céline", "Hélène", "Ine", "Nathalie", "Valérie", "Joke",
         "Evelien", "Leen", "Hilde", "Kristien", "Veerle", "Liesbeth", "Elise", "Emma", "Febe",
         "Ilse", "Mieke", "Jan", "Jef", "Joris", "Koen", "Pieter", "Bart", "Tom", "Wim", "Dirk",
         "Geert", "Stijn", "Thomas", "Michiel", "Frederik", "Jeroen", "Kristof", "Wouter",
         "Bram", "Raf", "Luc", "Marc", "Johan", "Sébastien", "François", "Jérôme", "Maarten",
         "Tim", "Sander", "Lucas", "Arne", "Zoë", "Noémie", "Maïté", "Ruben", "Jonas")
LAST = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
        "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Vermeulen", "Hermans",
        "Van den Broeck", "Van Damme", "De Backer", "Desmet", "Verstraete", "Martens", "Aerts",
        "Segers", "Declercq", "Leclercq", "Vandenberghe", "De Vos", "Coppens", "Van de Velde",
        "Smets", "Michiels", "Cools", "Verhaeghe", "Vermeersch", "D'Hondt", "Van Acker",
        "Bogaert", "Van Hecke", "Lemmens", "Pauwels", "Baert", "Deprez", "Geerts", "Thys",
        "Van Dyck", "Vercauteren", "Wyns", "Roels", "Cuypers", "Bosmans", "Sels", "Renders",
        "Van Hoof", "Verbeke", "Dewulf", "Callens", "Lauwers", "Rombouts", "Hendrickx",
        "Stevens", "Van Looy", "Sterckx", "Heylen", "Nys", "Verlinden", "Moens", "Beckers",
        "Debruyne", "Vanhoutte", "Dhaene", "Ghesquière", "Lefèvre", "Van Caeneghem")
PROFESSIONS = (("GENERAL_PRACTITIONER", "huisarts", 5), ("PHYSIOTHERAPIST", "kinesitherapeut", 4),
               ("NURSE", "verpleegkundige", 4), ("CLINICAL_PSYCHOLOGIST", "klinisch psycholoog", 3),
               ("SPEECH_THERAPIST", "logopedist", 2), ("DIETICIAN", "diëtist", 1),
               ("MIDWIFE", "vroedvrouw", 1), ("DENTIST", "tandarts", 2),
               ("PODIATRIST", "podoloog", 1), ("OCCUPATIONAL_THERAPIST", "ergotherapeut", 1))
STREETS = ("Kerkstraat", "Stationsstraat", "Nieuwstraat", "Molenstraat", "Schoolstraat",
           "Dorpsstraat", "Beekstraat", "Kapelstraat", "Sint-Jansstraat", "Grote Markt",
           "Leopoldlaan", "Stationsplein", "Gentsesteenweg", "Brusselsesteenweg",
           "Oudenaardsesteenweg", "Kortrijkseweg", "Lindenlaan", "Populierenlaan", "Veldstraat",
           "Hoogstraat", "Meersstraat", "Ringlaan", "Vijverstraat", "Koning Albertlaan",
           "Sint-Martinusplein", "Bruggestraat", "Tieltstraat", "Marktplein", "Zandstraat",
           "Sint-Amandsstraat", "Nederename", "Lange Munte", "Heirweg", "Processiestraat")
#: Where the practices are: a region, so that towns hold many providers (and namesakes).
POSTCODES = ("9700", "9770", "9750", "9790", "9680", "9690", "9600", "9630", "9660", "9667",
             "9800", "9850", "9870", "9880", "9910", "9920", "9930", "9950", "8700", "8760",
             "8755", "8750", "8790", "8500", "8800", "8820", "8830", "9000", "9050", "9090",
             "9820", "9810", "9830", "9840", "9070", "9080", "9160", "9185", "2070", "2870")
#: Places whose municipality merged (2019, 2025): a fiche typed before keeps the old name.
MERGED = (("9770", "Kruishoutem"), ("9750", "Zingem"), ("8760", "Meulebeke"), ("8755", "Ruiselede"),
          ("9850", "Nevele"), ("9920", "Lovendegem"), ("9950", "Waarschoot"), ("9930", "Zomergem"),
          ("9880", "Aalter"), ("9910", "Knesselare"), ("9820", "Merelbeke"), ("9090", "Melle"),
          ("9810", "Nazareth"), ("9840", "De Pinte"), ("2070", "Zwijndrecht"), ("2870", "Puurs"))
ORG_TYPES = (
    ("orgpharmacy", "Apotheek", ("Centrum", "De Linde", "{last}", "Sint-Jan", "Ter Beke")),
    ("orgretirementhome", "Woonzorgcentrum",
     ("Ter Linde", "De Vlaamse Ardennen", "Sint-Vincentius", "Heilig Hart", "Ter Leie")),
    ("orgprimaryhealthcarecenter", "Wijkgezondheidscentrum",
     ("De Sleep", "Botermarkt", "Watersportbaan", "De Kaai")),
    ("orgpractice", "Groepspraktijk", ("De Linde", "Ter Heide", "{last}", "Het Anker")),
    ("orghospital", "AZ", ("Oudenaarde", "Glorieux", "Sint-Elisabeth", "Alma")),
    ("orgpsychiatriccarehome", "Psychiatrisch verzorgingstehuis",
     ("Ter Kouter", "De Kaai", "Sint-Jozef")),
)
ABBREVIATED = {"Woonzorgcentrum": "WZC", "Wijkgezondheidscentrum": "WGC",
               "Psychiatrisch verzorgingstehuis": "PVT", "AZ": "Algemeen Ziekenhuis"}
ASSOCIATIONS = {"PHYSIOTHERAPIST": "axxon", "CLINICAL_PSYCHOLOGIST": "vvkp", "NURSE": "nvkvv",
                "SPEECH_THERAPIST": "vvl", "DIETICIAN": "vbvd", "PODIATRIST": "vvp",
                "OCCUPATIONAL_THERAPIST": "ergo", "MIDWIFE": "vbov"}
NIHII_FIRST = {"GENERAL_PRACTITIONER": "1", "DENTIST": "3", "NURSE": "4", "MIDWIFE": "4",
               "PHYSIOTHERAPIST": "5", "SPEECH_THERAPIST": "5"}
COBRHA_CODE = {"GENERAL_PRACTITIONER": "PHYSICIAN"}
TIME = "2026-11-28T09:00:00Z"


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    profession: str
    postcode: str
    place: str
    street: str
    number: str
    phone: str
    email: str


@dataclass(frozen=True)
class Organisation:
    type: str
    name: str
    postcode: str
    place: str
    street: str
    number: str
    phone: str
    email: str
    kbo: str


def bare(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Generator:
    """Draws people, organisations, their hand-made fiches and their source records."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fiches: list[dict[str, str]] = []
        self.records: list[dict[str, Any]] = []
        self.truth: list[dict[str, str]] = []
        self.numbers: set[str] = set()

    # -- drawing ---------------------------------------------------------------------------

    def pick(self, items: tuple[Any, ...]) -> Any:
        return self.rng.choice(items)

    def town(self, other_than: str | None = None) -> tuple[str, str]:
        """A postcode and its municipality (not ``other_than``)."""
        while True:
            postcode = self.pick(POSTCODES)
            place = self.current(postcode, None)
            if place != other_than:
                return postcode, place

    def current(self, postcode: str, name: str | None) -> str:
        placed = geo.resolve(postcode, name)
        assert placed.municipality_nl, (postcode, name)
        return placed.municipality_nl

    def phone(self, mobile: bool | None = None) -> str:
        if mobile if mobile is not None else self.rng.random() < 0.4:
            return "04" + self.pick(("75", "76", "77", "78", "79", "86", "95")) + "".join(
                self.pick(tuple("0123456789")) for _ in range(6))
        zone = self.pick(("55", "9", "51", "56", "50", "3"))
        return "0" + zone + "".join(self.pick(tuple("0123456789")) for _ in range(8 - len(zone)))

    def unique(self, make: Callable[[], str]) -> str:
        while (value := make()) in self.numbers:
            pass
        self.numbers.add(value)
        return value

    def suffix(self) -> str:
        """Mostly nothing; sometimes a number, as when the plain address was taken."""
        return "" if self.rng.random() < 0.7 else str(self.rng.randint(1, 99))

    def nihii(self, profession: str) -> str:
        def make() -> str:
            head = NIHII_FIRST.get(profession, "7") + "".join(
                self.pick(tuple("0123456789")) for _ in range(5))
            return f"{head}{97 - int(head) % 97:02d}" + "".join(
                self.pick(tuple("0123456789")) for _ in range(3))
        return self.unique(make)

    def enterprise(self) -> str:
        def make() -> str:
            body = self.pick(("04", "05", "06", "07", "08")) + "".join(
                self.pick(tuple("0123456789")) for _ in range(6))
            return f"{body}{97 - int(body) % 97:02d}"
        return self.unique(make)

    def person(self, **given: str) -> Person:
        code = self.rng.choices([p[0] for p in PROFESSIONS], [p[2] for p in PROFESSIONS])[0]
        postcode, place = self.town()
        first, last = self.pick(FIRST), self.pick(LAST)
        local = f"{bare(first).lower()}.{bare(last).lower().replace(' ', '')}".replace("'", "")
        email = self.unique(lambda: f"{local}{self.suffix()}@"
                                    f"{self.pick(('telenet.be', 'gmail.com', 'skynet.be'))}")
        values = dict(first=first, last=last, profession=code, postcode=postcode, place=place,
                      street=self.pick(STREETS), number=str(self.rng.randint(1, 160)),
                      phone=self.phone(), email=email)
        values.update(given)
        return Person(**values)

    def organisation(self) -> Organisation:
        code, word, names = self.pick(ORG_TYPES)
        postcode, place = self.town()
        name = self.pick(names).replace("{last}", self.pick(LAST))
        full = f"{word} {name}" if code != "orghospital" else f"AZ {name}"
        slug = "".join(c for c in bare(name + place).lower() if c.isalnum())
        return Organisation(code, full, postcode, place, self.pick(STREETS),
                            str(self.rng.randint(1, 200)), self.phone(mobile=False),
                            self.unique(lambda: f"info@{slug}{self.suffix()}.be"),
                            self.enterprise())

    # -- hand-made fiches ------------------------------------------------------------------

    def fiche(self, who: Person | Organisation, **override: str) -> str:
        fiche_id = f"SK-{len(self.fiches) + 1:05d}"
        row = dict.fromkeys(COLUMNS, "")
        row["id"] = fiche_id
        if isinstance(who, Person):
            label = next(p[1] for p in PROFESSIONS if p[0] == who.profession)
            row.update(kind="person", first_name=who.first, last_name=who.last,
                       profession=label if self.rng.random() < 0.5 else who.profession)
        else:
            row.update(kind="organisation", name=who.name, profession=who.type,
                       kbo_number=who.kbo if self.rng.random() < 0.3 else "")
        row.update(street=who.street, house_number=who.number, postcode=who.postcode,
                   municipality=who.place, phone=self.written(who.phone),
                   email=who.email if self.rng.random() < 0.7 else "")
        row.update(override)
        self.fiches.append(row)
        return fiche_id

    def written(self, phone: str) -> str:
        """A phone number as an editor types it."""
        style = self.rng.randrange(4)
        if style == 0:
            return phone
        if style == 1:
            return f"{phone[:3]}/{phone[3:5]}.{phone[5:7]}.{phone[7:]}"
        if style == 2:
            return f"{phone[:3]} {phone[3:5]} {phone[5:7]} {phone[7:]}"
        return f"+32 {phone[1:]}"

    # -- source records --------------------------------------------------------------------

    def record(self, who: Person | Organisation, truth: str, case: str, *,
               source: str | None = None) -> None:
        if isinstance(who, Organisation):
            event = self.kbo(who) if (source or self.pick(("kbo", "cobrha"))) == "kbo" else (
                self.cobrha_org(who))
        elif (source or ("association" if who.profession in ASSOCIATIONS
                         and self.rng.random() < 0.4 else "cobrha")) == "association":
            event = self.member(who)
        else:
            event = self.professional(who)
        self.records.append(event)
        self.truth.append({"event_id": event["id"], "fiche_id": truth, "case": case})

    def envelope(self, source: str, type_: str, subject: str, data: dict[str, Any]) -> dict[
            str, Any]:
        return {"specversion": "1.0", "id": f"eval-{len(self.records) + 1:05d}", "source": source,
                "type": type_, "time": TIME, "subject": subject,
                "datacontenttype": "application/json", "data": data}

    def professional(self, who: Person) -> dict[str, Any]:
        number = self.nihii(who.profession)
        return self.envelope(
            "urn:be:fgov:ehealth:cobrha", "be.ehealth.cobrha.professional.upserted", number[:8], {
                "sourceVersion": 1764321302000, "lastName": who.last, "firstName": who.first,
                "gender": None, "language": "nl", "deathDate": None,
                "professions": [{
                    "professionCode": COBRHA_CODE.get(who.profession, who.profession),
                    "nihii": number, "specialities": [],
                    "licence": {"status": "ACTIVE", "validFrom": "2012-09-01", "validTo": None},
                    "addresses": [{"street": {"nl": who.street}, "houseNumber": who.number,
                                   "postBox": None, "zipCode": who.postcode,
                                   "municipality": {"nl": self.current(who.postcode, who.place)}}],
                    "email": who.email or None,
                    "phone": f"+32{who.phone[1:]}" if who.phone else None,
                }]})

    def member(self, who: Person) -> dict[str, Any]:
        association = ASSOCIATIONS[who.profession]
        member = str(self.rng.randint(1000, 99999))
        return self.envelope(
            f"urn:association:{association}", "be.association.member.upserted",
            f"{association}:{member}", {
                "sourceVersion": 20261128, "associationId": association, "memberId": member,
                "firstName": who.first, "lastName": who.last, "profession": who.profession,
                "address": {"street": who.street, "houseNumber": who.number, "box": None,
                            "zipCode": who.postcode, "municipality": who.place},
                "phone": who.phone or None, "email": who.email or None, "status": "ACTIVE"})

    def cobrha_org(self, who: Organisation) -> dict[str, Any]:
        hco = self.unique(lambda: f"{self.rng.randint(1, 999999):09d}")
        return self.envelope(
            "urn:be:fgov:ehealth:cobrha", "be.ehealth.cobrha.organisation.upserted", f"HCO:{hco}", {
                "sourceVersion": 88123, "ids": [{"type": "HCO", "value": hco},
                                                {"type": "CBE", "value": who.kbo}],
                "names": {"nl": who.name}, "organizationTypeCodes": [who.type],
                "addresses": [{"street": {"nl": who.street}, "houseNumber": who.number,
                               "zipCode": who.postcode,
                               "municipality": {"nl": self.current(who.postcode, who.place)}}],
                "email": who.email or None, "phone": f"+32{who.phone[1:]}" if who.phone else None})

    def kbo(self, who: Organisation) -> dict[str, Any]:
        legal = self.pick(("vzw", "BV", "NV", "")) if who.type != "orgpharmacy" else "BV"
        return self.envelope(
            "urn:be:fgov:economie:kbo", "be.fgov.economie.kbo.entity.upserted", who.kbo, {
                "sourceVersion": 240, "enterpriseNumber": who.kbo, "status": "AC",
                "typeOfEnterprise": "legal", "juridicalForm": "017",
                "denominations": [{"language": "nl", "type": "name",
                                   "value": f"{who.name} {legal}".strip()}],
                "addresses": [{"type": "REGO", "zipcode": who.postcode,
                               "municipalityNL": self.current(who.postcode, who.place),
                               "streetNL": who.street, "houseNumber": who.number}],
                "contacts": ([{"type": "TEL", "value": who.phone}] if who.phone else []),
                "activities": [{"group": "006", "naceVersion": "2008", "naceCode": "86210",
                                "classification": "MAIN"}]})


# -- the cases: (weight, function(generator) -> None) --------------------------------------

def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a letter doubled, dropped, swapped or replaced."""
    letters = list(word)
    at = rng.randrange(1, max(2, len(letters) - 1))
    kind = rng.randrange(4)
    if kind == 0:
        letters.insert(at, letters[at])
    elif kind == 1 and len(letters) > 4:
        del letters[at]
    elif kind == 2 and at + 1 < len(letters):
        letters[at], letters[at + 1] = letters[at + 1], letters[at]
    else:
        letters[at] = rng.choice("aeiourstn")
    return "".join(letters)


def pair(case: str, fiche: Callable[[Generator, Person], dict[str, str]],
         record: Callable[[Generator, Person], Person] = lambda g, p: p) -> Callable[
             [Generator], None]:
    def run(g: Generator) -> None:
        who = g.person()
        fiche_id = g.fiche(who, **fiche(g, who))
        g.record(record(g, who), fiche_id, case)
    return run


def same(g: Generator, p: Person) -> dict[str, str]:
    return {}


def old_municipality(g: Generator) -> None:
    postcode, place = g.pick(MERGED)
    who = g.person(postcode=postcode, place=place)
    g.record(who, g.fiche(who), "old municipality name")


def moved(g: Generator) -> None:
    """The fiche still has the old practice; the source has the new one (other town)."""
    who = g.person()
    fiche_id = g.fiche(who)
    postcode, place = g.town()
    keep = g.rng.randrange(3)
    g.record(replace(who, postcode=postcode, place=place, street=g.pick(STREETS),
                     phone=who.phone if keep != 1 else g.phone(),
                     email=who.email if keep != 0 else ""), fiche_id, "moved practice")


def moved_in_town(g: Generator) -> None:
    """The practice moved within its municipality: another street (or number on the same
    street); the record keeps the phone, or the e-mail address, or neither."""
    who = g.person()
    fiche_id = g.fiche(who)
    street = who.street if g.rng.random() < 0.3 else g.pick(
        tuple(s for s in STREETS if s != who.street))
    number = str(g.rng.randint(1, 160))
    keep = g.rng.randrange(3)  # the phone, the e-mail address, or neither
    g.record(replace(who, street=street, number=number,
                     phone=who.phone if keep == 0 else g.phone(),
                     email=who.email if keep == 1 else ""), fiche_id,
             "moved within the municipality")


def initial(g: Generator) -> None:
    """The fiche gives the first name as an initial (``J. Peeters``); sometimes the record
    also has a newer phone."""
    who = g.person()
    fiche_id = g.fiche(who, first_name=who.first[0] + g.pick((".", "", ". ")))
    if g.rng.random() < 0.2:
        who = replace(who, phone=g.phone())
    g.record(who, fiche_id, "initial of the first name")


def colleague_same_initial(g: Generator) -> None:
    """``J. Peeters`` at a practice is Jan; Joke Peeters works there too (same address,
    phone, often the profession): her record must not take Jan's fiche."""
    one = g.person()
    letter = bare(one.first)[0]
    others = tuple(f for f in FIRST if bare(f)[0] == letter and f != one.first)
    if not others:
        return
    other = g.person(first=g.pick(others), last=one.last, postcode=one.postcode, place=one.place,
                     street=one.street, number=one.number, phone=one.phone,
                     profession=one.profession if g.rng.random() < 0.7 else g.person().profession)
    fiche_id = g.fiche(one, first_name=letter + ".")
    g.record(other, "", "colleague with the same initial (new)")
    if g.rng.random() < 0.5:
        g.record(one, fiche_id, "initial, a colleague with the same initial")


def colleagues(g: Generator) -> None:
    """Two providers at one address with the practice's phone: each record to its own fiche;
    sometimes only one of them has a fiche, and the other must not take it."""
    one = g.person()
    other = g.person(postcode=one.postcode, place=one.place, street=one.street,
                     number=one.number, phone=one.phone,
                     last=one.last if g.rng.random() < 0.5 else g.pick(LAST),
                     profession=one.profession if g.rng.random() < 0.7 else g.person().profession)
    if other.first == one.first:
        other = replace(other, first=g.pick(tuple(f for f in FIRST if f != one.first)))
    first_fiche = g.fiche(one)
    if g.rng.random() < 0.5:
        g.record(other, g.fiche(other), "two providers at one address")
    else:
        g.record(other, "", "colleague at a fiche's address (new)")
    g.record(one, first_fiche, "two providers at one address")


def namesake(g: Generator) -> None:
    """Same name and profession, another town and phone: not the same person."""
    who = g.person()
    g.fiche(who)
    postcode, place = g.town(other_than=who.place)
    g.record(g.person(first=who.first, last=who.last, profession=who.profession,
                      postcode=postcode, place=place), "", "namesake in another town (new)")


def namesake_profession(g: Generator) -> None:
    """Same name in the same town, another profession and address: not the same person."""
    who = g.person()
    g.fiche(who)
    other = g.person(first=who.first, last=who.last, postcode=who.postcode, place=who.place)
    while other.profession == who.profession:
        other = replace(other, profession=g.person().profession)
    g.record(other, "", "namesake with another profession (new)")


def new_person(g: Generator) -> None:
    g.record(g.person(), "", "new provider")


def unlinked_fiche(g: Generator) -> None:
    g.fiche(g.person())  # hand-made fiches no source knows (yet)


def organisation(variant: str) -> Callable[[Generator], None]:
    def run(g: Generator) -> None:
        org = g.organisation()
        override: dict[str, str] = {}
        if variant == "abbreviated":
            word = next((w for w in ABBREVIATED if org.name.startswith(w)), None)
            if word:
                override["name"] = org.name.replace(word, ABBREVIATED[word], 1)
        elif variant == "old municipality":
            postcode, place = g.pick(MERGED)
            org = replace(org, postcode=postcode, place=place)
        elif variant == "typo":
            override["name"] = typo(g.rng, org.name)
        fiche_id = g.fiche(org, **override)
        g.record(org, fiche_id, f"organisation {variant}")
    return run


def organisation_neighbour(g: Generator) -> None:
    """Another organisation at a fiche's address (a service on the same campus): new."""
    org = g.organisation()
    g.fiche(org)
    code, word, names = g.pick(ORG_TYPES)
    other = replace(org, type=code, name=f"{word} {g.pick(names).replace('{last}', g.pick(LAST))}",
                    kbo=g.enterprise(), email="")
    if other.name == org.name:
        other = replace(other, name=f"Dienstencentrum {org.name.split()[-1]}")
    g.record(other, "", "other organisation at the same address (new)")


def organisation_namesake(g: Generator) -> None:
    """The same (generic) name in another town: not the same pharmacy."""
    org = g.organisation()
    g.fiche(org)
    postcode, place = g.town(other_than=org.place)
    g.record(replace(org, postcode=postcode, place=place, street=g.pick(STREETS),
                     phone=g.phone(mobile=False), kbo=g.enterprise(), email=""), "",
             "organisation namesake in another town (new)")


CASES: tuple[tuple[int, Callable[[Generator], None]], ...] = (
    (40, pair("exact", same)),
    (12, pair("typo in the last name", lambda g, p: {"last_name": typo(g.rng, p.last)})),
    (10, pair("typo in the first name", lambda g, p: {"first_name": typo(g.rng, p.first)})),
    (10, pair("first and last name swapped",
              lambda g, p: {"first_name": p.last, "last_name": p.first})),
    (10, pair("accents missing, capitals", lambda g, p: {
        "first_name": bare(p.first), "last_name": bare(p.last).upper()})),
    (16, initial),
    (8, pair("title in the name", lambda g, p: {
        "first_name": g.pick(("Dr. ", "dokter ", "Dr ")) + p.first})),
    (14, old_municipality),
    (8, pair("street written short", lambda g, p: {
        "street": p.street.replace("straat", "str.").replace("Sint-", "St.-"),
        "house_number": p.number + g.pick(("", " bus 2", "/1"))})),
    (8, pair("phone changed", same, lambda g, p: replace(p, phone=g.phone()))),
    (6, pair("e-mail and phone missing on the fiche", lambda g, p: {"phone": "", "email": ""})),
    (6, pair("fiche without street", lambda g, p: {"street": "", "house_number": ""})),
    (5, pair("profession named otherwise", lambda g, p: {"profession": "arts"}
             if p.profession == "GENERAL_PRACTITIONER" else {})),
    (8, moved),
    (12, moved_in_town),
    (10, colleagues),
    (6, colleague_same_initial),
    (14, namesake),
    (6, namesake_profession),
    (40, new_person),
    (15, unlinked_fiche),
    (14, organisation("exact")),
    (8, organisation("abbreviated")),
    (5, organisation("old municipality")),
    (4, organisation("typo")),
    (6, organisation_neighbour),
    (6, organisation_namesake),
)


def generate(seed: int, size: int) -> Generator:
    g = Generator(seed)
    weights = [w for w, _ in CASES]
    for _ in range(size):
        g.rng.choices([c for _, c in CASES], weights)[0](g)
    order = list(range(len(g.records)))
    g.rng.shuffle(order)  # sources do not send records in the order their fiches were made
    g.records = [g.records[i] for i in order]
    g.truth = [g.truth[i] for i in order]
    return g


def write(g: Generator, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "fiches.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(g.fiches)
    with (out / "records.jsonl").open("w", encoding="utf-8") as handle:
        for event in g.records:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
    with (out / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ("event_id", "fiche_id", "case"))
        writer.writeheader()
        writer.writerows(g.truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--size", type=int, default=420, help="cases to draw")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "matching")
    args = parser.parse_args()
    g = generate(args.seed, args.size)
    write(g, args.out)
    print(f"{len(g.fiches)} fiches, {len(g.records)} records "
          f"({sum(1 for t in g.truth if t['fiche_id'])} true pairs) in {args.out}")


if __name__ == "__main__":
    main()
