"""Where PostgreSQL's time goes during the initial load: ``pg_stat_statements``.

When the server loads the extension (the local stack does: ``devstack.postgres``), the
benchmark clears the statistics of the run's database just before the load and reads them just
after it: for each statement the service (and the benchmark's own polling) ran, the calls, the
time the backends spent executing it, the shared buffers it touched and the WAL it wrote, per
source event. Execution time is wall time inside PostgreSQL: it includes waiting for a lock,
for I/O and for a core (two cores here, shared with the service and the broker), so the shares
say where the backends are, not only what they compute. Without the extension, or without the
right to create it, the section says so and the run goes on.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from rich.table import Table

__all__ = ["clear_statements", "read_statements", "statements_table"]

EXTENSION = "pg_stat_statements"

#: The statements the table shows, the costliest first; the rest are summed as "others".
TOP = 8

_THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
_READ = f"""
SELECT query, calls, total_exec_time AS exec_ms, max_exec_time AS max_ms, rows,
       shared_blks_hit + shared_blks_read AS blocks, shared_blks_read AS blocks_read,
       wal_bytes
FROM {EXTENSION} WHERE dbid = {_THIS_DATABASE} AND toplevel
ORDER BY total_exec_time DESC
"""  # noqa: S608 - names made here, never from input
_WRITTEN = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?!SET\b)([\w.]+)",
                      re.IGNORECASE)
_READ_FROM = re.compile(r"\b(?:FROM|JOIN)\s+(?:ONLY\s+)?([a-z_][\w.]*)", re.IGNORECASE)
_NAMED_QUERY = re.compile(r"(?:\bWITH|,)\s+(?:RECURSIVE\s+)?([a-z_]\w*)\s+AS\s*\(",
                          re.IGNORECASE)
_NOT_TABLES = {"unnest", "jsonb_array_elements_text", "lateral", "select"}
#: A label names at most this many tables, then how many there are.
_NAMED = 3


async def clear_statements(url: str) -> str | None:
    """Create the extension in the run's database if needed and clear its statistics there.
    Returns None when it is ready, else why the section is skipped."""
    conn = await asyncpg.connect(url)
    try:
        loaded = str(await conn.fetchval("SHOW shared_preload_libraries"))
        if EXTENSION not in {name.strip() for name in loaded.split(",")}:
            return f"the server does not load {EXTENSION} (shared_preload_libraries)"
        await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
        await conn.execute(f"SELECT {EXTENSION}_reset(0, {_THIS_DATABASE}, 0)")
    except asyncpg.PostgresError as exc:
        return f"{EXTENSION} is not usable here: {exc}"
    finally:
        await conn.close()
    return None


async def read_statements(
    url: str, unusable: str | None, events: int, top: int = TOP,
) -> dict[str, Any]:
    """The load's statements, per source event, the costliest ``top`` by execution time and
    the others summed; ``unusable`` is what :func:`clear_statements` said before the load
    (None: cleared), and when it says why not, that is the answer."""
    if unusable is not None:
        return {"skipped": unusable}
    conn = await asyncpg.connect(url)
    try:
        rows = [dict(row) for row in await conn.fetch(_READ)]
    except asyncpg.PostgresError as exc:  # an older extension (no `toplevel`, say)
        return {"skipped": f"{EXTENSION} could not be read: {exc}"}
    finally:
        await conn.close()
    per = max(1, events)
    total_ms = sum(row["exec_ms"] for row in rows) or 1.0

    def figures(label: str, group: list[dict[str, Any]]) -> dict[str, Any]:
        exec_ms = sum(row["exec_ms"] for row in group)
        return {
            "statement": label, "calls": sum(row["calls"] for row in group),
            "exec_s": exec_ms / 1000, "share": exec_ms / total_ms,
            "exec_us_per_event": 1000 * exec_ms / per,
            "ms_per_call": exec_ms / max(1, sum(row["calls"] for row in group)),
            "max_ms_per_call": max((row["max_ms"] for row in group), default=0.0),
            "rows_per_event": sum(row["rows"] for row in group) / per,
            "blocks_per_event": sum(row["blocks"] for row in group) / per,
            "blocks_read_per_event": sum(row["blocks_read"] for row in group) / per,
            "wal_bytes_per_event": float(sum(row["wal_bytes"] for row in group)) / per,
        }

    shown = [figures(label_of(row["query"]), [row]) for row in rows[:top]]
    if rows[top:]:
        shown.append(figures(f"{len(rows) - top} others", rows[top:]))
    return {"events": events, "exec_s": total_ms / 1000, "statements": shown,
            "total": figures("all statements", rows)}


def label_of(query: str) -> str:
    """A short name for a statement: the tables it writes, else those it reads."""
    written = _distinct(_WRITTEN.findall(query))
    if written:
        return "write " + _names(written)
    local = {name.lower() for name in _NAMED_QUERY.findall(query)} | _NOT_TABLES
    read = [name for name in _distinct(_READ_FROM.findall(query)) if name.lower() not in local]
    if read:
        return "read " + _names(read)
    return " ".join(query.split())[:60]


def _distinct(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _names(tables: list[str]) -> str:
    if len(tables) <= _NAMED:
        return ", ".join(tables)
    return f"{', '.join(tables[:_NAMED])}, ... ({len(tables)} tables)"


def statements_table(found: dict[str, Any], during: str = "the initial load",
                     number: str = "7") -> Table:
    """Table 7: the statements of the load (or of a steady phase), per source event."""
    table = Table(title=f"{number}. PostgreSQL during {during} (pg_stat_statements; execution "
                        "time is wall time in the backends, waits for locks, I/O and a core "
                        "included)")
    if found.get("skipped"):
        table.add_column("skipped")
        table.add_row(str(found["skipped"]))
        return table
    for name, justify in (("statement", "left"), ("calls", "right"),
                          ("share of time", "right"), ("us per event", "right"),
                          ("ms per call (max)", "right"), ("rows returned per event", "right"),
                          ("buffers per event", "right"),
                          ("WAL bytes per event", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for item in [*found["statements"], found["total"]]:
        bold = item is found["total"]
        cells = [item["statement"], f"{item['calls']:,}", f"{100 * item['share']:.1f} %",
                 f"{item['exec_us_per_event']:,.0f}",
                 f"{item['ms_per_call']:.2f} ({item['max_ms_per_call']:.0f})",
                 f"{item['rows_per_event']:.2f}",
                 f"{item['blocks_per_event']:,.0f}", f"{item['wal_bytes_per_event']:,.0f}"]
        table.add_row(*(f"[b]{cell}[/b]" if bold else cell for cell in cells))
    return table
