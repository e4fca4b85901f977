"""CoBRHA healthcare professionals (``sk.src.cobrha.professional``) to canonical updates."""

from __future__ import annotations

from datetime import date

from pydantic import Field, JsonValue

from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source, UpdateAction, built
from sync.mapping.common import (
    Inbound,
    MappingContext,
    address,
    localized,
    observed_at,
    origin_of,
    parse_data,
    update_id_of,
)
from sync.professions import profession

__all__ = ["TYPE_REMOVED", "TYPE_UPSERTED", "map_cobrha_professional"]

TYPE_UPSERTED = "be.ehealth.cobrha.professional.upserted"
TYPE_REMOVED = "be.ehealth.cobrha.professional.removed"


class Licence(Inbound):
    status: str
    valid_from: date | None = Field(None, alias="validFrom")
    valid_to: date | None = Field(None, alias="validTo")


class CobrhaAddress(Inbound):
    street: dict[str, str] | str | None = None
    house_number: str | None = Field(None, alias="houseNumber")
    post_box: str | None = Field(None, alias="postBox")
    zip_code: str | None = Field(None, alias="zipCode")
    municipality: dict[str, str] | str | None = None


class ProfessionEntry(Inbound):
    profession_code: str = Field(alias="professionCode")
    nihii: str
    friendly_name: dict[str, str] | None = Field(None, alias="friendlyName")
    specialities: list[str] = Field(default_factory=list)
    licence: Licence | None = None
    addresses: list[CobrhaAddress] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None


class Professional(Inbound):
    source_version: int = Field(alias="sourceVersion")
    ssin: str | None = None
    last_name: str = Field(alias="lastName", min_length=1)
    first_name: str = Field(alias="firstName", min_length=1)
    gender: str | None = None
    language: str | None = None
    death_date: date | None = Field(None, alias="deathDate")
    professions: list[ProfessionEntry] = Field(min_length=1)


class ProfessionalRemoved(Inbound):
    source_version: int = Field(alias="sourceVersion")
    nihii: str | None = None


LICENCE_STATUSES = {"ACTIVE", "SUSPENDED", "REVOKED", "ENDED"}


def map_cobrha_professional(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """Map one CoBRHA professional event (upserted or removed) to a canonical update."""
    if event.type == TYPE_REMOVED:
        return _removed(event)
    if event.type != TYPE_UPSERTED:
        raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")
    record = parse_data(Professional, event)
    person = _person_number(event.subject, record.professions[0].nihii)
    identifiers = [built(Identifier, type="NIHII-PERSON", value=person)]
    if record.ssin:
        identifiers.append(
            built(Identifier, type="SSIN-HASH", value=_ssin_hash(record.ssin, context)))
    professions = [_profession(entry) for entry in record.professions]
    active = any(p["licence"] and p["licence"]["status"] == "ACTIVE" for p in professions)  # type: ignore[index,call-overload]
    reason = None if active else "no active licence"
    if record.death_date is not None:
        active, reason = False, "deceased"
    # Built without validating again (the identifiers too): every value comes from the
    # validated record (texts, JSON made of them: dicts, lists, no tuples) or the validated
    # envelope, and validating ``fields`` as JsonValue walks it in Python (sync.events.built).
    # tests/unit/test_map_output_unchanged.py holds the output to the byte.
    return built(
        FicheUpdate,
        update_id=update_id_of(event),
        origin=origin_of(event),
        source=Source.COBRHA,
        record_id=f"professional:{person}",
        source_version=record.source_version,
        observed_at=observed_at(event),
        kind=FicheKind.PERSON,
        identifiers=tuple(identifiers),
        fields={
            "name.first": record.first_name.strip(),
            "name.last": record.last_name.strip(),
            "gender": record.gender,
            "languages": [record.language] if record.language else None,
            "professions": professions,
            "addresses": _addresses(record.professions) or None,
            "contact.phone": next((p.phone for p in record.professions if p.phone), None),
            "contact.email": next((p.email for p in record.professions if p.email), None),
            "status": {"active": active, "reason": reason},
        },
    )


def _removed(event: CloudEvent) -> FicheUpdate:
    record = parse_data(ProfessionalRemoved, event)
    person = _person_number(event.subject, record.nihii)
    return built(
        FicheUpdate,
        update_id=update_id_of(event),
        origin=origin_of(event),
        source=Source.COBRHA,
        record_id=f"professional:{person}",
        source_version=record.source_version,
        observed_at=observed_at(event),
        kind=FicheKind.PERSON,
        action=UpdateAction.WITHDRAW,
        identifiers=(built(Identifier, type="NIHII-PERSON", value=person),),
        fields={"status": {"active": False, "reason": "removed from CoBRHA"}},
    )


def _person_number(subject: str | None, nihii: str | None) -> str:
    """The NIHII person (8 digits): from the professional number, else from the subject."""
    for candidate in (nihii, subject):
        if not candidate:
            continue
        digits = (candidate if candidate.isdigit()  # as most are written: nothing to drop
                  else "".join(ch for ch in candidate if ch.isdigit()))
        if len(digits) == 11:
            return _parse_nihii(digits).person
        if len(digits) == 8 and digits == candidate.strip():
            return digits
    raise PermanentError("bad-identifier", "no NIHII person number in subject or data")


def _parse_nihii(raw: str) -> ids.NihiiNumber:
    try:
        return ids.parse_nihii(raw)
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None


def _ssin_hash(raw: str, context: MappingContext) -> str:
    try:
        return ids.hash_ssin(ids.normalize_ssin(raw), context.ssin_secret, normalized=True)
    except ids.IdentifierError:
        raise PermanentError("bad-identifier", "the SSIN fails its check digits") from None


def _profession(entry: ProfessionEntry) -> dict[str, JsonValue]:
    known = profession(entry.profession_code)
    if known is None:
        raise PermanentError(
            "unknown-profession", f"unknown profession code {entry.profession_code[:40]!r}"
        )
    number = _parse_nihii(entry.nihii)
    licence = entry.licence
    if licence is not None and licence.status not in LICENCE_STATUSES:
        raise PermanentError("schema-invalid", f"unknown licence status {licence.status[:20]!r}")
    return {
        **known.as_json(),
        "nihii": number.value,
        "nihiiVerified": number.verified,
        "specialities": sorted(entry.specialities),  # type: ignore[dict-item]
        "licence": None if licence is None else _licence(licence),
    }


def _licence(licence: Licence) -> dict[str, JsonValue]:
    """The licence as its model's JSON dump (by alias) gives it, made directly."""
    return {"status": licence.status,
            "validFrom": None if licence.valid_from is None else licence.valid_from.isoformat(),
            "validTo": None if licence.valid_to is None else licence.valid_to.isoformat()}


def _addresses(entries: list[ProfessionEntry]) -> list[JsonValue]:
    found: list[JsonValue] = []
    for entry in entries:
        for item in entry.addresses:
            canonical = address(
                street=localized(item.street), number=item.house_number, box=item.post_box,
                postcode=item.zip_code, municipality=localized(item.municipality),
                municipality_fr=localized(item.municipality, "fr"),
            )
            if canonical not in found:
                found.append(canonical)
    return found
