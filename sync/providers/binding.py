"""Which fiches a provider may keep: those holding the identifier they signed in with. Pure.

An individual signs in with their NIHII (RIZIV/INAMI) number: the 11-digit number or its first
8 digits, which name the person for a whole career (the last 3 are a qualification that
changes). An organisation signs in with its enterprise number (CBE, KBO) or one of its
establishment unit numbers. The binding is the identifier, not a list of fiches: the fiches
it reaches are looked up on every request, so a number that leaves a fiche stops opening it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync import identifiers as ids

__all__ = ["KINDS", "Binding", "BindingError", "binding_of"]

#: What a provider chooses on the sign-in page -> the fiche identifier type it binds.
KINDS: dict[str, str] = {"nihii": "NIHII-PERSON", "cbe": "CBE", "establishment": "ESTABLISHMENT"}
_SEPARATORS = re.compile(r"[\s./-]")


class BindingError(ValueError):
    """The number given cannot be a number of the chosen kind (the message says why)."""


@dataclass(frozen=True)
class Binding:
    """The identifier a provider signed in with, normalised (``NIHII-PERSON``/``12345678``)."""

    type: str
    value: str

    @property
    def label(self) -> str:
        """How the page names who is signed in."""
        return f"{self.type} {self.value}"


def binding_of(kind: str, number: str) -> Binding:
    """The binding for ``number`` of ``kind`` (``nihii``, ``cbe`` or ``establishment``)."""
    type_ = KINDS.get(kind)
    if type_ is None:
        raise BindingError("Choose what kind of number this is.")
    text = number.strip()[:40]
    if not text:
        raise BindingError("Enter your number.")
    if type_ == "NIHII-PERSON":
        return Binding(type_, _nihii_person(text))
    try:
        return Binding(*ids.normalize_identifier(type_, text))
    except ids.IdentifierError as error:
        raise BindingError(_message(type_, error)) from None


def _nihii_person(text: str) -> str:
    """The person part of an 11-digit NIHII number, or an 8-digit person number as is."""
    digits = _SEPARATORS.sub("", text)
    if re.fullmatch(r"[0-9]{11}", digits):
        return ids.parse_nihii(digits).person
    if re.fullmatch(r"[0-9]{8}", digits):
        return digits
    raise BindingError("A NIHII (RIZIV/INAMI) number has 11 digits (or give its first 8).")


def _message(type_: str, error: ids.IdentifierError) -> str:
    if type_ == "CBE":
        return "This is not a valid enterprise number (10 digits, such as 0403.019.261)."
    return "This is not a valid establishment unit number (10 digits, starting with 2 to 8)."
