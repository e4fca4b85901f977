"""A seeded, reproducible stream of mixed source events, cut into chunks for publishing.

Every source of the service is represented, with the shapes of ``schemas/samples``: CoBRHA
professionals (new, updated with a higher ``sourceVersion``, older versions arriving after newer
ones, removals, revoked licences), CoBRHA organisations, KBO entities (some sharing their
enterprise number with a CoBRHA organisation), association members (some linked to a
professional by NIHII number), hand-made fiches and manual edits (pins, often against the
sources' values, so conflicts are raised), duplicates of whole messages, and a recorded set of
poison messages that the service must dead-letter.

Pins name their fiche, so they are only put in a chunk after the one that creates that fiche;
:attr:`Stream.needs` lists, per chunk, the fiches that must exist before it is published.
The same seed always gives the same bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sync.events import derived_id

__all__ = ["Message", "Poison", "Stream", "generate"]

PoisonKind = Literal["undecodable", "unknown-profession", "bad-check-digits"]

COBRHA = "urn:be:fgov:ehealth:cobrha"
KBO = "urn:be:fgov:economie:kbo"
EDITOR = "urn:socialekaart:editor"
BASE = datetime(2026, 11, 1, tzinfo=UTC)
PLACES = (("9700", "Oudenaarde"), ("9690", "Kluisbergen"), ("9600", "Ronse"),
          ("9660", "Brakel"), ("9000", "Gent"), ("9630", "Zwalm"), ("2000", "Antwerpen"),
          ("3000", "Leuven"), ("8000", "Brugge"), ("1000", "Brussel"), ("9999", "Nergensdorp"))
FIRST = ("An", "Jan", "Els", "Tom", "Lies", "Bram", "Sofie", "Pieter", "Fatima", "Mehmet",
         "Nora", "Wim", "Lotte", "Karim", "Ine", "Joris")
STREETS = ("Kerkstraat", "Nieuwstraat", "Stationsstraat", "Molenstraat", "Dorpsstraat",
           "Lindestraat", "Brugsesteenweg", "Markt")
PROFESSIONS = ("PHYSICIAN", "NURSE", "PHYSIOTHERAPIST", "DENTIST", "MIDWIFE", "PHARMACIST",
               "CLINICAL_PSYCHOLOGIST", "SPEECH_THERAPIST", "DIETICIAN", "PRACTICAL_NURSE")
ORG_TYPES = ("orghospital", "orgpractice", "orgprimaryhealthcarecenter", "orgnursinghome",
             "orgpharmacy")
ASSOCIATIONS = ("vvkp", "thuisverpleging", "logopedie-vl")
SYLLABLES = ("ba", "de", "ki", "lo", "mu", "ne", "po", "ra", "si", "tu", "va", "we", "xo",
             "ya", "zi", "ho", "gu", "fa", "ja", "qui")


@dataclass(frozen=True)
class Message:
    """One Kafka message on a source topic (``topic_key`` is a :class:`Topics` attribute)."""

    topic_key: str
    key: bytes
    value: bytes
    label: str
    event: tuple[str, str] | None = None  # (CloudEvent source, id); None for poison


@dataclass(frozen=True)
class Poison:
    """A message the service must dead-letter: which one, where, and its exact bytes' digest."""

    kind: PoisonKind
    topic_key: str
    ref: str  # the event id, or for undecodable bytes the label written inside them
    digest: str  # sha256 of the message value: how it is found on the dead-letter topic


@dataclass
class Stream:
    seed: int
    chunks: list[list[Message]]
    needs: list[set[uuid.UUID]]
    poison: list[Poison]
    composition: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    def valid_events(self) -> set[tuple[str, str]]:
        """(source, id) of every distinct event that must be applied."""
        return {m.event for chunk in self.chunks for m in chunk if m.event is not None}


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


# --------------------------------------------------------------------------- identifiers


def _mod97(body: str) -> str:
    return f"{97 - int(body) % 97:02d}"


def _nihii(head: int, qualification: int) -> str:
    body = f"{head:06d}"
    return f"{body}{_mod97(body)}{qualification:03d}"


def _ssin(rng: random.Random) -> str:
    first9 = (f"{rng.randint(60, 95):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
              f"{rng.randint(1, 997):03d}")
    return first9 + _mod97(first9)


def _ten(first: str, number: int) -> str:
    body = f"{first}{number:07d}"
    return body + _mod97(body)


