"""The `data` of the KBO entity events on ``sk.src.kbo.entity`` (SOURCES.md §3).

The KBO ingest (``sync.ingest.kbo``) writes these; the KBO mapper parses them. One
``upserted`` event carries an enterprise's whole current state, never a delta.
Pure: no I/O.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "KBO_REMOVED",
    "KBO_SOURCE",
    "KBO_UPSERTED",
    "KboActivity",
    "KboAddress",
    "KboContact",
    "KboDenomination",
    "KboEntityData",
    "KboEntityRemovedData",
    "KboEstablishment",
]

KBO_SOURCE = "urn:be:fgov:economie:kbo"
KBO_UPSERTED = "be.fgov.economie.kbo.entity.upserted"
KBO_REMOVED = "be.fgov.economie.kbo.entity.removed"

#: 10 digits, no dots; enterprises start with 0 or 1, establishment units with 2 to 8.
ENTERPRISE_NUMBER = r"^[01][0-9]{9}$"
ESTABLISHMENT_NUMBER = r"^[2-8][0-9]{9}$"


class _KboModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are a contract breach."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class KboDenomination(_KboModel):
    """A name; KBO language codes 1-4 become fr, nl, de, en."""

    language: Literal["nl", "fr", "de", "en"]
    type: Literal["name", "abbreviation", "commercial"]
    value: str


class KboAddress(_KboModel):
    """REGO is the registered seat, BAET an establishment unit's address."""

    type: Literal["REGO", "BAET"]
    country_nl: str | None = Field(default=None, alias="countryNL")
    zipcode: str | None = None
    municipality_nl: str | None = Field(default=None, alias="municipalityNL")
    municipality_fr: str | None = Field(default=None, alias="municipalityFR")
    street_nl: str | None = Field(default=None, alias="streetNL")
    street_fr: str | None = Field(default=None, alias="streetFR")
    house_number: str | None = None
    box: str | None = None
    extra_address_info: str | None = None
    date_striking_off: date | None = None


class KboContact(_KboModel):
    type: Literal["TEL", "EMAIL", "WEB"]
    value: str


class KboActivity(_KboModel):
    """A NACE code; ``naceVersion`` is 2003, 2008 or 2025, classification MAIN, SECO or ANCI."""

    group: str
    nace_version: str
    nace_code: str
    classification: str | None = None


class KboEstablishment(_KboModel):
    establishment_number: str = Field(pattern=ESTABLISHMENT_NUMBER)
    start_date: date | None = None
    denominations: tuple[KboDenomination, ...] = ()
    addresses: tuple[KboAddress, ...] = ()
    contacts: tuple[KboContact, ...] = ()
    activities: tuple[KboActivity, ...] = ()


class KboEntityData(_KboModel):
    """An enterprise as the KBO holds it now, with its establishment units.

    ``typeOfEnterprise`` is ``natural`` or ``legal``, or the raw code if KBO adds one.
    ``sourceVersion`` is the KBO ``ExtractNumber`` the state was read from.
    """

    source_version: int
    enterprise_number: str = Field(pattern=ENTERPRISE_NUMBER)
    status: str | None = None
    juridical_situation: str | None = None
    type_of_enterprise: str | None = None
    juridical_form: str | None = None
    start_date: date | None = None
    denominations: tuple[KboDenomination, ...] = ()
    addresses: tuple[KboAddress, ...] = ()
    contacts: tuple[KboContact, ...] = ()
    activities: tuple[KboActivity, ...] = ()
    establishments: tuple[KboEstablishment, ...] = ()


class KboEntityRemovedData(_KboModel):
    """The enterprise is no longer in the KBO (stopped, or absent from a Full extract)."""

    source_version: int
    enterprise_number: str = Field(pattern=ENTERPRISE_NUMBER)
