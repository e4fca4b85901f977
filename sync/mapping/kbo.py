"""KBO / BCE entities (``sk.src.kbo.entity``) to canonical organisation updates.

The KBO ingest publishes one event per changed enterprise with its whole current state
(:mod:`sync.mapping.kbo_model`). The enterprise is the record; its establishment units add
their numbers as identifiers and are the fiche's locations (``establishments``, see
:mod:`sync.mapping.kbo_units`). The registered seat is a field of its own (``seat``); the
addresses are the seat's, or the units' when there is no seat (natural persons have no seat
address, only establishment addresses). A natural-person enterprise is an individual practice
(``enterpriseType``).
"""

from __future__ import annotations

from pydantic import JsonValue

from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source, UpdateAction, built
from sync.mapping.common import (
    MappingContext,
    observed_at,
    origin_of,
    parse_data,
    update_id_of,
)
from sync.mapping.kbo_model import (
    KBO_REMOVED,
    KBO_UPSERTED,
    KboActivity,
    KboEntityData,
    KboEntityRemovedData,
)
from sync.mapping.kbo_units import (
    by_language,
    canonical_address,
    establishments,
    first_contact,
    live_addresses,
)

__all__ = ["TYPE_REMOVED", "TYPE_UPSERTED", "map_kbo_entity"]

TYPE_UPSERTED = KBO_UPSERTED
TYPE_REMOVED = KBO_REMOVED

#: KBO ``Status`` code of an active entity; any other status means the enterprise stopped.
ACTIVE_STATUS = "AC"
STOPPED = "enterprise stopped"
#: KBO TypeOfEnterprise (as the ingest writes it) to the fiche's ``enterpriseType``.
ENTERPRISE_TYPES = {"natural": "natural-person", "legal": "legal-person"}
CONTACT_FIELDS = {"TEL": "contact.phone", "EMAIL": "contact.email", "WEB": "contact.website"}


def map_kbo_entity(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """Map one KBO entity event (upserted or removed) to a canonical organisation update."""
    if event.type == TYPE_REMOVED:
        return _removed(event)
    if event.type != TYPE_UPSERTED:
        raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")
    entity = parse_data(KboEntityData, event)
    number = _enterprise_number(entity.enterprise_number)
    units = [unit.establishment_number for unit in entity.establishments]
    identifiers = [built(Identifier, type="CBE", value=number)]
    identifiers += [built(Identifier, type="ESTABLISHMENT", value=unit)
                    for unit in sorted(set(units))]
    active = (entity.status or "").strip().upper() == ACTIVE_STATUS
    return _update(event, entity.source_version, number, identifiers, fields={
        "name": _name(entity),
        "legalForm": entity.juridical_form or None,
        "enterpriseStatus": entity.status or None,
        "enterpriseType": ENTERPRISE_TYPES.get(entity.type_of_enterprise or ""),
        "seat": _seat(entity),
        "addresses": _addresses(entity) or None,
        **_contacts(entity),
        "activities": _activities(entity) or None,
        "establishments": establishments(entity.establishments) or None,
        "status": {"active": active, "reason": None if active else STOPPED},
    })


def _removed(event: CloudEvent) -> FicheUpdate:
    entity = parse_data(KboEntityRemovedData, event)
    number = _enterprise_number(entity.enterprise_number)
    return _update(event, entity.source_version, number,
                   [built(Identifier, type="CBE", value=number)],
                   fields={"status": {"active": False, "reason": STOPPED}},
                   action=UpdateAction.WITHDRAW)


def _update(
    event: CloudEvent, version: int, number: str, identifiers: list[Identifier],
    fields: dict[str, JsonValue], action: UpdateAction = UpdateAction.UPSERT,
) -> FicheUpdate:
    return built(
        FicheUpdate,
        update_id=update_id_of(event), origin=origin_of(event), source=Source.KBO,
        record_id=f"enterprise:{number}", source_version=version,
        observed_at=observed_at(event), kind=FicheKind.ORGANISATION, action=action,
        identifiers=tuple(identifiers), fields=fields,
    )


def _enterprise_number(raw: str) -> str:
    try:
        return ids.normalize_enterprise_number(raw)
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None


def _name(entity: KboEntityData) -> dict[str, JsonValue] | None:
    """Legal names by language; else commercial names (a natural person's enterprise has no
    legal name), first the enterprise's, then its establishments'."""
    units = [d for unit in entity.establishments for d in unit.denominations]
    for kind, items in (("name", entity.denominations), ("commercial", entity.denominations),
                        ("name", units), ("commercial", units)):
        found = by_language(d for d in items if d.type == kind)
        if found:
            return found
    return None


def _seat(entity: KboEntityData) -> dict[str, JsonValue] | None:
    """The registered seat (REGO) that still holds."""
    seats = live_addresses(entity.addresses, "REGO")
    return canonical_address(seats[0]) if seats else None


def _addresses(entity: KboEntityData) -> list[JsonValue]:
    """The seat (REGO); without one, the establishments' addresses (BAET)."""
    units = [a for unit in entity.establishments for a in live_addresses(unit.addresses, "BAET")]
    found: list[JsonValue] = []
    for item in live_addresses(entity.addresses, "REGO") or units:
        canonical = canonical_address(item)
        if canonical not in found:
            found.append(canonical)
    return found


def _contacts(entity: KboEntityData) -> dict[str, JsonValue]:
    """Phone, e-mail and website: the enterprise's own, else its establishments'."""
    units = [c for unit in entity.establishments for c in unit.contacts]
    return {field: first_contact(kind, entity.contacts) or first_contact(kind, units)
            for kind, field in CONTACT_FIELDS.items()}


def _activities(entity: KboEntityData) -> list[JsonValue]:
    """NACE codes of the enterprise and its units, in the newest NACE version present."""
    every: list[KboActivity] = [*entity.activities,
                                *(a for unit in entity.establishments for a in unit.activities)]
    if not every:
        return []
    newest = max(a.nace_version for a in every)
    return list(sorted({a.nace_code for a in every if a.nace_version == newest}))
