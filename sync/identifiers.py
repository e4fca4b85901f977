"""Typed identifiers of care actors: check and normalise (type, value) pairs.

Check digits follow the project's domain notes (DOMAIN.md); python-stdnum checks the SSIN
(national and BIS numbers) and the KBO/BCE enterprise number. An :class:`IdentifierError` names
the identifier type and the rule that failed, never the value, so an SSIN cannot leak into logs
or dead letters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from stdnum.be import ssn as _ssn
from stdnum.be import vat as _vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

__all__ = [
    "IdentifierError",
    "IdentifierType",
    "NihiiNumber",
    "format_enterprise_number",
    "hash_ssin",
    "normalize_enterprise_number",
    "normalize_establishment_number",
    "normalize_hco",
    "normalize_identifier",
    "normalize_ssin",
    "parse_nihii",
    "parse_nihii_org",
]


class IdentifierError(ValueError):
    """An identifier that cannot be used. The message never contains the offending value."""


class IdentifierType(StrEnum):
    """Identifier types, as stored next to the value. Any ``NIHII-<UPPER>`` type is accepted too."""

    SSIN = "SSIN"
    SSIN_HASH = "SSIN-HASH"
    NIHII = "NIHII"
    NIHII_PERSON = "NIHII-PERSON"
    NIHII_HOSPITAL = "NIHII-HOSPITAL"
    NIHII_PHARMACY = "NIHII-PHARMACY"
    NIHII_LABO = "NIHII-LABO"
    NIHII_RETIREMENT = "NIHII-RETIREMENT"
    NIHII_GROUP = "NIHII-GROUP"
    NIHII_MEDICAL_HOUSE = "NIHII-MEDICAL_HOUSE"
    NIHII_GROUP_DOCTORS = "NIHII-GROUP_DOCTORS"
    NIHII_PSYCH_HOUSE = "NIHII-PSYCH_HOUSE"
    NIHII_HOME_SERVICES = "NIHII-HOME_SERVICES"
    NIHII_GUARD_POST = "NIHII-GUARD_POST"
    CBE = "CBE"
    ESTABLISHMENT = "ESTABLISHMENT"
    HCO = "HCO"
    EHP = "EHP"
    ASSOCIATION_MEMBER = "ASSOCIATION-MEMBER"


@dataclass(frozen=True)
class NihiiNumber:
    """An 11-digit NIHII professional number; ``verified`` when it passes the mod-97 check.

    Failing that check does not make a number wrong: since 2013 (nurses, midwives) and 2019
    (physicians) numbers are issued under an unpublished "modulo 89" rule instead.
    """

    value: str
    verified: bool

    @property
    def person(self) -> str:
        """The first 8 digits: the person, for a whole career."""
        return self.value[:8]

    @property
    def qualification(self) -> str:
        """The last 3 digits: the qualification, which changes with recognitions."""
        return self.value[8:]


_SEPARATORS = re.compile(r"[\s./-]")
_NIHII_ORG_TYPE = re.compile(r"NIHII-[A-Z][A-Z_]*")
_TYPE_NAME = re.compile(r"[A-Z][A-Z_-]{0,39}")
_ASSOCIATION = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SSIN_PROBLEMS = (  # most specific first: InvalidLength is an InvalidFormat
    (InvalidLength, "SSIN must have 11 digits"),
    (InvalidChecksum, "SSIN failed its check digits"),
    (InvalidComponent, "SSIN encodes an impossible birth month"),
)


def normalize_enterprise_number(raw: str) -> str:
    """KBO/BCE enterprise number as 10 digits.

    Accepts ``0403.019.261``, ``0403 019 261``, ``BE0403019261`` and old 9-digit ``403019261``.
    """
    _require_text(raw, "CBE enterprise number")
    try:
        number: str = _vat.validate(raw)
    except ValidationError as exc:
        raise IdentifierError(f"CBE enterprise number is invalid: {exc}") from None
    if not _mod97(number[:8], number[8:]):  # stdnum also lets check digits 00 stand for 97
        raise IdentifierError("CBE enterprise number failed its check digits")
    return number


def format_enterprise_number(raw: str) -> str:
    """An enterprise number in its usual written form, ``0403.019.261``."""
    number = normalize_enterprise_number(raw)
    return f"{number[:4]}.{number[4:7]}.{number[7:]}"


def normalize_establishment_number(raw: str) -> str:
    """Establishment unit number as 10 digits, first digit 2-8, mod-97 check as for enterprises."""
    number = _digits(raw, "establishment unit number", 10)
    if number[0] not in "2345678":
        raise IdentifierError("establishment unit number must start with a digit from 2 to 8")
    if not _mod97(number[:8], number[8:]):
        raise IdentifierError("establishment unit number failed its check digits")
    return number


def normalize_ssin(raw: str) -> str:
    """SSIN/INSZ (national register or BIS number) as 11 digits, checked by stdnum.be.ssn.

    stdnum accepts the 2000s check-digit variant only for birth years up to the current year,
    so a number's validity can change when the calendar year changes.
    """
    _require_text(raw, "SSIN")
    if _plainly_valid_ssin(raw):
        return raw
    try:
        return str(_ssn.validate(raw))
    except ValidationError as exc:
        problems = (text for kind, text in _SSIN_PROBLEMS if isinstance(exc, kind))
        raise IdentifierError(next(problems, "SSIN must be 11 digits")) from None


def _plainly_valid_ssin(raw: str) -> bool:
    """Whether ``raw`` is an SSIN that stdnum accepts as it is, as most are written: 11 ASCII
    digits, a national number's month (0-12) or a BIS number's (20-32, 40-52), check digits
    right for a birth in the 1900s. Such a number passes every test of ``stdnum.be.ssn``
    (which cleans nothing off it, and tries the 2000s only when the 1900s fail), found
    without stdnum's cleaning and date arithmetic; every other number goes to stdnum."""
    if len(raw) != 11 or not raw.isascii() or not raw.isdigit() or int(raw) == 0:
        return False
    month = int(raw[2:4])
    return ((month <= 12 or 20 <= month <= 32 or 40 <= month <= 52)
            and 97 - int(raw[:9]) % 97 == int(raw[9:]))


