"""Association samples: members, some of them CoBRHA professionals."""

from __future__ import annotations

import random
from typing import Any

from samples.common import cloud_event, nihii


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