def _bad_check(number: str) -> str:
    """``number`` with wrong mod-97 check digits (never 00 nor the right ones)."""
    right = int(number[-2:])
    wrong = right - 1 if right > 1 else right + 1
    return number[:-2] + f"{wrong:02d}"


# ------------------------------------------------------------------------------ records


def _time(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(eid: str, source: str, type_: str, subject: str, at: float,
              data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": eid, "source": source, "type": type_,
            "time": _time(at), "subject": subject, "datacontenttype": "application/json",
            "data": data}


@dataclass
class _Item:
    """An event placed on the timeline (``position`` in [0, 1])."""

    position: float
    topic_key: str
    document: dict[str, Any] | None
    label: str
    raw: bytes | None = None


@dataclass
class _Builder:
    rng: random.Random
    items: list[_Item] = field(default_factory=list)
    clock: float = 0.0
    counter: Counter[str] = field(default_factory=Counter)
    professionals: list[tuple[str, str, uuid.UUID]] = field(default_factory=list)
    phones: dict[uuid.UUID, str] = field(default_factory=dict)
    handmade: list[uuid.UUID] = field(default_factory=list)
    unlinked_cbe: list[str] = field(default_factory=list)
    linked_nihii: set[str] = field(default_factory=set)
    serial: int = 0
    phones_given: int = 0
    names_given: int = 0
    ssins: set[str] = field(default_factory=set)

    def ssin(self) -> str:
        """An SSIN nobody else has: two people sharing one is an identity conflict, refused
        by the service (a dead letter), which is not what this run is about."""
        drawn = _ssin(self.rng)
        while drawn in self.ssins:
            drawn = _ssin(self.rng)
        self.ssins.add(drawn)
        return drawn

    def surname(self) -> str:
        """A family name nobody else has: records of different people must never look alike
        to the matcher (linking a record to a look-alike fiche depends on what exists when it
        arrives, which is not what this run is about)."""
        self.names_given += 1
        n, parts = self.names_given, []
        while n:
            n, digit = divmod(n, len(SYLLABLES))
            parts.append(SYLLABLES[digit])
        return "".join(parts).capitalize()

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:07d}"

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def place(self, history: list[tuple[str, dict[str, Any], str]]) -> None:
        """Put one record's events on the timeline, in order, from a random start."""
        start = self.rng.uniform(0.0, 0.8)
        spots = sorted(self.rng.uniform(start, 1.0) for _ in history)
        for spot, (topic_key, document, label) in zip(spots, history, strict=True):
            self.items.append(_Item(spot, topic_key, document, label))
            self.counter[label] += 1

    def phone(self) -> str:
        """A number nobody else has (a shared number would make matching link two fiches)."""
        self.phones_given += 1
        return f"+3255{(self.phones_given * 7919) % 900_000 + 100_000}"

    def address(self, nested: bool) -> dict[str, Any]:
        postcode, town = self.rng.choice(PLACES)
        street = f"{self.rng.choice(STREETS)}"
        number = str(self.phones_given)  # no two records share an address either
        if nested:
            return {"street": {"nl": street}, "houseNumber": number,
                    "postBox": None, "zipCode": postcode, "municipality": {"nl": town}}
        return {"street": street, "houseNumber": number, "box": None,
                "zipCode": postcode, "municipality": town}


