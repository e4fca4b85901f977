"""People and organisations, their hand-made fiches and their source records."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matching_eval.vocabulary import (
    ASSOCIATIONS,
    COBRHA_CODE,
    COLUMNS,
    FIRST,
    LAST,
    NIHII_FIRST,
    ORG_TYPES,
    POSTCODES,
    PROFESSIONS,
    STREETS,
    TIME,
)
from sync import geo


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
