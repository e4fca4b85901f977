"""Loading a KBO extract into the PostgreSQL mirror and finding the enterprises it touched.

Rows go in with COPY, in batches, so memory stays bounded whatever the file size. All of
this runs inside the caller's transaction: a failure leaves the mirror as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from itertools import islice
from typing import Any

import asyncpg

from sync.ingest import kbo_sql as sql
from sync.ingest.common import IngestError, InvalidRows, Progress
from sync.ingest.kbo_rows import TABLES, Table, Value
from sync.ingest.kbo_zip import KboMeta, KboZip

__all__ = ["ExtractOrderError", "check_extract_order", "load_full", "load_update", "record_extract"]

COPY_BATCH = 10_000


class ExtractOrderError(IngestError):
    """An Update that does not follow the last ingested extract."""


async def check_extract_order(conn: asyncpg.Connection, meta: KboMeta) -> None:
    """A Full may always be (re)loaded; an Update must come after the last extract."""
    last: int | None = await conn.fetchval(sql.LAST_EXTRACT)
    if meta.is_full:
        return
    if last is None:
        raise ExtractOrderError(
            f"Update extract {meta.extract_number} refused: no Full extract was ingested yet"
        )
    if meta.extract_number <= last:
        raise ExtractOrderError(
            f"Update extract {meta.extract_number} refused: extract {last} was already "
            "ingested (an Update must have a higher ExtractNumber; load a Full to start over)"
        )


async def record_extract(conn: asyncpg.Connection, meta: KboMeta) -> None:
    """Remember the extract as the last one ingested."""
    await conn.execute(sql.RECORD_EXTRACT, meta.extract_number, meta.extract_type,
                       meta.snapshot_date)


async def load_full(
    conn: asyncpg.Connection, kbo: KboZip, invalid: InvalidRows, rows_read: dict[str, int],
    progress: Progress | None,
) -> None:
    """Replace the mirror with a Full extract; every enterprise, old or new, is affected."""
    await conn.execute(sql.TRUNCATE_MIRROR)
    for table in TABLES:
        name = f"{table.name}.csv"
        rows = kbo.rows(name, table, invalid)
        try:
            rows_read[name] = await _copy(conn, table.name, "kbo", table, rows, progress, name)
        except asyncpg.UniqueViolationError:
            raise IngestError(f"{name}: the same number appears twice") from None
    await conn.execute(sql.CREATE_AFFECTED)
    await conn.execute(sql.AFFECTED_ALL)
    await conn.execute(sql.ANALYZE_MIRROR)


async def load_update(
    conn: asyncpg.Connection, kbo: KboZip, invalid: InvalidRows, rows_read: dict[str, int],
    progress: Progress | None,
) -> None:
    """Apply an Update extract: per table, its deletes then its inserts.

    Everything is staged first, so that the owners of touched units are found before the
    deletes (a closed unit's rows name only the unit); owners of inserted units are named
    by establishment_insert.csv itself.
    """
    await conn.execute(sql.CREATE_AFFECTED)
    await conn.execute(sql.CREATE_DELETED)
    for table in TABLES:
        name = f"{table.name}_delete.csv"
        numbers = ((table.name, number) for number in kbo.deleted(name, invalid))
        rows_read[name] = await _copy_deleted(conn, numbers, progress, name)
        name = f"{table.name}_insert.csv"
        await conn.execute(_create_staging(table))
        rows = kbo.rows(name, table, invalid)
        rows_read[name] = await _copy(conn, f"kbo_new_{table.name}", None, table, rows,
                                      progress, name)
    await conn.execute(_create_touched())
    await conn.execute(sql.AFFECTED_DIRECT)
    await conn.execute(sql.AFFECTED_BY_ESTABLISHMENT)
    for table in TABLES:
        for statement in _apply(table):
            await conn.execute(statement)
    await conn.execute(sql.ANALYZE_AFFECTED)


async def _copy(
    conn: asyncpg.Connection, target: str, schema: str | None, table: Table,
    rows: Iterator[tuple[Value, ...]], progress: Progress | None, label: str,
) -> int:
    """COPY ``rows`` into ``target`` in batches; returns how many."""
    return await _batched(rows, progress, label, lambda batch: conn.copy_records_to_table(
        target, schema_name=schema, columns=list(table.columns), records=batch))


async def _copy_deleted(
    conn: asyncpg.Connection, rows: Iterator[tuple[str, str]], progress: Progress | None,
    label: str,
) -> int:
    return await _batched(rows, progress, label, lambda batch: conn.copy_records_to_table(
        "kbo_deleted", columns=["tbl", "entity_number"], records=batch))


async def _batched(
    rows: Iterator[Any], progress: Progress | None, label: str,
    copy: Callable[[list[Any]], Awaitable[object]],
) -> int:
    count = 0
    while batch := list(islice(rows, COPY_BATCH)):
        await copy(batch)
        count += len(batch)
        if progress is not None:
            progress(label, count)
    return count


# Table and column names below come from the fixed TABLES list, never from input.
def _create_staging(table: Table) -> str:
    return f"CREATE TEMP TABLE kbo_new_{table.name} (LIKE kbo.{table.name}) ON COMMIT DROP"


def _create_touched() -> str:
    """Every entity number named by a delete or an insert, and owners of inserted units."""
    parts = ["SELECT entity_number FROM kbo_deleted"]
    parts += [f"SELECT {t.key} FROM kbo_new_{t.name}" for t in TABLES]  # noqa: S608
    parts.append("SELECT enterprise_number FROM kbo_new_establishment")
    return "CREATE TEMP TABLE kbo_touched ON COMMIT DROP AS " + " UNION ".join(parts)


def _apply(table: Table) -> list[str]:
    """Deletes, then inserts. Enterprise and establishment numbers are keys: an insert of a
    number that is already there (a delete the KBO forgot) replaces the row, and of a number
    inserted twice the last row wins (ctid is the COPY order in a fresh temp table)."""
    target, staged, key = f"kbo.{table.name}", f"kbo_new_{table.name}", table.key
    statements = [
        f"DELETE FROM {target} WHERE {key} IN "  # noqa: S608
        f"(SELECT entity_number FROM kbo_deleted WHERE tbl = '{table.name}')",
    ]
    if table.name in ("enterprise", "establishment"):
        statements.append(
            f"DELETE FROM {target} WHERE {key} IN (SELECT {key} FROM {staged})"  # noqa: S608
        )
        statements.append(
            f"INSERT INTO {target} SELECT DISTINCT ON ({key}) * FROM {staged}"  # noqa: S608
            f" ORDER BY {key}, ctid DESC"
        )
    else:
        statements.append(f"INSERT INTO {target} SELECT * FROM {staged}")  # noqa: S608
    return statements
