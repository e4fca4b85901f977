"""``sksync vacuum``: the service's tables vacuumed and analysed, one after the other.

After an initial load the tables hold hundreds of thousands of rows that PostgreSQL's
statistics do not know yet and whose pages have not been visited since they were written.
Autovacuum gets to them on its own, table by table, when their thresholds are crossed: during
the first minutes or hours of steady traffic, on the same cores as the apply. PostgreSQL's
advice for a bulk load ("Populating a Database": run ``ANALYZE`` afterwards) is what this
does, at a time the operator chooses: ``VACUUM (ANALYZE)`` of each table, the largest first.

``VACUUM`` runs outside a transaction and takes no lock that blocks the service's reads or
writes (``SHARE UPDATE EXCLUSIVE``), so the service may run meanwhile. A table the connecting
role may not vacuum (neither its owner nor granted ``MAINTAIN``) is reported skipped, with
PostgreSQL's reason: the owner's role (``SKSYNC_MIGRATION_DATABASE_URL``) may.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

__all__ = ["Vacuumed", "service_tables", "vacuum_tables"]

#: The tables of the connection's schema, the largest on disk (indexes included) first.
TABLES = """
SELECT c.relname AS name
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')
ORDER BY pg_total_relation_size(c.oid) DESC, c.relname
"""


@dataclass(frozen=True)
class Vacuumed:
    """One table's ``VACUUM (ANALYZE)``: how long it took and the rows it then counted; or
    why it was skipped."""

    table: str
    seconds: float
    live_rows: int | None
    skipped: str | None = None


async def service_tables(conn: asyncpg.Connection) -> list[str]:
    """The tables of the connection's schema (the service's), the largest first."""
    return [row["name"] for row in await conn.fetch(TABLES)]


async def vacuum_tables(
    conn: asyncpg.Connection, tables: Sequence[str] | None = None,
    on_done: Callable[[Vacuumed], None] | None = None,
) -> list[Vacuumed]:
    """``VACUUM (ANALYZE)`` of each of ``tables`` (default: every table of the schema), one
    after the other; ``on_done`` is told of each as it finishes. A table that does not exist
    raises :class:`ValueError` before anything is vacuumed."""
    known = await service_tables(conn)
    if tables is None:
        tables = known
    unknown = [table for table in tables if table not in known]
    if unknown:
        raise ValueError(f"no such table in schema: {', '.join(unknown)} "
                         f"(the service's are: {', '.join(sorted(known))})")
    warnings: list[str] = []

    def noted(_: object, message: asyncpg.PostgresLogMessage) -> None:
        if message.severity in ("WARNING", "NOTICE"):
            warnings.append(message.message)

    conn.add_log_listener(noted)
    done: list[Vacuumed] = []
    try:
        for table in tables:
            warnings.clear()
            started = time.perf_counter()
            # The name comes from the catalogue (checked above), quoted as an identifier.
            quoted = table.replace('"', '""')
            await conn.execute(f'VACUUM (ANALYZE) "{quoted}"')
            seconds = time.perf_counter() - started
            refused = next((w for w in warnings if "skipping" in w), None)
            rows = await conn.fetchval(
                "SELECT n_live_tup FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema() AND relname = $1", table)
            result = Vacuumed(table, seconds, rows, refused)
            done.append(result)
            if on_done is not None:
                on_done(result)
    finally:
        conn.remove_log_listener(noted)
    return done
