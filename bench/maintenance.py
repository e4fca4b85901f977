"""PostgreSQL's own maintenance during a steady phase: which tables autovacuum vacuumed or
analysed while the phase ran, and for how many of its seconds one of them was under way.

After an initial load, autovacuum works through the large tables (the inserts of the load pass
its thresholds) and takes a core of the machine for a while; the steady phase's latency tail
then has it behind it. Sampled once a second from ``pg_stat_progress_vacuum`` and
``pg_stat_progress_analyze`` on a connection of its own, bounded by the phase."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

__all__ = ["Maintenance", "watch_maintenance"]

_UNDER_WAY = """
SELECT 'vacuum' AS what, relid::regclass::text AS name FROM pg_stat_progress_vacuum
WHERE datname = current_database()
UNION ALL
SELECT 'analyze', relid::regclass::text FROM pg_stat_progress_analyze
WHERE datname = current_database()
"""


@dataclass
class Maintenance:
    """What the samples saw: per table and kind of work, the seconds it was seen under way."""

    samples: int = 0
    busy_samples: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # "vacuum fiche" -> samples

    def add(self, rows: list[tuple[str, str]]) -> None:
        self.samples += 1
        if rows:
            self.busy_samples += 1
        for what, name in rows:
            key = f"{what} {name}"
            self.seen[key] = self.seen.get(key, 0) + 1

    def as_json(self, every_s: float) -> dict[str, Any]:
        return {"sampled_s": round(self.samples * every_s, 1),
                "busy_s": round(self.busy_samples * every_s, 1),
                "tables_s": {key: round(n * every_s, 1) for key, n in
                             sorted(self.seen.items(), key=lambda item: -item[1])}}


@contextlib.asynccontextmanager
async def watch_maintenance(
    database_url: str, every_s: float = 1.0,
) -> AsyncIterator[dict[str, Any]]:
    """Samples while the block runs; on leaving, the dict it yielded holds the figures
    (:meth:`Maintenance.as_json`), or ``{"error": ...}`` when the server could not be read."""
    found: dict[str, Any] = {}
    seen = Maintenance()
    try:
        conn = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        found["error"] = f"{type(error).__name__}: {error}"
        yield found
        return

    async def sample() -> None:
        while True:
            rows = await conn.fetch(_UNDER_WAY)
            seen.add([(row["what"], row["name"]) for row in rows])
            await asyncio.sleep(every_s)

    task = asyncio.create_task(sample())
    try:
        yield found
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError, asyncpg.PostgresError):
            await task
        await conn.close(timeout=5)
        found.update(seen.as_json(every_s))
