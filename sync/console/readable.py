"""Values as an editor reads them: an address as a line, a name in Dutch, a profession by its
label, rather than the JSON the directory stores."""

from __future__ import annotations

from typing import Any

from sync.console.reads import localized

__all__ = ["readable"]

LANGUAGES = ("nl", "fr", "de")


def _address(value: dict[str, Any]) -> str:
    street = " ".join(localized(value.get(k)) for k in ("street", "houseNumber")
                      if value.get(k)).strip()
    if value.get("box"):
        street += f" bus {value['box']}"
    town = " ".join(localized(value.get(k)) for k in ("postcode", "municipality")
                    if value.get(k)).strip()
    return ", ".join(part for part in (street, town) if part)


def _labelled(value: dict[str, Any]) -> str:
    """A coded entry (a profession, a recognition) by its Dutch label and its code."""
    label = localized({k: value.get(k) for k in LANGUAGES})
    code = value.get("code")
    extra = [f"{key} {readable(item)}" for key, item in value.items()
             if key in ("nihii", "licence") and item]
    return ", ".join([f"{label} ({code})" if code else label, *extra])


def readable(value: Any) -> str:
    """One line of text for any stored value (JSON-like), without protected data."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return "; ".join(readable(item) for item in value) or "—"
    if isinstance(value, dict):
        if "municipality" in value or "street" in value:
            return _address(value)
        if any(k in value for k in LANGUAGES) and set(value) <= set(LANGUAGES):
            return localized(value)
        if any(k in value for k in LANGUAGES):
            return _labelled(value)
        return ", ".join(f"{k}: {readable(v)}" for k, v in value.items() if v is not None)
    return str(value)
