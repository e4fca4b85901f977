"""Read-side queries for operators (the CLI and status): named once, here."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

__all__ = ["Conn", "counts", "fiche_report", "ids_between"]

#: A connection, or one of a pool.
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

FICHE = "SELECT * FROM fiche WHERE id = $1"
FICHE_BY_IDENTIFIER = "SELECT fiche_id FROM fiche_identifier WHERE type = $1 AND value = $2"
IDENTIFIERS = "SELECT type, value FROM fiche_identifier WHERE fiche_id = $1 ORDER BY type, value"
#: ``field_value`` is a view (migration 0020): a row per value of each record's ``source_record``.
PROVENANCE = """
SELECT field, source, record_id, value, source_version, observed_at, verified_at, as_given
FROM field_value WHERE fiche_id = $1 ORDER BY field, source, record_id
"""
PINS = "SELECT * FROM pin WHERE fiche_id = $1 ORDER BY field"
CONFLICTS = "SELECT * FROM conflict WHERE fiche_id = $1 ORDER BY raised_at"
#: Ids in a range, for an id given by its start (a uuid's order is its hex text's order, so the
#: primary key's index answers); two are enough to know it is ambiguous.
IDS_BETWEEN = {
    table: f"SELECT id FROM {table} WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT 2"  # noqa: S608 -- table names from the literal tuple below, never input
    for table in ("conflict", "match_candidate", "fiche")
}
COUNTS = """
SELECT (SELECT count(*) FROM fiche) AS fiches,
       (SELECT count(*) FROM fiche WHERE version > 1) AS updated_fiches,
       (SELECT count(*) FROM fiche_history) AS versions,
       (SELECT count(*) FROM outbox) AS unsent,
       (SELECT coalesce(sum(updates), 0) FROM apply_count) AS updates_seen,
       (SELECT count(*) FROM conflict WHERE status = 'open') AS open_conflicts
"""


async def resolve_fiche_id(conn: Conn, ref: str) -> uuid.UUID | None:
    """A fiche id from a UUID or a ``TYPE:VALUE`` identifier (``NIHII-PERSON:18749704``).
    (A start of an id is the CLI's matter: :func:`sync.ops.ids.resolve_id`.)"""
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    kind, _, value = ref.partition(":")
    found: uuid.UUID | None = await conn.fetchval(FICHE_BY_IDENTIFIER, kind.upper(), value)
    return found


async def fiche_report(conn: asyncpg.Connection, fiche_id: uuid.UUID) -> dict[str, Any] | None:
    """The fiche as an editor sees it: visible values, and per field where they came from."""
    row = await conn.fetchrow(FICHE, fiche_id)
    if row is None:
        return None
    provenance: dict[str, list[dict[str, Any]]] = {}
    for item in await conn.fetch(PROVENANCE, fiche_id):
        provenance.setdefault(item["field"], []).append({
            "source": item["source"], "record": item["record_id"],
            "value": json.loads(item["value"]), "sourceVersion": item["source_version"],
            "observedAt": item["observed_at"].isoformat(),
            "verifiedAt": item["verified_at"].isoformat() if item["verified_at"] else None,
            **({"asGiven": json.loads(item["as_given"])} if item["as_given"] else {}),
        })
    pins = {p["field"]: {"value": json.loads(p["value"]), "author": p["author"],
                         "role": p["role"], "reason": p["reason"],
                         "pinnedAt": p["pinned_at"].isoformat()}
            for p in await conn.fetch(PINS, fiche_id)}
    conflicts = [{"id": str(c["id"]), "field": c["field"], "candidate": json.loads(c["candidate"]),
                  "source": c["source"], "status": c["status"]}
                 for c in await conn.fetch(CONFLICTS, fiche_id)]
    visible = json.loads(row["visible"])
    return {
        "id": str(fiche_id), "kind": row["kind"], "version": row["version"],
        "status": row["status"], "inactiveReason": row["inactive_reason"],
        "identifiers": [
            {"type": i["type"], "value": i["value"]}
            for i in await conn.fetch(IDENTIFIERS, fiche_id) if i["type"] != "SSIN-HASH"],
        "visible": visible, "provenance": provenance, "pins": pins,
        "conflicts": conflicts, "related": await _related(conn, visible),
    }


async def _related(conn: asyncpg.Connection, visible: dict[str, Any]) -> dict[str, str | None]:
    """Links to other fiches, resolved now: ``practiceOf`` names the person (by identifier)
    whose individual practice this is; None while no fiche holds that identifier."""
    link = visible.get("practiceOf")
    if not isinstance(link, dict):
        return {}
    found = await conn.fetchval(FICHE_BY_IDENTIFIER, link.get("type"), link.get("value"))
    return {"practiceOf": str(found) if found else None}


async def ids_between(
    conn: Conn, table: str, low: uuid.UUID, high: uuid.UUID,
) -> list[uuid.UUID]:
    """At most two ids of ``table`` (conflict, match_candidate or fiche) from low to high."""
    return [row["id"] for row in await conn.fetch(IDS_BETWEEN[table], low, high)]


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows of the main tables, for a summary (``unsent``: events waiting in the outbox; a
    published one is no longer there, so what was emitted is counted on the topics)."""
    row = await conn.fetchrow(COUNTS)
    assert row is not None  # an aggregate query always returns one row
    return {key: int(value) for key, value in row.items()}