def _professional(b: _Builder, head: int) -> None:
    rng = b.rng
    nihii = _nihii(head, rng.randint(0, 999))
    person = nihii[:8]
    fiche = derived_id("fiche", "person", "NIHII-PERSON", person)
    code = rng.choice(PROFESSIONS)
    first, last = rng.choice(FIRST), b.surname()
    ssin = b.ssin() if rng.random() < 0.3 else None
    history: list[tuple[str, dict[str, Any], str]] = []
    versions = 1 + min(3, int(rng.expovariate(1.0)))
    version, phone = 0, b.phone()
    for step in range(versions):
        version += 1
        if step and rng.random() < 0.6:
            phone = b.phone()
        licence = "REVOKED" if step and rng.random() < 0.12 else "ACTIVE"
        label = ("cobrha.professional.new" if step == 0 else
                 "cobrha.professional.licence-revoked" if licence == "REVOKED" else
                 "cobrha.professional.update")
        data = {"sourceVersion": version, "ssin": ssin, "lastName": last, "firstName": first,
                "gender": rng.choice("FM"), "language": rng.choice(("nl", "fr")),
                "birthDate": None, "deathDate": None,
                "professions": [{"professionCode": code, "nihii": nihii,
                                 "friendlyName": {"nl": code.lower()}, "specialities": [],
                                 "licence": {"status": licence, "validFrom": "2012-09-01",
                                             "validTo": None},
                                 "addresses": [b.address(nested=True)],
                                 "email": f"{first.lower()}.{person}@example.be",
                                 "phone": phone}]}
        history.append(("cobrha_professional", _envelope(
            b.next_id("cobrha-p"), COBRHA, "be.ehealth.cobrha.professional.upserted", person,
            b.tick(), data), label))
    if len(history) >= 2 and rng.random() < 0.25:
        # An older version published after a newer one: it must be ignored as stale.
        i = rng.randrange(len(history) - 1)
        history[i], history[i + 1] = history[i + 1], history[i]
        topic, document, _ = history[i + 1]
        history[i + 1] = (topic, document, "cobrha.professional.out-of-order")
    if rng.random() < 0.08:
        version += 1
        history.append(("cobrha_professional", _envelope(
            b.next_id("cobrha-p"), COBRHA, "be.ehealth.cobrha.professional.removed", person,
            b.tick(), {"sourceVersion": version, "nihii": nihii}), "cobrha.professional.removed"))
    b.place(history)
    b.professionals.append((nihii, person, fiche))
    b.phones[fiche] = phone


def _organisation(b: _Builder, n: int) -> None:
    rng = b.rng
    hco = f"{n:09d}"
    ids = [{"type": "HCO", "value": hco},
           {"type": rng.choice(("NIHII-HOSPITAL", "NIHII-PHARMACY", "NIHII-MEDICAL_HOUSE")),
            "value": f"7{n:07d}"}]
    if rng.random() < 0.7:
        cbe = _ten("0", 2_000_000 + n)
        ids.append({"type": "CBE", "value": cbe})
        b.unlinked_cbe.append(cbe)
    name = f"{rng.choice(('Zorgcentrum', 'Praktijk', 'Apotheek', 'AZ'))} {b.surname()}"
    history = []
    versions = rng.randint(1, 3)
    for version in range(1, versions + 1):
        expired = version == versions and rng.random() < 0.1
        data = {"sourceVersion": 88000 + version, "ids": ids, "names": {"nl": name},
                "organizationTypeCodes": [rng.choice(ORG_TYPES)],
                "recognitions": [{"code": "RECOGNISED", "validFrom": "1998-01-01",
                                  "validTo": "2020-12-31" if expired else None}],
                "addresses": [b.address(nested=True)], "email": None, "phone": b.phone(),
                "website": f"https://org{n}.example.be"}
        history.append(("cobrha_organisation", _envelope(
            b.next_id("cobrha-o"), COBRHA, "be.ehealth.cobrha.organisation.upserted",
            f"HCO:{hco}", b.tick(), data), "cobrha.organisation"))
    if rng.random() < 0.05:
        history.append(("cobrha_organisation", _envelope(
            b.next_id("cobrha-o"), COBRHA, "be.ehealth.cobrha.organisation.removed",
            f"HCO:{hco}", b.tick(), {"sourceVersion": 88000 + versions + 1, "ids": ids[:1]}),
            "cobrha.organisation.removed"))
    b.place(history)


def _kbo_data(b: _Builder, number: str, version: int, units: list[str], active: bool,
              name: str) -> dict[str, Any]:
    rng = b.rng
    postcode, town = rng.choice(PLACES)
    return {
        "sourceVersion": version, "enterpriseNumber": number,
        "status": "AC" if active else "ST", "juridicalSituation": "000",
        "typeOfEnterprise": "legal", "juridicalForm": rng.choice(("017", "014", "030")),
        "startDate": "2001-01-01",
        "denominations": [{"language": "nl", "type": "name", "value": name}],
        "addresses": [{"type": "REGO", "countryNL": None, "zipcode": postcode,
                       "municipalityNL": town, "municipalityFR": None,
                       "streetNL": rng.choice(STREETS), "streetFR": None,
                       "houseNumber": str(rng.randint(1, 99)), "box": None,
                       "extraAddressInfo": None, "dateStrikingOff": None}],
        "contacts": [{"type": "TEL", "value": f"055 {rng.randint(10, 99)} {rng.randint(10, 99)}"
                      f" {rng.randint(10, 99)}"}],
        "activities": [{"group": "001", "naceVersion": "2008",
                        "naceCode": rng.choice(("86101", "86210", "87101", "88991")),
                        "classification": "MAIN"}],
        "establishments": [{"establishmentNumber": unit, "startDate": "2005-03-01",
                            "denominations": [], "addresses": [], "contacts": [],
                            "activities": []} for unit in units],
    }


