"""Where PostgreSQL's time goes during the initial load: ``pg_stat_statements``.

When the server loads the extension (the local stack does: ``devstack.postgres``), the
benchmark clears the statistics of the run's database just before the load and reads them just
after it: for each statement the service (and the benchmark's own polling) ran, the calls, the
time the backends spent executing it, the shared buffers it touched and the WAL it wrote, per
source event. Execution time is wall time inside PostgreSQL: it includes waiting for a lock,
for I/O and for a core (two cores here, shared with the service and the broker), so the shares
say where the backends are, not only what they compute. Without the extension, or without the
right to create it, the section says so and the run goes on.

Planning is counted apart (``pg_stat_statements.track_planning``, set on the run's database
before the service connects, where the benchmark's role may set it): a statement planned again
at every call (a custom plan: PostgreSQL keeps making one when, with the parameters known, it
looks cheaper than the generic plan) costs its planning each time, and execution time alone
would not show it.
"""

from __future__ import annotations

import contextlib
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
       total_plan_time AS plan_ms, plans,
       shared_blks_hit + shared_blks_read AS blocks, shared_blks_read AS blocks_read,
       wal_bytes
FROM {EXTENSION} WHERE dbid = {_THIS_DATABASE} AND toplevel
ORDER BY total_exec_time DESC
"""  # noqa: S608 - names made here, never from input
_TRACK_PLANNING = f"""
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET {EXTENSION}.track_planning = on', current_database());
END $$
"""
_WRITTEN = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?!SET\b)([\w.]+)",
                      re.IGNORECASE)
_READ_FROM = re.compile(r"\b(?:FROM|JOIN)\s+(?:ONLY\s+)?([a-z_][\w.]*)", re.IGNORECASE)
_NAMED_QUERY = re.compile(r"(?:\bWITH|,)\s+(?:RECURSIVE\s+)?([a-z_]\w*)\s+AS\s*\(",
                          re.IGNORECASE)
_NOT_TABLES = {"unnest", "jsonb_array_elements_text", "lateral", "select"}
#: A label names at most this many tables, then how many there are.
_NAMED = 3


async def clear_statements(url: str) -> str | None:
    """Create the extension in the run's database if needed and clear its statistics there,
    and have the sessions opened from now on count their planning too. Returns None when it
    is ready, else why the section is skipped."""
    conn = await asyncpg.connect(url)
    try:
        loaded = str(await conn.fetchval("SHOW shared_preload_libraries"))
        if EXTENSION not in {name.strip() for name in loaded.split(",")}:
            return f"the server does not load {EXTENSION} (shared_preload_libraries)"
        await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
        await conn.execute(f"SELECT {EXTENSION}_reset(0, {_THIS_DATABASE}, 0)")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute(_TRACK_PLANNING)  # a superuser's setting: else not counted
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
        # This session began after clear_statements, as the service's did.
        planning = await conn.fetchval(f"SHOW {EXTENSION}.track_planning") == "on"
    except asyncpg.PostgresError as exc:  # an older extension (no `toplevel`, say)
        return {"skipped": f"{EXTENSION} could not be read: {exc}"}
    finally:
        await conn.close()
    per = max(1, events)
    total_ms = sum(row["exec_ms"] for row in rows) or 1.0

    def figures(label: str, group: list[dict[str, Any]]) -> dict[str, Any]:
        exec_ms = sum(row["exec_ms"] for row in group)
        plan_ms = sum(row["plan_ms"] for row in group)
        calls = sum(row["calls"] for row in group)
        return {
            "statement": label, "calls": calls,
            "exec_s": exec_ms / 1000, "share": exec_ms / total_ms,
            "exec_us_per_event": 1000 * exec_ms / per,
            "ms_per_call": exec_ms / max(1, calls),
            **({"plans": sum(row["plans"] for row in group),
                "plan_ms_per_call": plan_ms / max(1, calls),
                "plan_us_per_event": 1000 * plan_ms / per}
               if planning else {}),
            "max_ms_per_call": max((row["max_ms"] for row in group), default=0.0),
            "rows_per_event": sum(row["rows"] for row in group) / per,
            "blocks_per_event": sum(row["blocks"] for row in group) / per,
            "blocks_read_per_event": sum(row["blocks_read"] for row in group) / per,
            "wal_bytes_per_event": float(sum(row["wal_bytes"] for row in group)) / per,
        }

    shown = [figures(label_of(row["query"]), [row]) for row in rows[:top]]
    if rows[top:]:
        shown.append(figures(f"{len(rows) - top} others", rows[top:]))
    return {"events": events, "exec_s": total_ms / 1000, "planning_counted": planning,
            "statements": shown,
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
                          ("ms per call (max)", "right"), ("planned / planning ms per call",
                                                           "right"),
                          ("rows returned per event", "right"),
                          ("buffers per event", "right"),
                          ("WAL bytes per event", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for item in [*found["statements"], found["total"]]:
        bold = item is found["total"]
        cells = [item["statement"], f"{item['calls']:,}", f"{100 * item['share']:.1f} %",
                 f"{item['exec_us_per_event']:,.0f}",
                 f"{item['ms_per_call']:.2f} ({item['max_ms_per_call']:.0f})",
                 _planning(item),
                 f"{item['rows_per_event']:.2f}",
                 f"{item['blocks_per_event']:,.0f}", f"{item['wal_bytes_per_event']:,.0f}"]
        table.add_row(*(f"[b]{cell}[/b]" if bold else cell for cell in cells))
    return table


def _planning(item: dict[str, Any]) -> str:
    """How many of its calls a statement was planned for, and the planning per call; "-" when
    planning was not counted (a role that may not set it, or a run saved before it was)."""
    if "plans" not in item:
        return "-"
    return f"{item['plans']:,} / {item['plan_ms_per_call']:.2f}"
