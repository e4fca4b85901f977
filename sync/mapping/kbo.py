"""KBO / BCE entities (``sk.src.kbo.entity``) to canonical organisation updates.

The KBO ingest publishes one event per changed enterprise with its whole current state
(:mod:`sync.mapping.kbo_model`). The enterprise is the record; its establishment units add
their numbers as identifiers and stand in for the seat when the enterprise has none (natural
persons have no seat address, only establishment addresses).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import JsonValue

from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source, UpdateAction
from sync.mapping.common import (
    MappingContext,
    address,
    observed_at,
    origin_of,
    parse_data,
    update_id_of,
)
from sync.mapping.kbo_model import (
    KBO_REMOVED,
    KBO_UPSERTED,
    KboActivity,
    KboAddress,
    KboContact,
    KboDenomination,
    KboEntityData,
    KboEntityRemovedData,
)

__all__ = ["TYPE_REMOVED", "TYPE_UPSERTED", "map_kbo_entity"]

TYPE_UPSERTED = KBO_UPSERTED
TYPE_REMOVED = KBO_REMOVED

#: KBO ``Status`` code of an active entity; any other status means the enterprise stopped.
ACTIVE_STATUS = "AC"
STOPPED = "enterprise stopped"
LANGUAGES = ("nl", "fr", "de", "en")
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
    identifiers = [Identifier(type="CBE", value=number)]
    identifiers += [Identifier(type="ESTABLISHMENT", value=unit) for unit in sorted(set(units))]
    active = (entity.status or "").strip().upper() == ACTIVE_STATUS
    return _update(event, entity.source_version, number, identifiers, fields={
        "name": _name(entity),
        "legalForm": entity.juridical_form or None,
        "enterpriseStatus": entity.status or None,
        "addresses": _addresses(entity) or None,
        **_contacts(entity),
        "activities": _activities(entity) or None,
        "status": {"active": active, "reason": None if active else STOPPED},
    })


def _removed(event: CloudEvent) -> FicheUpdate:
    entity = parse_data(KboEntityRemovedData, event)
    number = _enterprise_number(entity.enterprise_number)
    return _update(event, entity.source_version, number, [Identifier(type="CBE", value=number)],
                   fields={"status": {"active": False, "reason": STOPPED}},
                   action=UpdateAction.WITHDRAW)


def _update(
    event: CloudEvent, version: int, number: str, identifiers: list[Identifier],
    fields: dict[str, JsonValue], action: UpdateAction = UpdateAction.UPSERT,
) -> FicheUpdate:
    return FicheUpdate(
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
        found = _by_language(d for d in items if d.type == kind)
        if found:
            return found
    return None


def _by_language(items: Iterable[KboDenomination]) -> dict[str, JsonValue]:
    """One text per language (the first in sorted order when KBO holds several)."""
    texts: dict[str, JsonValue] = {}
    for item in sorted(items, key=lambda d: (LANGUAGES.index(d.language), d.value)):
        if item.value.strip():
            texts.setdefault(item.language, item.value.strip())
    return texts


def _addresses(entity: KboEntityData) -> list[JsonValue]:
    """The seat (REGO); without one, the establishments' addresses (BAET). Struck-off
    addresses no longer hold."""
    seat = [a for a in entity.addresses if a.type == "REGO" and a.date_striking_off is None]
    units = [a for unit in entity.establishments for a in unit.addresses
             if a.type == "BAET" and a.date_striking_off is None]
    found: list[JsonValue] = []
    for item in seat or units:
        canonical = _address(item)
        if canonical not in found:
            found.append(canonical)
    return found


def _address(item: KboAddress) -> dict[str, JsonValue]:
    return address(
        street=item.street_nl or item.street_fr, number=item.house_number, box=item.box,
        postcode=item.zipcode, municipality=item.municipality_nl,
        municipality_fr=item.municipality_fr,
    )


def _contacts(entity: KboEntityData) -> dict[str, JsonValue]:
    """Phone, e-mail and website: the enterprise's own, else its establishments'."""
    units = [c for unit in entity.establishments for c in unit.contacts]
    return {field: _first(kind, entity.contacts) or _first(kind, units)
            for kind, field in CONTACT_FIELDS.items()}


def _first(kind: str, contacts: Sequence[KboContact]) -> str | None:
    values = sorted(c.value.strip() for c in contacts if c.type == kind and c.value.strip())
    return values[0] if values else None


def _activities(entity: KboEntityData) -> list[JsonValue]:
    """NACE codes of the enterprise and its units, in the newest NACE version present."""
    every: list[KboActivity] = [*entity.activities,
                                *(a for unit in entity.establishments for a in unit.activities)]
    if not every:
        return []
    newest = max(a.nace_version for a in every)
    return list(sorted({a.nace_code for a in every if a.nace_version == newest}))