def _kbo(b: _Builder, n: int) -> None:
    rng = b.rng
    if b.unlinked_cbe and rng.random() < 0.5:
        number = b.unlinked_cbe.pop(rng.randrange(len(b.unlinked_cbe)))
        label = "kbo.entity.linked"
    else:
        number, label = _ten("0", 5_000_000 + n), "kbo.entity"
    units = [_ten("2", 3 * n + i) for i in range(rng.randint(0, 2))]
    name = f"{rng.choice(('VZW', 'BV', 'CVBA'))} {b.surname()}"
    history = []
    versions = rng.randint(1, 3)
    for step in range(versions):
        active = not (step == versions - 1 and step and rng.random() < 0.15)
        history.append(("kbo_entity", _envelope(
            b.next_id("kbo"), KBO, "be.fgov.economie.kbo.entity.upserted", number, b.tick(),
            _kbo_data(b, number, 250 + step, units, active, name)), label))
    if rng.random() < 0.05:
        history.append(("kbo_entity", _envelope(
            b.next_id("kbo"), KBO, "be.fgov.economie.kbo.entity.removed", number, b.tick(),
            {"sourceVersion": 250 + versions, "enterpriseNumber": number}),
            "kbo.entity.removed"))
    b.place(history)


def _member(b: _Builder, n: int) -> None:
    rng = b.rng
    association = rng.choice(ASSOCIATIONS)
    member = f"M{n:06d}"
    nihii = None
    if b.professionals and rng.random() < 0.5:
        candidate = rng.choice(b.professionals)[0]
        if candidate not in b.linked_nihii:  # one member per professional
            nihii = candidate
            b.linked_nihii.add(candidate)
    source = f"urn:association:{association}"
    key = {"associationId": association, "memberId": member, "nihii": nihii}
    last = b.surname()
    history = []
    versions = rng.randint(1, 3)
    for version in range(1, versions + 1):
        data = {"sourceVersion": 20261100 + version, **key,
                "firstName": rng.choice(FIRST), "lastName": last,
                "profession": rng.choice(PROFESSIONS), "practiceName": f"Praktijk {member}",
                "address": b.address(nested=False), "phone": b.phone(),
                "email": f"{member.lower()}@example.be", "website": None,
                "languages": rng.sample(("nl", "fr", "en", "de"), rng.randint(1, 2)),
                "specialisations": [], "targetGroups": [rng.choice(("adults", "children"))],
                "serviceArea": rng.sample(("Kluisbergen", "Oudenaarde", "Zwalm", "Brakel"), 2),
                "acceptsNewClients": rng.random() < 0.5,
                "status": "ACTIVE" if rng.random() < 0.9 else "SUSPENDED"}
        history.append(("association_member", _envelope(
            b.next_id(f"{association}-m"), source, "be.association.member.upserted",
            f"{association}:{member}", b.tick(), data),
            "association.member.linked" if nihii else "association.member"))
    if rng.random() < 0.06:
        history.append(("association_member", _envelope(
            b.next_id(f"{association}-m"), source, "be.association.member.removed",
            f"{association}:{member}", b.tick(), {"sourceVersion": 20261100 + versions + 1,
                                                   **key}), "association.member.removed"))
    b.place(history)


def _handmade(b: _Builder, n: int) -> None:
    rng = b.rng
    fiche = uuid.UUID(int=rng.getrandbits(128), version=4)
    b.handmade.append(fiche)
    data = {"ficheId": str(fiche), "kind": "organisation",
            "editor": {"id": f"u-{rng.randint(1000, 9999)}", "role": "editor"},
            "fields": {"name": {"nl": f"Ontmoetingscentrum {b.surname()}"},
                       "contact.phone": b.phone(), "description": "Inloophuis",
                       "openingHours": "ma-vr 9-12"}}
    b.place([("manual_edit", _envelope(
        b.next_id("sk-create"), EDITOR, "be.socialekaart.fiche.created", str(fiche), b.tick(),
        data), "manual.created")])


