"""``sksync outbox parked`` and ``sksync outbox release``: events the relay could not publish.

A parked event was refused by the broker for what it is (too large for the topic, a topic it
refuses, no right to write it) or was larger than ``SKSYNC_OUTBOX_MAX_EVENT_BYTES`` when
written. Once the cause is fixed (the topic's ``max.message.bytes`` raised, the ACL set), a
release hands the events back to the relay, which publishes them before the ones waiting.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import fail, run_ops, settings
from sync.ops.database import database
from sync.settings import Settings
from sync.store.apply import OUTBOX_CHANNEL
from sync.store.outbox import LIST_PARKED, RELEASE

__all__ = ["outbox_app"]

outbox_app = typer.Typer(help="Outbox events the relay parked: list them, release them.",
                         no_args_is_help=True)


async def _parked(config: Settings) -> list[dict[str, Any]]:
    async with database(config) as conn:
        rows = await conn.fetch(LIST_PARKED)
    return [{"id": r["id"], "eventId": str(r["event_id"]), "topic": r["topic"], "key": r["key"],
             "type": r["type"], "parkedAt": r["parked_at"].isoformat(),
             "reason": r["park_reason"], "bytes": r["bytes"]} for r in rows]


async def _release(config: Settings, ids: list[int], everything: bool) -> list[int]:
    async with database(config) as conn, conn.transaction():
        released = [r["id"] for r in await conn.fetch(RELEASE, ids, everything)]
        await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return released


@outbox_app.command("parked")
def parked_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Parked events: which fiche (key), which event, why, and how large (never the payload)."""
    config = settings()
    rows = run_ops(lambda: _parked(config))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("id", "topic", "key", "type", "bytes", "parked at", "reason",
                  title=f"{len(rows)} parked event(s)")
    for row in rows:
        table.add_row(str(row["id"]), row["topic"], row["key"], row["type"] or "",
                      str(row["bytes"]), row["parkedAt"][:19], row["reason"] or "")
    Console().print(table)


@outbox_app.command("release")
def release_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids (see `parked`).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every parked event.")] = False,
) -> None:
    """Hand parked events back to the relay, after fixing why they were refused. An event the
    broker still refuses is parked again."""
    if not ids and not everything:
        fail("name the outbox ids to release, or --all")
    config = settings()
    released = run_ops(lambda: _release(config, ids or [], everything))
    typer.echo(f"released {len(released)} event(s)")
