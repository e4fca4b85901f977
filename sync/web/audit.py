"""One row per decision taken on a web page: who, when, what, on what, from which page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sync.store.conflicts import Conn

__all__ = ["audit", "audit_of", "recent_refusals"]

INSERT = """
INSERT INTO console_audit (user_name, action, target, page, detail)
VALUES ($1, $2, $3, $4, $5::jsonb)
"""
RECENT_REFUSALS = """
SELECT count(*) FROM console_audit
WHERE action = 'sign-in-refused' AND target = $1 AND at > now() - make_interval(mins => $2)
"""
OF_TARGETS = """
SELECT at, user_name, action, target, page, detail FROM console_audit
WHERE target = ANY($1::text[]) OR detail ->> 'fiche' = ANY($2::text[])
ORDER BY at DESC, id DESC LIMIT 100
"""


async def audit(conn: Conn, user: str, action: str, target: str, page: str,
                detail: dict[str, Any] | None = None) -> None:
    """Record a decision (``detail`` holds ids, outcomes and comments, never protected data)."""
    await conn.execute(INSERT, user, action, target, page[:300],
                       json.dumps(detail or {}, ensure_ascii=False))


async def audit_of(conn: Conn, targets: list[str], fiches: Sequence[str] = (),
                   ) -> list[dict[str, Any]]:
    """The latest decisions on any of ``targets`` or about any of ``fiches`` (their detail
    names the fiche), newest first."""
    return [{**dict(row), "detail": json.loads(row["detail"])}
            for row in await conn.fetch(OF_TARGETS, targets, list(fiches))]


async def recent_refusals(conn: Conn, target: str, minutes: int) -> int:
    """Refused sign-ins for ``target`` (``user:<name>``) in the last ``minutes``."""
    return int(await conn.fetchval(RECENT_REFUSALS, target, minutes))
