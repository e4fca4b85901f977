"""A fiche event -> the search document of that fiche version. Pure.

Only events that carry a snapshot (``created``, ``updated``, ``deactivated``, ...) change a
document; ``linked`` and ``unlinked`` say which records describe a fiche and are followed by a
snapshot event of their own when a visible value changes. The document is the whole public
snapshot made searchable; the fiche version becomes the document's external version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sync.search import places
from sync.search.vocabulary import category, organisation_labels

__all__ = ["FICHE_EVENT_PREFIX", "IndexAction", "index_action"]

FICHE_EVENT_PREFIX = "be.socialekaart.fiche."


@dataclass(frozen=True)
class IndexAction:
    """Put ``document`` as version ``version`` of fiche ``fiche_id``."""

    fiche_id: str
    version: int
    document: dict[str, Any]


def index_action(event: dict[str, Any]) -> IndexAction | None:
    """The action a fiche event asks for, or None for an event without a snapshot."""
    data = event.get("data")
    if not str(event.get("type", "")).startswith(FICHE_EVENT_PREFIX) or not isinstance(data, dict):
        return None
    snapshot = data.get("snapshot")
    if not isinstance(snapshot, dict):
        return None
    fiche_id, version = str(data["ficheId"]), int(data["version"])
    return IndexAction(fiche_id, version, _document(data, snapshot))


def _document(data: dict[str, Any], snap: dict[str, Any]) -> dict[str, Any]:
    kind = str(data["kind"])
    types = [str(code) for code in snap.get("organisationTypes") or ()]
    addresses = [a for a in snap.get("addresses") or () if isinstance(a, dict)]
    nis = _unique(str(a["nis"]) for a in addresses if a.get("nis"))
    served = _unique(str(a["nis"]) for a in snap.get("serviceArea") or ()
                     if isinstance(a, dict) and a.get("nis"))
    professions = [p for key in ("professions", "declaredProfessions")
                   for p in snap.get(key) or () if isinstance(p, dict)]
    location = next(filter(None, (places.centroid(code) for code in nis)), None)
    return {
        "ficheId": str(data["ficheId"]), "version": int(data["version"]), "kind": kind,
        "status": str(data["status"]), "name": _display_name(kind, snap),
        "names": _unique(_texts([snap.get("name"), snap.get("practiceName")])),
        "professions": _unique(_texts([[p.get("nl"), p.get("fr")] for p in professions])),
        "professionCodes": _unique(str(p["code"]) for p in professions if p.get("code")),
        "organisationTypes": types, "organisationLabels": organisation_labels(types),
        "category": category(kind, types, _display_name(kind, snap)),
        "about": _unique(_texts([snap.get(key) for key in (
            "description", "specialisations", "targetGroups", "activities")])),
        "languages": _unique(_texts(snap.get("languages"))),
        "municipalities": _unique(name for code in [*nis, *served]
                                  for name in places.place_names(code)),
        "nis": nis, "serviceAreaNis": served,
        "location": None if location is None else {"lat": location[0], "lon": location[1]},
        "addresses": [_address_line(a) for a in addresses],
        "contact": {key.split(".", 1)[1]: snap[key] for key in
                    ("contact.phone", "contact.email", "contact.website") if snap.get(key)},
    }


def _display_name(kind: str, snap: dict[str, Any]) -> str:
    if kind == "person":
        return " ".join(str(snap[k]) for k in ("name.first", "name.last") if snap.get(k))
    return next(_texts([snap.get("name"), snap.get("practiceName")]), "")


def _address_line(address: dict[str, Any]) -> str:
    street = " ".join(str(address[k]) for k in ("street", "houseNumber") if address.get(k))
    place = " ".join(str(address[k]) for k in ("postcode", "municipality") if address.get(k))
    return ", ".join(part for part in (street, place) if part)


def _texts(value: Any) -> Iterator[str]:
    """Every non-empty string in a JSON value (Dutch before French in a ``{nl, fr}`` map)."""
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, dict):
        for key in sorted(value, key=lambda k: (k != "nl", k)):
            yield from _texts(value[key])
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
