"""CoBRHA healthcare organisations (``sk.src.cobrha.organisation``) to canonical updates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from pydantic import Field, JsonValue

from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source, UpdateAction, built
from sync.mapping.cobrha_professional import CobrhaAddress
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

__all__ = ["TYPE_REMOVED", "TYPE_UPSERTED", "map_cobrha_organisation"]

TYPE_UPSERTED = "be.ehealth.cobrha.organisation.upserted"
TYPE_REMOVED = "be.ehealth.cobrha.organisation.removed"

#: Identifier types an organisation may carry; other types are ignored (nothing can match them).
ORGANISATION_ID_TYPES = frozenset({"HCO", "CBE", "EHP", "ESTABLISHMENT"})
_NIHII_ORG = re.compile(r"NIHII-[A-Z][A-Z_]*")


class TypedId(Inbound):
    type: str
    value: str


class Recognition(Inbound):
    code: str = Field(min_length=1)
    valid_from: date | None = Field(None, alias="validFrom")
    valid_to: date | None = Field(None, alias="validTo")

    def valid_on(self, day: date) -> bool:
        """Whether the recognition holds on ``day`` (both ends inclusive)."""
        started = self.valid_from is None or self.valid_from <= day
        return started and (self.valid_to is None or day <= self.valid_to)


class Organisation(Inbound):
    source_version: int = Field(alias="sourceVersion")
    ids: tuple[TypedId, ...] = ()
    names: dict[str, str] = Field(min_length=1)
    organization_type_codes: tuple[str, ...] = Field((), alias="organizationTypeCodes")
    recognitions: tuple[Recognition, ...] = ()
    addresses: tuple[CobrhaAddress, ...] = ()
    email: str | None = None
    phone: str | None = None
    website: str | None = None


class OrganisationRemoved(Inbound):
    source_version: int = Field(alias="sourceVersion")
    ids: tuple[TypedId, ...] = ()


def map_cobrha_organisation(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """Map one CoBRHA organisation event (upserted or removed) to a canonical update."""
    if event.type == TYPE_REMOVED:
        return _removed(event)
    if event.type != TYPE_UPSERTED:
        raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")
    record = parse_data(Organisation, event)
    identifiers = _identifiers(event.subject, record.ids)
    today = observed_at(event).date()
    return _update(event, record.source_version, identifiers, fields={
        "name": {lang: text.strip() for lang, text in sorted(record.names.items())},
        "organisationTypes": _organisation_types(record.organization_type_codes),
        "recognitions": _recognitions(record.recognitions),
        "addresses": _addresses(record.addresses) or None,
        "contact.phone": record.phone or None,
        "contact.email": record.email or None,
        "contact.website": record.website or None,
        "status": _status(record.recognitions, today),
        "practiceOf": _practice_of(record.ids),
    })


def _removed(event: CloudEvent) -> FicheUpdate:
    record = parse_data(OrganisationRemoved, event)
    identifiers = _identifiers(event.subject, record.ids)
    return _update(
        event, record.source_version, identifiers, action=UpdateAction.WITHDRAW,
        fields={"status": {"active": False, "reason": "removed from CoBRHA"}},
    )


def _update(
    event: CloudEvent, version: int, identifiers: list[Identifier],
    fields: dict[str, JsonValue], action: UpdateAction = UpdateAction.UPSERT,
) -> FicheUpdate:
    return built(
        FicheUpdate,
        update_id=update_id_of(event), origin=origin_of(event), source=Source.COBRHA,
        record_id=f"organisation:{identifiers[0].value}", source_version=version,
        observed_at=observed_at(event), kind=FicheKind.ORGANISATION, action=action,
        identifiers=tuple(identifiers), fields=fields,
    )


def _identifiers(subject: str | None, given: Sequence[TypedId]) -> list[Identifier]:
    """Normalised identifiers, the HCO number first: it is the record key and routing key."""
    found: list[Identifier] = []
    for item in given:
        kind = item.type.strip().upper()
        if kind in ORGANISATION_ID_TYPES or (kind != "NIHII-PERSON" and _NIHII_ORG.fullmatch(kind)):
            found.append(_identifier(kind, item.value))
    if not any(i.type == "HCO" for i in found) and subject and subject.upper().startswith("HCO:"):
        found.append(_identifier("HCO", subject[4:]))
    hco = [i for i in found if i.type == "HCO"]
    if not hco:
        raise PermanentError("bad-identifier", "no HCO number in the ids or the subject")
    rest = sorted({i for i in found if i.type != "HCO"}, key=lambda i: (i.type, i.value))
    return [hco[0], *rest]


def _practice_of(given: Sequence[TypedId]) -> dict[str, JsonValue] | None:
    """The person whose individual practice this organisation is, when CoBRHA names a NIHII
    person number among its ids: a link to that person's fiche, not an identifier of this one
    (docs/rules.md, "An individual practice")."""
    for item in given:
        if item.type.strip().upper() == "NIHII-PERSON":
            person = _identifier("NIHII-PERSON", item.value)
            return {"type": person.type, "value": person.value}
    return None


def _identifier(kind: str, value: str) -> Identifier:
    try:
        normal_type, normal_value = ids.normalize_identifier(kind, value)
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None
    return built(Identifier, type=normal_type, value=normal_value)


def _organisation_types(codes: Sequence[str]) -> list[JsonValue]:
    """CD-HCPARTY organisation codes (``org*``), sorted; any other code is refused."""
    cleaned = sorted({code.strip() for code in codes})
    for code in cleaned:
        if not code.startswith("org") or len(code) < 4:
            raise PermanentError(
                "unknown-code", f"{code[:40]!r} is not a CD-HCPARTY organisation code")
    return list(cleaned)


def _recognitions(items: Sequence[Recognition]) -> list[JsonValue]:
    """Each recognition as ``{code, validFrom, validTo}`` (ISO dates), in a stable order."""
    ordered = sorted(items, key=lambda r: (r.code, r.valid_from or date.min,
                                           r.valid_to or date.max))
    return [item.model_dump(mode="json", by_alias=True) for item in ordered]


def _status(items: Sequence[Recognition], today: date) -> dict[str, JsonValue]:
    """Active while a recognition holds on the event's day, or when none is given at all."""
    if not items or any(item.valid_on(today) for item in items):
        return {"active": True, "reason": None}
    return {"active": False, "reason": "no valid recognition"}


def _addresses(items: Sequence[CobrhaAddress]) -> list[JsonValue]:
    found: list[JsonValue] = []
    for item in items:
        canonical = address(
            street=localized(item.street), number=item.house_number, box=item.post_box,
            postcode=item.zip_code, municipality=localized(item.municipality),
            municipality_fr=localized(item.municipality, "fr"),
        )
        if canonical not in found:
            found.append(canonical)
    return found
