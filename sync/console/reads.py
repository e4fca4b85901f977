"""What the console's pages read from PostgreSQL, named once, here. Nothing here writes, and
nothing returns an SSIN or its hash."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sync.store.conflicts import Conn

__all__ = [
    "PROTECTED_TYPES",
    "applied_per_minute",
    "display_name",
    "fiche_history",
    "fiche_links",
    "fiche_visible",
    "localized",
    "pinned_since",
    "search_fiches",
]

#: Identifier types never shown on a page.
PROTECTED_TYPES = ("SSIN", "SSIN-HASH")
SEARCH_LIMIT = 50

#: Any visible string value (names, municipalities, profession labels) or any shown
#: identifier (NIHII, CBE, ...) that holds the text; digits alone also match identifiers
#: written with dots or spaces (0123.456.789).
SEARCH = """
SELECT f.id, f.kind, f.status, f.visible FROM fiche f
WHERE EXISTS (SELECT 1 FROM jsonb_path_query(f.visible, 'strict $.**') AS v(item)
              WHERE jsonb_typeof(v.item) = 'string' AND v.item #>> '{}' ILIKE $1)
   OR EXISTS (SELECT 1 FROM fiche_identifier i
              WHERE i.fiche_id = f.id AND i.type <> ALL($3::text[])
                AND (i.value ILIKE $1 OR ($2 <> '' AND regexp_replace(i.value, '\\D', '', 'g')
                                          LIKE $2 || '%')))
ORDER BY f.kind, f.id LIMIT $4
"""
#: Newest first; ``before``: the values each version replaced, of the fields it changed
#: (NULL: not known, a version older than migration 0018 whose snapshots were gone).
HISTORY = """
SELECT version, event_type, changed_fields, cause_source, cause_event_id, recorded_at, before
FROM fiche_history WHERE fiche_id = $1 ORDER BY version DESC LIMIT 200
"""
LINKS = """
SELECT source, record_id, score, linked_by, linked_at, split_into, split_by, split_at
FROM match_link WHERE fiche_id = $1 ORDER BY linked_at
"""
VISIBLE = "SELECT kind, status, visible FROM fiche WHERE id = $1"
PINNED_SINCE = """
SELECT fiche_id, field, pinned_at, reason FROM pin
WHERE (fiche_id, field) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
"""
#: Counted per event source and minute by the apply transaction (migration 0019).
APPLIED_PER_MINUTE = """
SELECT source, floor(EXTRACT(EPOCH FROM date_trunc('minute', now()) - minute) / 60)::int
       AS minutes_ago, sum(updates) AS n
FROM apply_count WHERE minute > date_trunc('minute', now()) - make_interval(mins => $1)
GROUP BY 1, 2
"""


def localized(value: Any) -> str:
    """A text as the directory shows it: a name given per language (``{"nl": ...}``) in
    Dutch, else French, else German, else any."""
    if isinstance(value, dict):
        for language in ("nl", "fr", "de"):
            if value.get(language):
                return str(value[language])
        return next((str(v) for v in value.values() if v), "")
    return "" if value is None else str(value)


def display_name(kind: str, visible: dict[str, Any]) -> str:
    """How a fiche names itself on a page."""
    if kind == "person":
        name = " ".join(localized(visible.get(k)) for k in ("name.first", "name.last")).strip()
    else:
        name = localized(visible.get("name") or visible.get("practiceName"))
    return name or "—"


async def search_fiches(conn: Conn, text: str) -> list[dict[str, Any]]:
    """Fiches whose visible values or shown identifiers hold ``text``."""
    like = "%" + re.sub(r"([%_\\])", r"\\\1", text.strip()) + "%"
    digits = re.sub(r"\D", "", text) if len(re.sub(r"\D", "", text)) >= 4 else ""
    rows = await conn.fetch(SEARCH, like, digits, list(PROTECTED_TYPES), SEARCH_LIMIT)
    out = []
    for row in rows:
        visible = json.loads(row["visible"])
        out.append({"id": row["id"], "kind": row["kind"], "status": row["status"],
                    "name": display_name(row["kind"], visible), "visible": visible})
    return out


async def fiche_visible(conn: Conn, fiche_id: uuid.UUID) -> dict[str, Any] | None:
    """A fiche's kind, status, visible values and display name (for the match page)."""
    row = await conn.fetchrow(VISIBLE, fiche_id)
    if row is None:
        return None
    visible = json.loads(row["visible"])
    return {"kind": row["kind"], "status": row["status"], "visible": visible,
            "name": display_name(row["kind"], visible)}


async def fiche_history(conn: Conn, fiche_id: uuid.UUID) -> list[dict[str, Any]]:
    """Versions, newest first, each with its changed fields as before -> after.

    Walked back from the fiche's visible values: a version's values after are the values
    before the next version that changed the field (or the fiche's own); its values before
    are what it recorded it replaced."""
    visible_row = await conn.fetchrow(VISIBLE, fiche_id)
    values: dict[str, Any] = json.loads(visible_row["visible"]) if visible_row else {}
    unknown: set[str] = set()
    out = []
    for row in await conn.fetch(HISTORY, fiche_id):
        before = None if row["before"] is None else json.loads(row["before"])
        changes = []
        for name in row["changed_fields"]:
            known = before is not None and name not in unknown
            changes.append({"field": name, "before": (before or {}).get(name),
                            "after": values.get(name) if known else None, "known": known})
            if before is None:
                unknown.add(name)
            elif name in before:
                values[name] = before[name]
            else:
                values.pop(name, None)
        item = dict(row)
        del item["before"]
        out.append({**item, "changes": changes})
    return out


async def fiche_links(conn: Conn, fiche_id: uuid.UUID) -> list[dict[str, Any]]:
    """Records linked to the fiche by matching (what a split can undo)."""
    return [dict(row) for row in await conn.fetch(LINKS, fiche_id)]


async def pinned_since(conn: Conn, keys: list[tuple[uuid.UUID, str]],
                       ) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """When each (fiche, field) was pinned, and why."""
    rows = await conn.fetch(PINNED_SINCE, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["fiche_id"], r["field"]): {"at": r["pinned_at"], "reason": r["reason"]}
            for r in rows}


async def applied_per_minute(conn: Conn, minutes: int) -> dict[str, list[int]]:
    """Per event source, updates applied in each of the last ``minutes`` minutes, oldest
    first."""
    series: dict[str, list[int]] = {}
    for row in await conn.fetch(APPLIED_PER_MINUTE, minutes):
        counts = series.setdefault(row["source"], [0] * minutes)
        index = minutes - 1 - row["minutes_ago"]
        if 0 <= index < minutes:
            counts[index] += int(row["n"])
    return series
