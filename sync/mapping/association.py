"""Professional associations' members (``sk.src.association.member``) to canonical updates.

A member is a person fiche. When the association knows the member's NIHII number, the NIHII
person comes first among the identifiers, so the member lands on (and is routed with) the
same fiche as the CoBRHA professional. The profession an association declares is not the
registered one (CoBRHA alone is authoritative for ``professions``): it is carried as
``declaredProfessions``.
"""

from __future__ import annotations

from pydantic import Field, JsonValue

from sync import geo
from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source, UpdateAction, built
from sync.mapping.common import (
    Inbound,
    MappingContext,
    address,
    observed_at,
    origin_of,
    parse_data,
    update_id_of,
)
from sync.professions import profession_of_label

__all__ = [
    "TYPE_REMOVED",
    "TYPE_UPSERTED",
    "Member",
    "MemberAddress",
    "MemberKey",
    "association_source",
    "map_association_member",
]

TYPE_UPSERTED = "be.association.member.upserted"
TYPE_REMOVED = "be.association.member.removed"


def association_source(association_id: str) -> str:
    """The CloudEvents ``source`` of one association's events."""
    return f"urn:association:{association_id}"


# The one model of a member's event data (SOURCES.md §4): the CSV ingest writes it
# (sync.ingest.association_csv) and the mapper below reads it.


class MemberAddress(Inbound):
    street: str | None = None
    house_number: str | None = Field(None, alias="houseNumber")
    box: str | None = None
    zip_code: str | None = Field(None, alias="zipCode")
    municipality: str | None = None


# Who the member is; a removal (the member left the latest export) names no NIHII. (No
# docstrings on these models: a docstring would become the published schema's description.)
class MemberKey(Inbound):
    source_version: int = Field(alias="sourceVersion")
    association_id: str = Field(alias="associationId", min_length=1)
    member_id: str = Field(alias="memberId", min_length=1)
    nihii: str | None = None


# One member as the association lists it now, the whole record, not a delta. serviceArea
# holds municipality names or NIS codes; nihii is optional (tobacco specialists and
# Bewegen-op-Verwijzing coaches have none).
class Member(MemberKey):
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    profession: str | None = None
    practice_name: str | None = Field(None, alias="practiceName")
    address: MemberAddress | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    languages: tuple[str, ...] = ()
    specialisations: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = Field((), alias="targetGroups")
    service_area: tuple[str, ...] = Field((), alias="serviceArea")
    accepts_new_clients: bool | None = Field(None, alias="acceptsNewClients")
    status: str | None = None


def map_association_member(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """Map one association member event (upserted or removed) to a canonical update.

    A removal withdraws what the association said and nothing more: leaving an association
    does not end a licence, so the fiche's status is left alone.
    """
    if event.type == TYPE_REMOVED:
        key = parse_data(MemberKey, event)
        return _update(event, key, action=UpdateAction.WITHDRAW, fields={})
    if event.type != TYPE_UPSERTED:
        raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")
    member = parse_data(Member, event)
    return _update(event, member, fields={
        "name.first": _text(member.first_name),
        "name.last": _text(member.last_name),
        "declaredProfessions": _professions(member.profession),
        "practiceName": _text(member.practice_name),
        "addresses": _addresses(member.address),
        "contact.phone": _text(member.phone),
        "contact.email": _text(member.email),
        "contact.website": _text(member.website),
        "languages": _texts(member.languages),
        "specialisations": _texts(member.specialisations),
        "targetGroups": _texts(member.target_groups),
        "serviceArea": _service_area(member.service_area),
        "acceptsNewClients": member.accepts_new_clients,
        "status": _status(member.status),
    })


def _update(
    event: CloudEvent, key: MemberKey, fields: dict[str, JsonValue],
    action: UpdateAction = UpdateAction.UPSERT,
) -> FicheUpdate:
    member = _identifier("ASSOCIATION-MEMBER", f"{key.association_id}:{key.member_id}")
    identifiers = [member]
    if key.nihii:
        identifiers.insert(0, built(Identifier, type="NIHII-PERSON", value=_person(key.nihii)))
    return built(
        FicheUpdate,
        update_id=update_id_of(event), origin=origin_of(event), source=Source.ASSOCIATION,
        record_id=member.value, source_version=key.source_version,
        observed_at=observed_at(event), kind=FicheKind.PERSON, action=action,
        identifiers=tuple(identifiers), fields=fields,
    )


def _identifier(kind: str, value: str) -> Identifier:
    try:
        normal_type, normal_value = ids.normalize_identifier(kind, value)
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None
    return built(Identifier, type=normal_type, value=normal_value)


def _person(nihii: str) -> str:
    """The NIHII person (first 8 digits); an unverified check keeps the number (DOMAIN.md)."""
    try:
        return ids.parse_nihii(nihii).person
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None


def _professions(code: str | None) -> list[JsonValue] | None:
    if not code or not code.strip():
        return None
    known = profession_of_label(code)  # a code, or a label such as thuisverpleegkundige
    if known is None:
        raise PermanentError("unknown-profession", f"unknown profession code {code[:40]!r}")
    return [dict(known.as_json())]


def _addresses(given: MemberAddress | None) -> list[JsonValue] | None:
    if given is None or not any((given.street, given.zip_code, given.municipality)):
        return None
    return [address(street=_text(given.street), number=_text(given.house_number),
                    box=_text(given.box), postcode=_text(given.zip_code),
                    municipality=_text(given.municipality))]


def _service_area(items: tuple[str, ...]) -> list[JsonValue] | None:
    """Each municipality served, placed by name or NIS code; unplaced ones keep their text.

    Sorted by name, so the same area listed in another order is no change."""
    found: dict[str, tuple[str, str | None, bool]] = {}
    for item in dict.fromkeys(text.strip() for text in items if text.strip()):
        placement = geo.resolve_service_area(item)
        name = placement.municipality_nl or item
        found.setdefault(placement.nis or f"?{item}", (name, placement.nis, placement.placed))
    return [{"nis": nis, "name": name, "placed": placed}
            for name, nis, placed in sorted(found.values(), key=lambda a: (a[0], a[1] or ""))
            ] or None


def _status(status: str | None) -> dict[str, JsonValue] | None:
    if not status or not status.strip():
        return None
    code = status.strip().upper()
    active = code == "ACTIVE"
    return {"active": active, "reason": None if active else f"membership {code.lower()}"}


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _texts(values: tuple[str, ...]) -> list[JsonValue] | None:
    """Distinct non-empty texts in the order given (an association may rank them)."""
    cleaned = [value.strip() for value in values if value.strip()]
    return list(dict.fromkeys(cleaned)) or None