def _pin(b: _Builder, fiche: uuid.UUID, person: bool, n: int) -> dict[str, Any]:
    rng = b.rng
    if person:
        name = rng.choices(("contact.phone", "contact.email", "name.last", "languages",
                            "acceptsNewClients"), weights=(5, 2, 1, 1, 1))[0]
    else:
        name = rng.choice(("contact.phone", "description", "openingHours"))
    value: Any = {
        "contact.phone": (b.phones.get(fiche) if person and rng.random() < 0.25
                          else b.phone()),
        "contact.email": f"pinned{n}@example.be", "name.last": b.surname(),
        "languages": ["nl"], "acceptsNewClients": rng.random() < 0.5,
        "description": f"beschrijving {n}", "openingHours": "di 10-16",
    }[name]
    data: dict[str, Any] = {"ficheId": str(fiche),
                            "editor": {"id": f"u-{rng.randint(1000, 9999)}",
                                       "role": rng.choice(("editor", "network", "provider"))},
                            "changes": {name: value}, "reason": "telefonisch bevestigd"}
    if rng.random() < 0.3:
        data["reviewAfter"] = "2028-11-28"
    # Edits happen after the sources said their piece: a pin's time orders it among pins.
    return _envelope(f"sk-edit-{n:07d}", EDITOR, "be.socialekaart.fiche.edited", str(fiche),
                     3_000_000 + n, data)


# -------------------------------------------------------------------------------- poison


def _poison(b: _Builder, i: int) -> tuple[_Item, Poison]:
    rng = b.rng
    kind: PoisonKind = ("undecodable", "unknown-profession", "bad-check-digits")[i % 3]
    ref = f"poison-{kind}-{i:05d}"
    position = rng.uniform(0.0, 1.0)
    if kind == "undecodable":
        topic = rng.choice(("cobrha_professional", "cobrha_organisation", "kbo_entity",
                            "association_member", "manual_edit"))
        raw = b"\x80\x81" + ref.encode() + b'\x00{"id": ' + rng.randbytes(8)
        return _Item(position, topic, None, "poison.undecodable", raw), Poison(
            kind, topic, ref, digest(raw))
    head = 900_000 + i  # people that exist nowhere else
    variant = rng.randrange(3)
    if kind == "unknown-profession" and variant < 2:
        topic, document = "cobrha_professional", _envelope(
            ref, COBRHA, "be.ehealth.cobrha.professional.upserted", _nihii(head, 1)[:8],
            b.tick(), {"sourceVersion": 1, "lastName": "Gif", "firstName": "Ig",
                       "professions": [{"professionCode": "ASTROLOGER",
                                        "nihii": _nihii(head, 1)}]})
    elif kind == "unknown-profession":
        topic, document = "association_member", _envelope(
            ref, "urn:association:vvkp", "be.association.member.upserted", f"vvkp:P{i}",
            b.tick(), {"sourceVersion": 1, "associationId": "vvkp", "memberId": f"P{i}",
                       "profession": "WIZARD"})
    elif variant == 0:
        number = _bad_check(_ten("0", 8_000_000 + i))
        topic, document = "kbo_entity", _envelope(
            ref, KBO, "be.fgov.economie.kbo.entity.upserted", number, b.tick(),
            _kbo_data(b, number, 250, [], True, f"Gif {i}"))
    elif variant == 1:
        topic, document = "cobrha_organisation", _envelope(
            ref, COBRHA, "be.ehealth.cobrha.organisation.upserted", f"HCO:{800_000_000 + i}",
            b.tick(), {"sourceVersion": 1, "names": {"nl": f"Gif {i}"},
                       "ids": [{"type": "HCO", "value": str(800_000_000 + i)},
                               {"type": "CBE", "value": _bad_check(_ten("0", 8_500_000 + i))}]})
    else:
        ssin = _ssin(rng)
        bad = ssin[:9] + next(f"{c:02d}" for c in range(1, 97) if f"{c:02d}" not in (
            ssin[9:], _mod97("2" + ssin[:9])))
        topic, document = "cobrha_professional", _envelope(
            ref, COBRHA, "be.ehealth.cobrha.professional.upserted", _nihii(head, 2)[:8],
            b.tick(), {"sourceVersion": 1, "ssin": bad, "lastName": "Gif", "firstName": "Ig",
                       "professions": [{"professionCode": "NURSE", "nihii": _nihii(head, 2)}]})
    raw = _encode(document)
    return _Item(position, topic, document, f"poison.{kind}", raw), Poison(
        kind, topic, ref, digest(raw))


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _message(item: _Item) -> Message:
    if item.document is None:
        assert item.raw is not None
        return Message(item.topic_key, b"poison", item.raw, item.label)
    raw = item.raw if item.raw is not None else _encode(item.document)
    event = None if item.label.startswith("poison") else (
        str(item.document["source"]), str(item.document["id"]))
    return Message(item.topic_key, str(item.document["subject"]).encode(), raw, item.label,
                   event)


