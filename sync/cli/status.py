"""``sksync status``: lag, outbox, dead letters, conflicts, fiches and sources at a glance
(the figures of :mod:`sync.ops.status`; needs no running service)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import run_ops, settings
from sync.ops.status import collect_status
from sync.settings import Settings

__all__ = ["render", "status"]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


def render(doc: dict[str, Any]) -> Table:
    """The status document as one table, a section per subject."""
    table = Table("what", "which", "value", title=f"sksync status at {doc['at'][:19]}Z")
    for row in doc.get("lag", []):
        table.add_row("lag", f"{row['group']}  {row['topic']}", str(row["lag"]))
    table.add_section()
    for topic, count in doc.get("deadLetters", {}).items():
        table.add_row("dead letters", topic, str(count))
    table.add_section()
    if "outbox" in doc:
        table.add_row("outbox", "backlog", str(doc["outbox"]["backlog"]))
        table.add_row("outbox", "oldest unsent", _age(doc["outbox"]["oldestUnsentAgeSeconds"]))
        for reason, rows in doc["outbox"]["parked"].items():
            table.add_row("outbox", f"parked ({reason})", str(rows))
        for name, rows in doc["tableRowsEstimate"].items():
            table.add_row("table rows (estimate)", name, str(rows))
        table.add_row("conflicts", "open", str(doc["openConflicts"]))
    for row in doc.get("fiches", []):
        table.add_row("fiches", f"{row['kind']} {row['status']}", str(row["count"]))
    for row in doc.get("sources", []):
        table.add_row("last apply", row["source"],
                      f"{row['lastAppliedAt'][:19]}Z ({_age(row['ageSeconds'])} ago)")
    if "lockWaits" in doc:
        waits = doc["lockWaits"]
        table.add_row("database", "sessions waiting for a lock",
                      f"{waits['sessions']} (longest {_age(waits['longestSeconds'])})"
                      if waits["sessions"] else "0")
        for head in waits["heldBy"]:
            table.add_row("database", f"holding them: session {head['pid']}",
                          f"{head['state']}, {head['wait'] or 'no wait'}; transaction "
                          f"{_age(head['transactionAgeSeconds'])}, holds up {head['holdsUp']}")
    for problem in doc["problems"]:
        table.add_row("[red]problem[/red]", "", problem)
    return table


async def _show(config: Settings, as_json: bool, watch: float | None, count: int | None) -> bool:
    """Print the status once, or every ``watch`` seconds; True when the last one had problems."""
    console = Console()
    shown = 0
    while True:
        doc = await collect_status(config)
        shown += 1
        if as_json:
            indent = None if watch is not None else 2
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=indent) + "\n")
            sys.stdout.flush()
        else:
            if watch is not None and console.is_terminal:
                console.clear()
            console.print(render(doc))
        if watch is None or (count is not None and shown >= count):
            return bool(doc["problems"])
        await asyncio.sleep(watch)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    watch: Annotated[float | None, typer.Option(
        metavar="SECONDS", help="Refresh every SECONDS until Ctrl-C.")] = None,
    count: Annotated[int | None, typer.Option(
        metavar="N", help="With --watch: stop after N refreshes.")] = None,
) -> None:
    """Lag, outbox, dead letters, conflicts, fiches and sources (needs no running service)."""
    if watch is not None and not watch > 0:
        raise typer.BadParameter("must be a number of seconds above 0", param_hint="--watch")
    if count is not None and count < 1:
        raise typer.BadParameter("must be 1 or more", param_hint="--count")
    if count is not None and watch is None:
        raise typer.BadParameter("only makes sense with --watch", param_hint="--count")
    config = settings()
    try:
        problems = run_ops(lambda: _show(config, as_json, watch, count))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    if problems and watch is None:
        raise typer.Exit(1)
