"""PostgreSQL's own maintenance during a steady phase: which tables autovacuum vacuumed or
analysed while the phase ran, and for how many of its seconds one of them was under way; and
the checkpoints completed and the full-page images written meanwhile.

After an initial load, autovacuum works through the large tables (the inserts of the load pass
its thresholds) and takes a core of the machine for a while; the steady phase's latency tail
then has it behind it. Sampled once a second from ``pg_stat_progress_vacuum`` and
``pg_stat_progress_analyze`` on a connection of its own, bounded by the phase.

After a checkpoint begins, the first change of each page writes the whole page to the WAL (a
full-page image), so the same writes cost several times the WAL for a while: the server's
counters (``pg_stat_wal``, and ``pg_stat_checkpointer`` or, before PostgreSQL 17,
``pg_stat_bgwriter``) are read at the start and the end of the phase. They are the server's,
not the database's: the benchmark's run is what the server does meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

__all__ = ["Maintenance", "watch_maintenance"]

#: The server's WAL counters, and its checkpoints done, by the version's views.
_WAL = "SELECT wal_fpi, wal_bytes FROM pg_stat_wal"
_CHECKPOINTS = {17: "SELECT num_done FROM pg_stat_checkpointer",
                0: "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"}
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


async def _counters(conn: asyncpg.Connection) -> tuple[int, int, int] | None:
    """Full-page images, WAL bytes and checkpoints done so far; None where they cannot be read
    (a server too old, or a role without the views)."""
    version = conn.get_server_version().major
    try:
        wal = await conn.fetchrow(_WAL)
        done = await conn.fetchval(_CHECKPOINTS[17 if version >= 17 else 0])
    except asyncpg.PostgresError:
        return None
    if wal is None or done is None:
        return None
    return int(wal["wal_fpi"]), int(wal["wal_bytes"]), int(done)


@contextlib.asynccontextmanager
async def watch_maintenance(
    database_url: str, every_s: float = 1.0,
) -> AsyncIterator[dict[str, Any]]:
    """Samples while the block runs; on leaving, the dict it yielded holds the figures
    (:meth:`Maintenance.as_json`, and ``checkpoints``, ``wal_fpi`` and ``wal_bytes`` done
    meanwhile when the server's counters could be read), or ``{"error": ...}`` when the
    server could not be read."""
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

    start = await _counters(conn)
    task = asyncio.create_task(sample())
    try:
        yield found
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError, asyncpg.PostgresError):
            await task
        end = None
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            # The backends' counters reach the shared statistics within a second or so.
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            end = await _counters(conn)
        await conn.close(timeout=5)
        found.update(seen.as_json(every_s))
        if start is not None and end is not None:
            found.update(wal_fpi=end[0] - start[0], wal_bytes=end[1] - start[1],
                         checkpoints=end[2] - start[2])
