"""What every mapper shares: the context, inbound address shapes, update construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from sync import geo
from sync.cloudevents import CloudEvent, field_list
from sync.errors import PermanentError
from sync.events import EventOrigin, derived_id

__all__ = [
    "Inbound",
    "MappingContext",
    "address",
    "origin_of",
    "parse_data",
    "update_id_of",
]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class MappingContext:
    """What mappers need besides the event: the SSIN hashing secret."""

    ssin_secret: bytes


class Inbound(BaseModel):
    """Base of source payload models: camelCase as the sources send it, extra fields ignored
    (sources add fields over time; we read what we know)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def parse_data(model: type[M], event: CloudEvent) -> M:
    """Validate an event's ``data`` against ``model``; a failure is permanent."""
    try:
        return model.model_validate(event.data)
    except ValidationError as error:
        raise PermanentError("schema-invalid", "data: " + field_list(error, "data")) from None


def origin_of(event: CloudEvent) -> EventOrigin:
    return EventOrigin(source=event.source, id=event.id, type=event.type, time=event.time)


def update_id_of(event: CloudEvent, part: str = "") -> Any:
    """The canonical update's id, derived from (source, id): redelivery gives the same id."""
    return derived_id("update", event.source, event.id, part)


def observed_at(event: CloudEvent) -> datetime:
    return event.time or datetime.now(UTC)


def localized(value: Mapping[str, str] | str | None, lang: str = "nl") -> str | None:
    """The ``lang`` text of a multilingual value, else any text it has."""
    if value is None or isinstance(value, str):
        return value
    return value.get(lang) or next(iter(value.values()), None)


def address(
    *, street: str | None, number: str | None, box: str | None, postcode: str | None,
    municipality: str | None, municipality_fr: str | None = None,
) -> dict[str, JsonValue]:
    """A canonical address: its text as given, and its NIS code when it can be placed.

    An address that cannot be placed keeps its text and says so (``placed`` false).
    """
    placement = geo.resolve(postcode, municipality or municipality_fr)
    return {
        "street": street,
        "houseNumber": number,
        "box": box,
        "postcode": postcode,
        "municipality": placement.municipality_nl or municipality or municipality_fr,
        "nis": placement.nis,
        "placed": placement.placed,
    }