# ------------------------------------------------------------------------------ generate


def generate(events: int, seed: int, chunks: int | None = None) -> Stream:
    """Exactly ``events`` messages in ``chunks`` chunks (default: about 2,000 per chunk)."""
    rng = random.Random(seed)
    n_chunks = chunks or max(8, min(60, events // 2000))
    n_poison = max(12, events // 250)
    n_pins = events // 20
    b = _Builder(rng)
    heads = iter(rng.sample(range(100_000, 899_999), k=max(1000, events)))
    makers = ((_professional, 0.55), (_organisation, 0.08), (_kbo, 0.12), (_member, 0.22),
              (_handmade, 0.03))
    target = events - n_poison - n_pins - events // 20
    n = 0
    while len(b.items) < target:
        n += 1
        maker = rng.choices([m for m, _ in makers], weights=[w for _, w in makers])[0]
        maker(b, next(heads) if maker is _professional else n)
    poison = [_poison(b, i) for i in range(n_poison)]
    b.items += [item for item, _ in poison]
    for label in {item.label for item, _ in poison}:
        b.counter[label] = sum(1 for item, _ in poison if item.label == label)
    base = [item for item in b.items]
    wanted = events - n_pins
    while len(b.items) < wanted:  # whole messages sent twice (producer retries, replays)
        original = rng.choice(base)
        if original.label.startswith("poison"):
            continue
        b.items.append(_Item(min(1.0, original.position + rng.uniform(0.0, 0.1)),
                             original.topic_key, original.document, "duplicate",
                             _encode(original.document) if original.document else None))
        b.counter["duplicate"] += 1
    assert len(b.items) == wanted, (len(b.items), wanted)
    b.items.sort(key=lambda item: item.position)
    messages = [_message(item) for item in b.items]
    size = -(-len(messages) // n_chunks)
    cut = [messages[i:i + size] for i in range(0, len(messages), size)]
    stream = Stream(seed, cut, [set() for _ in cut], [p for _, p in poison], b.counter)
    _add_pins(b, stream, n_pins)
    assert stream.total == events, (stream.total, events)
    return stream


def _first_chunks(stream: Stream) -> dict[str, int]:
    """The chunk in which each subject (person number or hand-made fiche id) first appears."""
    first: dict[str, int] = {}
    for index, chunk in enumerate(stream.chunks):
        for message in chunk:
            if message.label in ("cobrha.professional.new", "cobrha.professional.update",
                                 "cobrha.professional.out-of-order",
                                 "cobrha.professional.licence-revoked", "manual.created"):
                first.setdefault(message.key.decode(), index)
    return first


def _add_pins(b: _Builder, stream: Stream, count: int) -> None:
    """Pins (some sent twice) on fiches created at least two chunks earlier."""
    rng = b.rng
    first = _first_chunks(stream)
    people = {p: f for _, p, f in b.professionals}
    made = {str(f): f for f in b.handmade}
    known = sorted((index, subject) for subject, index in first.items()
                   if subject in people or subject in made)
    starts = [index for index, _ in known]
    # Two chunks apart: the fiches an edit names were published a whole chunk earlier than
    # the chunk before it, so waiting for them rarely stalls the publisher.
    chunks = [i for i in range(2, len(stream.chunks)) if bisect.bisect_left(starts, i - 1)]
    added = 0
    while added < count:
        index = rng.choice(chunks)
        subject = known[rng.randrange(bisect.bisect_left(starts, index - 1))][1]
        fiche, person = (people[subject], True) if subject in people else (made[subject], False)
        message = _message(_Item(0.0, "manual_edit", _pin(b, fiche, person, added), "manual.pin"))
        copies = [message]
        if added + 1 < count and rng.random() < 0.05:
            copies.append(Message(message.topic_key, message.key, message.value, "duplicate",
                                  message.event))
        for copy in copies:
            chunk = stream.chunks[index]
            chunk.insert(rng.randint(0, len(chunk)), copy)
            stream.composition[copy.label] += 1
            added += 1
        stream.needs[index].add(fiche)