def hash_ssin(ssin: str, secret: bytes | str, *, normalized: bool = False) -> str:
    """Pseudonymise an SSIN: HMAC-SHA256 (hex) of its normalised form under ``secret``
    (``normalized``: ``ssin`` is what :func:`normalize_ssin` returned; not checked again)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("hashing an SSIN needs a non-empty secret")
    number = ssin if normalized else normalize_ssin(ssin)
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()


def parse_nihii(raw: str) -> NihiiNumber:
    """An 11-digit NIHII professional number; a failed mod-97 check gives ``verified=False``."""
    number = _digits(raw, "NIHII number", 11)
    return NihiiNumber(number, verified=_mod97(number[:6], number[6:8]))


def parse_nihii_org(raw: str) -> str:
    """An 8-digit NIHII organisation number (hospital, pharmacy, ...)."""
    return _digits(raw, "NIHII organisation number", 8)


def normalize_hco(raw: str) -> str:
    """CoBRHA HCO number: digits, zero-padded to 9 (``12345`` -> ``000012345``)."""
    number = _SEPARATORS.sub("", _require_text(raw, "HCO number"))
    if not re.fullmatch(r"[0-9]{1,9}", number):
        raise IdentifierError("HCO number must be 1 to 9 digits")
    return number.zfill(9)


def normalize_identifier(type: str, value: str) -> tuple[str, str]:
    """Check and normalise a (type, value) pair; the type is matched case-insensitively.

    Raises IdentifierError for an unknown type or a value that fails its type's rules. For
    NIHII this keeps the number even if unverified; use parse_nihii to learn which.
    """
    kind = _require_text(type, "identifier type").strip().upper()
    parser = _PARSERS.get(kind)
    if parser is None and _NIHII_ORG_TYPE.fullmatch(kind):
        parser = parse_nihii_org
    if parser is None:  # echo only what looks like a type name, in case a value was swapped in
        shown = f" {kind!r}" if _TYPE_NAME.fullmatch(kind) else ""
        raise IdentifierError(f"unknown identifier type{shown}")
    return kind, parser(value)


def _require_text(raw: object, what: str) -> str:
    if not isinstance(raw, str):
        raise IdentifierError(f"{what} must be given as text, not {type(raw).__name__}")
    return raw


def _digits(raw: str, what: str, length: int) -> str:
    if isinstance(raw, str) and len(raw) == length and raw.isascii() and raw.isdigit():
        return raw  # as most are written: nothing to drop, nothing to check
    number = _SEPARATORS.sub("", _require_text(raw, what))
    if not re.fullmatch(f"[0-9]{{{length}}}", number):
        raise IdentifierError(f"{what} must be {length} digits (separators allowed)")
    return number


def _mod97(body: str, check: str) -> bool:
    return int(check) == 97 - int(body) % 97


def _nihii_value(raw: str) -> str:
    return parse_nihii(raw).value


def _nihii_person(raw: str) -> str:
    return _digits(raw, "NIHII person number", 8)


def _ehp(raw: str) -> str:
    return _digits(raw, "EHP number", 10)


def _ssin_hash(raw: str) -> str:
    value = _require_text(raw, "SSIN hash").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise IdentifierError("SSIN hash must be 64 hexadecimal characters")
    return value


def _association_member(raw: str) -> str:
    association, colon, member = _require_text(raw, "association member").partition(":")
    association, member = association.strip().lower(), member.strip()
    if not colon or not _ASSOCIATION.fullmatch(association) or not re.fullmatch(r"\S+", member):
        raise IdentifierError("association member must read 'association:member'")
    return f"{association}:{member}"


_PARSERS: dict[str, Callable[[str], str]] = {
    IdentifierType.SSIN: normalize_ssin,
    IdentifierType.SSIN_HASH: _ssin_hash,
    IdentifierType.NIHII: _nihii_value,
    IdentifierType.NIHII_PERSON: _nihii_person,
    IdentifierType.CBE: normalize_enterprise_number,
    IdentifierType.ESTABLISHMENT: normalize_establishment_number,
    IdentifierType.HCO: normalize_hco,
    IdentifierType.EHP: _ehp,
    IdentifierType.ASSOCIATION_MEMBER: _association_member,
}
