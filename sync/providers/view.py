"""A fiche as its provider sees it: every visible value, where it comes from, and whether the
provider may change it here or elsewhere. Pure: the fiche report in, rows for the page out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from sync.events import FicheKind, Source
from sync.policy import Policy
from sync.providers.fields import EDITABLE, KEPT_ELSEWHERE, EditableField, as_text

__all__ = ["Row", "display", "editable_fields", "rows_of"]

SOURCE_LABELS = {
    "cobrha": "CoBRHA (RIZIV/INAMI, FOD Volksgezondheid)",
    "kbo": "KBO (Crossroads Bank for Enterprises)",
    "association": "your professional association",
    "manual": "the Sociale Kaart team",
    "provider": "you",
}
LABELS = {
    "name.first": "First name", "name.last": "Last name", "gender": "Gender",
    "professions": "Professions", "status": "Licence and status", "name": "Name",
    "enterpriseStatus": "Enterprise status", "legalForm": "Legal form",
    "recognitions": "Recognitions", "organisationTypes": "Kind of organisation",
    "addresses": "Addresses", "description": "Description", "activities": "Activities",
    "declaredProfessions": "Declared professions",
    **{item.name: item.label for item in EDITABLE},
}
#: Shown but changed on request only (structured, or the team's own wording).
ON_REQUEST = "Ask the Sociale Kaart team to change this."


@dataclass(frozen=True)
class Row:
    """One field on the provider's page."""

    name: str
    label: str
    value: str
    source: str
    since: str
    field: EditableField | None = None
    elsewhere: str = ""
    typed: str = ""
    error: str = ""


def editable_fields(kind: FicheKind, policy: Policy) -> list[EditableField]:
    """The fields a provider may edit on a fiche of ``kind``: editable by hand in the policy
    and not kept by an authentic source."""
    out = []
    for item in EDITABLE:
        rule = policy.rule(kind, item.name)
        if (rule is not None and rule.group not in KEPT_ELSEWHERE
                and policy.provider_may_edit(kind, item.name)):
            out.append(item)
    return out


def display(value: JsonValue) -> str:
    """A value as a person reads it: lists one item per line, objects by their label."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "\n".join(display(item) for item in value)
    if isinstance(value, dict) and ("street" in value or "postcode" in value):
        return _address(value)
    if isinstance(value, dict) and isinstance(value.get("active"), bool):
        return "active" if value["active"] else f"ended ({value.get('reason') or '?'})"
    if isinstance(value, dict):
        for key in ("label", "name", "nl", "text", "reason"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _address(value: dict[str, JsonValue]) -> str:
    """``Kerkstraat 12 bus 3, 9700 Oudenaarde``."""
    street = " ".join(str(value[k]) for k in ("street", "houseNumber") if value.get(k))
    if value.get("box"):
        street += f" bus {value['box']}"
    town = " ".join(str(value[k]) for k in ("postcode", "municipality") if value.get(k))
    return ", ".join(part for part in (street, town) if part)


def _source(name: str, report: dict[str, Any], policy: Policy, kind: FicheKind,
            me: str) -> tuple[str, str]:
    """Who gave the visible value of ``name``, and since when."""
    pin = report["pins"].get(name)
    if pin is not None:
        mine = pin["author"] == me and pin["role"] == "provider"
        return ("changed by you" if mine else "changed by the Sociale Kaart team",
                pin["pinnedAt"][:10])
    visible = report["visible"].get(name)
    rule = policy.rule(kind, name)
    entries = [e for e in report["provenance"].get(name, []) if e["value"] == visible]
    if not entries:
        return "", ""
    def rank(entry: dict[str, Any]) -> int:
        position = rule.rank(Source(entry["source"])) if rule else None
        return 99 if position is None else position
    best = min(entries, key=rank)
    return SOURCE_LABELS.get(best["source"], best["source"]), best["observedAt"][:10]


def rows_of(report: dict[str, Any], policy: Policy, me: str,
            typed: dict[str, str] | None = None,
            errors: dict[str, str] | None = None) -> list[Row]:
    """Every visible value and every editable field of the fiche in ``report``
    (:func:`sync.store.queries.fiche_report`); ``typed`` keeps what the provider typed."""
    kind = FicheKind(report["kind"])
    editable = {item.name: item for item in editable_fields(kind, policy)}
    names = [n for n in report["visible"] if n not in editable]
    rows = []
    for name in sorted(names, key=lambda n: (LABELS.get(n, n))):
        rule = policy.rule(kind, name)
        source, since = _source(name, report, policy, kind, me)
        elsewhere = KEPT_ELSEWHERE.get(rule.group, "") if rule else ""
        rows.append(Row(name, LABELS.get(name, name), display(report["visible"][name]), source,
                        since, elsewhere=elsewhere or ON_REQUEST))
    for name, item in editable.items():
        value = report["visible"].get(name)
        source, since = _source(name, report, policy, kind, me)
        shown = as_text(name, value)
        rows.append(Row(name, item.label, display(value), source, since, field=item,
                        typed=(typed or {}).get(name, shown), error=(errors or {}).get(name, "")))
    return rows
