"""``sksync vacuum``: after an initial load, the service's tables vacuumed and analysed
(:mod:`sync.ops.vacuum`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import fail, run_ops, settings
from sync.ops.database import owner_connection
from sync.ops.vacuum import Vacuumed, vacuum_tables

__all__ = ["vacuum"]


def vacuum(
    tables: Annotated[list[str] | None, typer.Argument(
        help="Tables to vacuum (default: every table of the service's schema).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Vacuum and analyse the service's tables, the largest first: after an initial load, so
    that PostgreSQL's planner knows their sizes and autovacuum does not take them on during
    the first steady traffic. The service may run meanwhile."""
    config = settings()
    out = Console(stderr=as_json)

    async def go() -> list[Vacuumed]:
        conn = await owner_connection(config)
        try:
            # A large table takes a while: the last one done shows (in a terminal only).
            with out.status("vacuuming the service's tables") as status:
                return await vacuum_tables(conn, tables or None, on_done=lambda done: (
                    status.update(f"vacuuming the service's tables; {done.table} took "
                                  f"{done.seconds:.1f} s")))
        finally:
            await conn.close()

    try:
        done = run_ops(go)
    except ValueError as error:
        fail(str(error))
    if as_json:
        sys.stdout.write(json.dumps([
            {"table": d.table, "seconds": round(d.seconds, 3), "liveRows": d.live_rows,
             "skipped": d.skipped} for d in done], indent=2) + "\n")
    else:
        table = Table(title=f"{len(done)} table(s) vacuumed and analysed in "
                            f"{sum(d.seconds for d in done):.1f} s")
        table.add_column("table")
        table.add_column("seconds", justify="right")
        table.add_column("live rows", justify="right")
        table.add_column("skipped")
        for d in done:
            table.add_row(d.table, f"{d.seconds:.2f}",
                          "" if d.live_rows is None else f"{d.live_rows:,}", d.skipped or "")
        out.print(table)
    if any(d.skipped for d in done):
        fail(f"{sum(1 for d in done if d.skipped)} table(s) skipped: connect as their owner "
             "(SKSYNC_MIGRATION_DATABASE_URL)")
