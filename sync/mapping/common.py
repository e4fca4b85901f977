"""What every mapper shares: the context, inbound address shapes, update construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import phonenumbers
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from sync import geo
from sync.cloudevents import CloudEvent, field_list
from sync.errors import PermanentError
from sync.events import EventOrigin, FicheUpdate, built, derived_id

__all__ = [
    "PHONE_FIELDS",
    "Inbound",
    "MappingContext",
    "address",
    "e164",
    "origin_of",
    "parse_data",
    "parsed_e164",
    "update_id_of",
    "with_e164_phones",
]

#: Fields holding one phone number. Numbers without a country code are Belgian.
PHONE_FIELDS = ("contact.phone",)
#: The field of the establishment units, each with a phone of its own.
UNITS_FIELD = "establishments"
PHONE_REGION = "BE"

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
    """Where an update comes from. Built without validating again: the envelope was validated
    at decode (texts, an aware time or none), which is all :class:`EventOrigin` checks."""
    return built(EventOrigin, source=event.source, id=event.id, type=event.type,
                 time=event.time)


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


def e164(text: str) -> str | None:
    """``text`` as an E.164 number (``080 18 86 57`` is ``+3280188657``), or ``None`` when it
    cannot be a phone number. *Possible*, not *valid*: a number the library's tables do not
    know yet (a new range) must not be dropped."""
    if _plainly_e164(text):
        return text
    return parsed_e164(text)


def parsed_e164(text: str) -> str | None:
    """:func:`e164` without its shortcut for text already in E.164: what the phone number
    library makes of ``text``."""
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: A Belgian number in E.164: the country code, then the national number without its 0.
_COUNTRY_PREFIX = f"+{phonenumbers.country_code_for_region(PHONE_REGION)}"


def _possible_lengths(region: str) -> frozenset[int]:
    """How many digits a national number of ``region`` may have, by phonenumbers' tables."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general = None if metadata is None else metadata.general_desc
    return frozenset(() if general is None else general.possible_length)


_POSSIBLE_LENGTHS = _possible_lengths(PHONE_REGION)


def _plainly_e164(text: str) -> bool:
    """Whether ``text`` is a Belgian number written in E.164 already (``+3221234567``), as
    CoBRHA sends them: ASCII digits after the country code, the first not 0 (no national
    prefix to strip), as many as a Belgian number may have (the library's own lengths).
    phonenumbers gives such a text back as it is; parsing it costs more than the mapping of
    the rest of the event. Any other text goes to phonenumbers."""
    national = text[len(_COUNTRY_PREFIX):]
    return (text.startswith(_COUNTRY_PREFIX) and len(national) in _POSSIBLE_LENGTHS
            and national.isascii() and national.isdigit() and national[0] != "0")


def with_e164_phones(update: FicheUpdate) -> FicheUpdate:
    """``update`` with its phone numbers in E.164, so that one number written two ways by two
    sources (KBO's ``080 18 86 57``, CoBRHA's ``+3280188657``) is one value, not a conflict.
    The text as the source wrote it goes to ``as_given`` (kept in provenance). Text that is no
    phone number stays as it was: dropping it would hide what the source said.

    The phones of the establishment units (``establishments``) too: there ``as_given`` holds,
    by unit number, the text of each unit whose phone was rewritten."""
    fields, given = dict(update.fields), dict(update.as_given)
    for name in PHONE_FIELDS:
        text = fields.get(name)
        if not isinstance(text, str):
            continue
        number = e164(text)
        if number is not None and number != text:
            fields[name], given[name] = number, text
    units = fields.get(UNITS_FIELD)
    if isinstance(units, list):
        fields[UNITS_FIELD], unit_texts = _units_in_e164(units)
        if unit_texts:
            given[UNITS_FIELD] = unit_texts
    if fields == update.fields:
        return update
    return update.model_copy(update={"fields": fields, "as_given": given})


def _units_in_e164(units: list[JsonValue]) -> tuple[list[JsonValue], dict[str, JsonValue]]:
    """The units with their phones in E.164, and the rewritten texts by unit number."""
    normalised: list[JsonValue] = []
    texts: dict[str, JsonValue] = {}
    for unit in units:
        text = unit.get("phone") if isinstance(unit, dict) else None
        number = e164(text) if isinstance(text, str) else None
        if not isinstance(unit, dict) or number is None or number == text:
            normalised.append(unit)
            continue
        normalised.append({**unit, "phone": number})
        texts[str(unit.get("establishmentNumber"))] = text
    return normalised, texts
