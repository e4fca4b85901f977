"""Conflicts as an operator sees them: read-only queries, named once, here.

Resolving a conflict is not a write here: it is an event on the manual-edit topic, applied by
the service like any other update (see :mod:`sync.ops.conflicts`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

__all__ = ["ConflictRow", "Conn", "conflict_by_id", "count_open_conflicts", "fiche_exists",
           "open_conflicts"]

_SELECT = """
SELECT c.id, c.fiche_id, c.field, c.candidate, c.source, c.record_id, c.status, c.raised_at,
       p.value AS pinned_value, p.author AS pinned_by
FROM conflict c LEFT JOIN pin p ON p.fiche_id = c.fiche_id AND p.field = c.field
"""
OPEN_CONFLICTS = _SELECT + """
WHERE c.status = 'open' AND ($1::uuid IS NULL OR c.fiche_id = $1)
ORDER BY c.raised_at, c.id
LIMIT $2
"""
CONFLICT_BY_ID = _SELECT + "WHERE c.id = $1"
COUNT_OPEN = "SELECT count(*) FROM conflict WHERE status = 'open'"
FICHE_EXISTS = "SELECT EXISTS (SELECT 1 FROM fiche WHERE id = $1)"

#: A connection of its own, or one borrowed from the service's pool.
Conn: TypeAlias = "asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"


@dataclass(frozen=True)
class ConflictRow:
    """A conflict with the pin it stands against (``pinned`` is None once the pin is gone)."""

    id: uuid.UUID
    fiche_id: uuid.UUID
    field: str
    candidate: Any
    source: str
    record_id: str
    status: str
    raised_at: datetime
    pinned: Any
    pinned_by: str | None

    def as_json(self) -> dict[str, Any]:
        """The row as ``--json`` prints it (camelCase, like the service's events)."""
        return {
            "id": str(self.id), "ficheId": str(self.fiche_id), "field": self.field,
            "candidate": self.candidate, "current": self.pinned, "pinnedBy": self.pinned_by,
            "source": self.source, "recordId": self.record_id, "status": self.status,
            "raisedAt": self.raised_at.isoformat(),
        }


def _row(record: asyncpg.Record) -> ConflictRow:
    pinned = record["pinned_value"]
    return ConflictRow(
        id=record["id"], fiche_id=record["fiche_id"], field=record["field"],
        candidate=json.loads(record["candidate"]), source=record["source"],
        record_id=record["record_id"], status=record["status"], raised_at=record["raised_at"],
        pinned=None if pinned is None else json.loads(pinned), pinned_by=record["pinned_by"],
    )


async def open_conflicts(
    conn: Conn, fiche_id: uuid.UUID | None = None, limit: int = 500,
) -> list[ConflictRow]:
    """Open conflicts, oldest first, of one fiche or of all."""
    return [_row(record) for record in await conn.fetch(OPEN_CONFLICTS, fiche_id, limit)]


async def conflict_by_id(conn: Conn, conflict_id: uuid.UUID) -> ConflictRow | None:
    """One conflict whatever its status, or None when there is no such conflict."""
    record = await conn.fetchrow(CONFLICT_BY_ID, conflict_id)
    return None if record is None else _row(record)


async def count_open_conflicts(conn: Conn) -> int:
    """How many conflicts wait for an editor."""
    return int(await conn.fetchval(COUNT_OPEN))


async def fiche_exists(conn: Conn, fiche_id: uuid.UUID) -> bool:
    """Whether there is a fiche ``fiche_id`` (a well-formed id may still name nothing)."""
    return bool(await conn.fetchval(FICHE_EXISTS, fiche_id))
