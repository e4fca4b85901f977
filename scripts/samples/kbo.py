"""KBO samples: two extracts of enterprises, some of which CoBRHA organisations name."""

from __future__ import annotations

from typing import Any

from samples.common import cbe, cloud_event
from sync.mapping.kbo_model import KboEntityData

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
