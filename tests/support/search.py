"""A generated directory as fiche events, and helpers to feed and query the search index.

The directory mixes what the Sociale Kaart holds: hospitals and mental-health centres whose
descriptions name every discipline and half the region, group practices, small home-care
services, and individual providers, spread over a rural corner of the Vlaamse Ardennen
(Horebeke and its neighbours), the city of Gent and the rest of Flanders.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync import geo
from sync.emitted import envelope
from sync.events import FicheEventData, FicheKind, derived_id
from sync.professions import profession

__all__ = ["Directory", "Provider", "fiche_event", "generated_directory"]

_FIRST = ("An", "Bram", "Els", "Joris", "Lies", "Pieter", "Sofie", "Tom", "Inge", "Wout")
_LAST = ("Peeters", "Janssens", "Maes", "De Smet", "Claes", "Willems", "Goossens", "Wouters")
_FILLER_PROFESSIONS = ("GENERAL_PRACTITIONER", "DENTIST", "PHARMACIST", "MIDWIFE", "DIETICIAN",
                       "PHYSIOTHERAPIST", "SPEECH_THERAPIST", "OCCUPATIONAL_THERAPIST")
_ELSEWHERE = ("Brugge", "Kortrijk", "Aalst", "Leuven", "Hasselt", "Mechelen", "Turnhout",
              "Ieper", "Sint-Niklaas", "Genk", "Lier", "Tielt")


@dataclass
class Provider:
    """One fiche of the directory, with what the test needs to know about it."""

    fiche_id: uuid.UUID
    kind: FicheKind
    snapshot: dict[str, Any]
    category: str
    nis: str
    label: str
    version: int = 1
    status: str = "active"


@dataclass
class Directory:
    providers: list[Provider] = field(default_factory=list)

    def by_label(self, label: str) -> Provider:
        return next(p for p in self.providers if p.label == label)

    def ids(self, predicate: Any) -> set[str]:
        return {str(p.fiche_id) for p in self.providers if predicate(p)}


def _address(municipality: str, street: str = "Dorpsstraat") -> dict[str, Any]:
    placement = geo.resolve(None, municipality)
    assert placement.nis is not None, municipality
    return {"street": street, "houseNumber": "1", "box": None, "postcode": None,
            "municipality": placement.municipality_nl, "nis": placement.nis, "placed": True}


def _professions(*codes: str) -> list[dict[str, Any]]:
    found = [profession(code) for code in codes]
    return [p.as_json() for p in found if p is not None]


def _person(rng: random.Random, code: str, municipality: str, label: str) -> Provider:
    fiche_id = derived_id("search-test", label)
    snapshot = {"name.first": rng.choice(_FIRST), "name.last": rng.choice(_LAST),
                "professions": _professions(code), "addresses": [_address(municipality)],
                "status": {"active": True, "reason": None}}
    address = snapshot["addresses"][0]
    return Provider(fiche_id, FicheKind.PERSON, snapshot, "individual", address["nis"], label)


def _organisation(name: str, municipality: str, label: str, *, types: list[str],
                  description: str = "", served: tuple[str, ...] = ()) -> Provider:
    area = [geo.resolve(None, m) for m in served]
    snapshot: dict[str, Any] = {
        "name": {"nl": name}, "organisationTypes": types, "addresses": [_address(municipality)],
        "description": description or None, "status": {"active": True, "reason": None},
        "serviceArea": [{"nis": a.nis, "name": a.municipality_nl, "placed": True} for a in area]
        or None}
    category = {"orghospital": "hospital", "orgpractice": "practice"}.get(
        types[0] if types else "", "centre" if "Centrum" in name else "service")
    return Provider(derived_id("search-test", label), FicheKind.ORGANISATION, snapshot, category,
                    snapshot["addresses"][0]["nis"], label)


_REGION = ("Horebeke", "Zwalm", "Maarkedal", "Oudenaarde", "Brakel", "Kluisbergen", "Zottegem")
_HOSPITAL_TEXT = ("Algemeen ziekenhuis met diensten psychologie, psychiatrie, verpleegkunde, "
                  "thuisverpleging na ontslag, kinesitherapie en logopedie. Onze psychologen, "
                  "klinisch psychologen, verpleegkundigen en kinesitherapeuten ontvangen "
                  "patiënten uit Horebeke, Zwalm, Maarkedal, Brakel en heel de regio.")
_CENTRE_TEXT = ("Centrum geestelijke gezondheidszorg: psychologen, psychiaters en "
                "psychotherapeuten helpen kinderen en volwassenen. Psycholoog van wacht.")


def generated_directory(seed: int = 7) -> Directory:
    """About 80 fiches: the institutions of the three complaints and providers around them."""
    rng = random.Random(seed)
    directory = Directory()
    add = directory.providers.append
    for label, name, where in (("uz-gent", "Universitair Ziekenhuis Gent", "Gent"),
                               ("az-stlucas", "AZ Sint-Lucas", "Gent"),
                               ("az-aalst", "OLV Ziekenhuis Aalst", "Aalst")):
        add(_organisation(name, where, label, types=["orghospital"], description=_HOSPITAL_TEXT,
                          served=_REGION))
    for label, where in (("cgg-gent", "Gent"), ("cgg-aalst", "Aalst"),
                         ("cgg-kortrijk", "Kortrijk")):
        add(_organisation(f"Centrum Geestelijke Gezondheidszorg {where}", where, label,
                          types=[], description=_CENTRE_TEXT))
    add(_organisation("Groepspraktijk Kine De Linde", "Zwalm", "practice-zwalm",
                      types=["orgpractice"], description="kinesitherapie en revalidatie"))
    add(_organisation("Huisartsenpraktijk Gent Centrum", "Gent", "practice-gent",
                      types=["orgpractice"], description="huisartsen en verpleegkundige"))
    add(_organisation("Thuisverpleging De Zorgzame", "Brakel", "homecare-brakel", types=[],
                      description="thuisverpleging aan huis, 7 op 7", served=_REGION[:5]))
    add(_organisation("Thuiszorg Vlaamse Ardennen", "Oudenaarde", "homecare-oudenaarde",
                      types=[], description="verpleegkundige zorg thuis", served=_REGION))
    for index, where in enumerate(("Gent", "Aalst", "Horebeke", "Kortrijk", "Zottegem", "Deinze")):
        code = "CLINICAL_PSYCHOLOGIST" if index % 2 else "PSYCHOLOGIST"
        add(_person(rng, code, where, f"psychologist-{index}"))
    for index, where in enumerate(("Maarkedal", "Zwalm", "Gent", "Brakel", "Lierde")):
        add(_person(rng, "NURSE", where, f"nurse-{index}"))
    for index, where in enumerate(_REGION[:6]):
        add(_person(rng, rng.choice(_FILLER_PROFESSIONS), where, f"local-{index}"))
    add(_person(rng, "GENERAL_PRACTITIONER", "Horebeke", "gp-horebeke"))
    add(_person(rng, "PHYSIOTHERAPIST", "Nevele", "kine-nevele"))
    for index in range(45):
        add(_person(rng, rng.choice(_FILLER_PROFESSIONS), rng.choice(("Gent", *_ELSEWHERE)),
                    f"filler-{index}"))
    return directory


def fiche_event(provider: Provider, *, version: int | None = None, status: str | None = None,
                snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudEvent the service emits for ``provider`` at ``version`` (JSON, validated)."""
    version = version or provider.version
    status = status or provider.status
    kind = "created" if version == 1 else "deactivated" if status == "inactive" else "updated"
    data = FicheEventData(
        fiche_id=provider.fiche_id, version=version, kind=provider.kind, status=status,  # type: ignore[arg-type]
        inactive_reason="licence ended" if status == "inactive" else None,
        changed_fields=("status",) if status == "inactive" else tuple(sorted(provider.snapshot)),
        snapshot=snapshot if snapshot is not None else provider.snapshot)
    event_id = derived_id("fiche-event", str(provider.fiche_id), str(version))
    return envelope(event_id, f"be.socialekaart.fiche.{kind}", str(provider.fiche_id),
                    data.model_dump(mode="json", by_alias=True), datetime.now(UTC))
