"""The fields a provider sees and keeps: which they may edit, how a typed value is checked and
normalised, and where the others are changed. Pure.

What a provider may edit follows the survivorship policy: a field whose group is kept by an
authentic source (CoBRHA for names, professions and licence; the KBO for an organisation's
legal data) is shown read-only with where to change it, whatever the policy lets an editor do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import JsonValue

from sync import geo

__all__ = [
    "EDITABLE",
    "KEPT_ELSEWHERE",
    "EditableField",
    "FieldError",
    "as_text",
    "changes_from",
    "parse_value",
]


class FieldError(ValueError):
    """A typed value that cannot be kept; the message is shown next to the field."""


Parser = Callable[[str], JsonValue]


@dataclass(frozen=True)
class EditableField:
    """One field of the provider's form: its name in the policy, its label and its input."""

    name: str
    label: str
    input: str  # text, email, url, tel, textarea, lines, choice
    hint: str = ""


EDITABLE: tuple[EditableField, ...] = (
    EditableField("practiceName", "Practice name", "text"),
    EditableField("contact.phone", "Phone", "tel", "Such as 055 12 34 56 or +32 55 12 34 56"),
    EditableField("contact.email", "E-mail", "email"),
    EditableField("contact.website", "Website", "url", "Such as https://www.example.be"),
    EditableField("openingHours", "Opening hours", "textarea", "Such as: mon-fri 9-17"),
    EditableField("languages", "Languages", "lines", "One per line: nl, fr, de, en ..."),
    EditableField("acceptsNewClients", "Accepts new clients", "choice"),
    EditableField("targetGroups", "Target groups", "lines", "One per line"),
    EditableField("specialisations", "Specialisations", "lines", "One per line"),
    EditableField("serviceArea", "Service area", "lines",
                  "One municipality per line (name or NIS code)"),
    EditableField("accessibility", "Accessibility", "textarea",
                  "Such as: step-free entrance, accessible toilet"),
)

#: Policy groups kept by an authentic source -> where a provider has them changed.
KEPT_ELSEWHERE = {
    "identity": "Kept by RIZIV/INAMI: have it changed there; it reaches the Sociale Kaart "
                "through CoBRHA.",
    "registration": "Professions and licence are kept by RIZIV/INAMI and FOD "
                    "Volksgezondheid: have them changed there; they reach the Sociale Kaart "
                    "through CoBRHA.",
    "organisation": "The legal name, legal form and status are kept by the KBO (Crossroads "
                    "Bank for Enterprises): have them changed there, through an enterprise "
                    "counter.",
    "recognitions": "Recognitions are kept by the recognising authority: they reach the "
                    "Sociale Kaart through CoBRHA.",
}
MAX_TEXT = 500
MAX_ITEMS = 50
_LANGUAGE = re.compile(r"[a-z]{2}")


def _text(raw: str) -> JsonValue:
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise FieldError(f"At most {MAX_TEXT} characters.")
    return text or None


def _phone(raw: str) -> JsonValue:
    """Normalised to E.164; a number without a country code is taken as Belgian."""
    if not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, "BE")
    except phonenumbers.NumberParseException:
        raise FieldError("This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError("This phone number does not exist; check its digits and prefix.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(raw: str) -> JsonValue:
    if not raw.strip():
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError("This is not an e-mail address (such as name@example.be).") from None


def _url(raw: str) -> JsonValue:
    """A web address; ``www.example.be`` is taken as ``https://www.example.be``."""
    text = raw.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or "." not in host or " " in text
            or len(text) > MAX_TEXT):
        raise FieldError("This is not a web address (such as https://www.example.be).")
    return text


def _lines(raw: str) -> list[str]:
    items = [line.strip() for line in re.split(r"[\n;]", raw) if line.strip()]
    if len(items) > MAX_ITEMS or any(len(item) > 200 for item in items):
        raise FieldError(f"At most {MAX_ITEMS} lines of 200 characters.")
    return list(dict.fromkeys(items))


def _texts(raw: str) -> JsonValue:
    return list(_lines(raw)) or None


def _languages(raw: str) -> JsonValue:
    items = [item.lower() for item in _lines(raw.replace(",", "\n"))]
    wrong = [item for item in items if not _LANGUAGE.fullmatch(item)]
    if wrong:
        raise FieldError("Give languages as two-letter codes: nl, fr, de, en ...")
    return list(dict.fromkeys(items)) or None


def _service_area(raw: str) -> JsonValue:
    """Each municipality placed by name or NIS code, sorted by name (as associations give)."""
    found: dict[str, dict[str, JsonValue]] = {}
    for item in _lines(raw):
        placement = geo.resolve_service_area(item)
        if not placement.placed or placement.nis is None:
            raise FieldError("A municipality here is unknown: give its name or NIS code, "
                             "one per line.")
        found[placement.nis] = {"nis": placement.nis,
                                "name": placement.municipality_nl or item, "placed": True}
    ordered = sorted(found.values(), key=lambda a: (str(a["name"]), str(a["nis"])))
    return list(ordered) or None


def _choice(raw: str) -> JsonValue:
    return {"yes": True, "no": False}.get(raw.strip())


PARSERS: dict[str, Parser] = {
    "contact.phone": _phone, "contact.email": _email, "contact.website": _url,
    "languages": _languages, "targetGroups": _texts, "specialisations": _texts,
    "serviceArea": _service_area, "acceptsNewClients": _choice,
}


def parse_value(name: str, raw: str) -> JsonValue:
    """The value to keep for what was typed in field ``name`` (None: no value)."""
    return PARSERS.get(name, _text)(raw)


def as_text(name: str, value: JsonValue) -> str:
    """A stored value as the form shows it (the inverse of :func:`parse_value`)."""
    if value is None:
        return ""
    if name == "acceptsNewClients":
        return "yes" if value is True else "no" if value is False else ""
    if name == "serviceArea" and isinstance(value, list):
        return "\n".join(str(a.get("name", "")) if isinstance(a, dict) else str(a)
                         for a in value)
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


def changes_from(
    typed: dict[str, str], visible: dict[str, JsonValue], allowed: set[str],
) -> tuple[dict[str, JsonValue], dict[str, str]]:
    """From what was typed: the changed values to publish, and the errors by field.

    Only fields in ``allowed`` count; a field whose value is what the fiche shows is no
    change. Errors leave nothing to publish for their field (the form shows them).
    """
    changes: dict[str, JsonValue] = {}
    errors: dict[str, str] = {}
    for item in EDITABLE:
        if item.name not in allowed or item.name not in typed:
            continue
        try:
            value = parse_value(item.name, typed[item.name])
        except FieldError as error:
            errors[item.name] = str(error)
            continue
        if value != visible.get(item.name):
            changes[item.name] = value
    return changes, errors
