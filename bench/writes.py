"""Rows and index entries written per new fiche and per updated fiche, from PostgreSQL's own
statistics.

Before and after a phase, per table of the service (``pg_stat_user_tables``): rows inserted,
updated (of which HOT) and deleted. The differences give the rows a phase wrote. PostgreSQL
keeps no count of index entries written, so they are computed the way it writes them: every
inserted row and every update that is not HOT gets a new entry in each index of its table (a
HOT update and a delete add none); a GIN index over an array gets one entry per element, taken
at the table's average number of elements per row at the end of the phase. The WAL the server
wrote during the phase (``pg_current_wal_lsn``) is given beside them: it weighs all of it.

Backends report their statistics shortly after they go idle (at most once a second), so a
snapshot is taken once two readings a second and a half apart agree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

__all__ = ["Snapshot", "phase_writes", "settled_snapshot"]

_TABLES = """
SELECT relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot,
       n_tup_del AS del
FROM pg_stat_user_tables WHERE schemaname = 'public'
"""
#: Each index of the service's tables; for a GIN index on an array column, the statement
#: that averages the column's elements per row.
_INDEXES = """
SELECT t.relname AS table_name, c.relname AS index_name,
       CASE WHEN am.amname = 'gin' AND i.indnatts = 1 AND ty.typcategory = 'A'
            THEN format('SELECT coalesce(avg(cardinality(%I)), 0) FROM public.%I',
                        a.attname, t.relname) END AS elements
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
LEFT JOIN pg_type ty ON ty.oid = a.atttypid
"""


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counters per table, and the server's WAL position, at one moment."""

    tables: dict[str, tuple[int, int, int, int]]  # inserted, updated, HOT updated, deleted
    wal: int

    def delta(self, before: Snapshot) -> dict[str, tuple[int, int, int, int]]:
        """Per table, what was written between ``before`` and this one."""
        zero = (0, 0, 0, 0)
        return {name: tuple(a - b for a, b in zip(now, before.tables.get(name, zero),
                                                  strict=True))  # type: ignore[misc]
                for name, now in self.tables.items()}


async def _read(conn: asyncpg.Connection) -> Snapshot:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = await conn.fetch(_TABLES)
    wal = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
    return Snapshot({r["name"]: (r["ins"], r["upd"], r["hot"], r["del"]) for r in rows},
                    int(wal))


async def settled_snapshot(
    url: str, ready: Callable[[Snapshot], bool] = lambda _: True, timeout: float = 30.0,
) -> Snapshot:
    """The counters once ``ready`` holds and two readings 1.5 s apart agree (the backends have
    reported); after ``timeout``, the last reading."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        last = await _read(conn)
        while time.monotonic() < deadline:
            await asyncio.sleep(1.5)
            now = await _read(conn)
            if now.tables == last.tables and ready(now):
                return now
            last = now
        return last
    finally:
        await conn.close()


async def _entries_per_row(url: str) -> dict[str, list[tuple[str, float]]]:
    """Per table, its indexes and the entries each writes per row written."""
    conn = await asyncpg.connect(url)
    try:
        out: dict[str, list[tuple[str, float]]] = {}
        for row in await conn.fetch(_INDEXES):
            per_row = 1.0
            if row["elements"] is not None:  # a GIN over an array: an entry per element
                per_row = float(await conn.fetchval(row["elements"]))
            out.setdefault(row["table_name"], []).append((row["index_name"], per_row))
        return out
    finally:
        await conn.close()


async def phase_writes(
    url: str, before: Snapshot, after: Snapshot, fiches: int,
) -> dict[str, Any]:
    """What a phase that made or updated ``fiches`` fiches wrote: per table and in total,
    in rows and index entries, each also per fiche; and the WAL bytes per fiche."""
    indexes = await _entries_per_row(url)
    tables: dict[str, dict[str, Any]] = {}
    for name, (ins, upd, hot, deleted) in sorted(after.delta(before).items()):
        rows = ins + upd + deleted
        if rows <= 0:
            continue
        per_row = sum(entries for _, entries in indexes.get(name, []))
        entries = (ins + upd - hot) * per_row
        tables[name] = {
            "inserted": ins, "updated": upd, "hot_updated": hot, "deleted": deleted,
            "indexes": len(indexes.get(name, [])), "index_entries": entries,
            "rows_per_fiche": rows / max(1, fiches),
            "index_entries_per_fiche": entries / max(1, fiches)}
    rows_total = sum(t["inserted"] + t["updated"] + t["deleted"] for t in tables.values())
    entries_total = sum(t["index_entries"] for t in tables.values())
    return {
        "fiches": fiches, "tables": tables,
        "rows_per_fiche": rows_total / max(1, fiches),
        "index_entries_per_fiche": entries_total / max(1, fiches),
        "wal_bytes_per_fiche": (after.wal - before.wal) / max(1, fiches)}
