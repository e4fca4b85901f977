"""The `data` of association member events on ``sk.src.association.member`` (SOURCES.md §4).

The CSV ingest writes these; a mapper parses them. Pure: no I/O.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "ASSOCIATION_REMOVED",
    "ASSOCIATION_UPSERTED",
    "AssociationMemberData",
    "AssociationMemberRemovedData",
    "MemberAddress",
    "association_source",
]

ASSOCIATION_UPSERTED = "be.association.member.upserted"
ASSOCIATION_REMOVED = "be.association.member.removed"


def association_source(association_id: str) -> str:
    """The CloudEvents ``source`` of one association's events."""
    return f"urn:association:{association_id}"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class MemberAddress(_Model):
    """The practice address, one line of the export (columns street ... municipality)."""

    street: str | None = None
    house_number: str | None = None
    box: str | None = None
    zip_code: str | None = None
    municipality: str | None = None


class AssociationMemberData(_Model):
    """One member as the association lists it now; the whole record, not a delta.

    ``serviceArea`` holds municipality names or NIS codes; ``nihii`` is optional (tobacco
    specialists and Bewegen-op-Verwijzing coaches have none).
    """

    source_version: int
    association_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    nihii: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    first_name: str | None = None
    last_name: str | None = None
    profession: str | None = None
    practice_name: str | None = None
    address: MemberAddress | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    languages: tuple[str, ...] = ()
    specialisations: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    service_area: tuple[str, ...] = ()
    accepts_new_clients: bool | None = None
    status: str | None = None


class AssociationMemberRemovedData(_Model):
    """The member is missing from the association's latest full export: it has left."""

    source_version: int
    association_id: str
    member_id: str
