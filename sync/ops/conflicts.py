"""``sksync conflicts``: the open conflicts, and an editor's decision on one.

A decision is not written to the database here: it is published as a
``be.socialekaart.conflict.resolved`` CloudEvent on the manual-edit topic, so it takes the
same path as every other update (inbox, merge rules, fiche history, downstream events).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
import typer
from rich.console import Console

from sync.errors import DecisionRefused
from sync.ops.cli import fail, settings
from sync.ops.ids import IdProblem, is_id_text, resolve_fiche, resolve_id
from sync.ops.listing import print_rows
from sync.ops.publish import publish_with_own_producer
from sync.ops.status import run_ops
from sync.settings import Settings
from sync.store.conflicts import ConflictRow, conflict_by_id, open_conflicts

__all__ = ["RESOLVED_TYPE", "conflicts_app", "resolution_event", "resolve_conflict"]

RESOLVED_TYPE = "be.socialekaart.conflict.resolved"
CLI_SOURCE = "urn:socialekaart:sksync-cli"
conflicts_app = typer.Typer(help="Look at and resolve conflicts.", no_args_is_help=True)


def resolution_event(
    conflict: ConflictRow, decision: Literal["accept", "keep"], editor: str,
    source: str = CLI_SOURCE,
) -> dict[str, Any]:
    """The CloudEvent of one decision; its subject (and Kafka key) is the conflict's fiche."""
    return {
        "specversion": "1.0", "id": f"conflict-resolved-{uuid.uuid4()}", "source": source,
        "type": RESOLVED_TYPE, "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": str(conflict.fiche_id), "datacontenttype": "application/json",
        "data": {"conflictId": str(conflict.id), "decision": decision, "editor": editor},
    }


async def _open_of(config: Settings, ref: str | None, limit: int) -> list[ConflictRow]:
    """Open conflicts of fiche ``ref`` (or all); :class:`IdProblem` when there is no such
    fiche."""
    conn = await asyncpg.connect(config.database_url)
    try:
        fiche_id = None if ref is None else await resolve_fiche(conn, ref)
        return await open_conflicts(conn, fiche_id, limit)
    finally:
        await conn.close()


def _short(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)[:60]


@conflicts_app.command("list")
def list_command(
    fiche: Annotated[str | None, typer.Option(
        help="Only this fiche: its id (or its start), or TYPE:VALUE "
             "(NIHII-PERSON:18749704).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 500,
) -> None:
    """Open conflicts, oldest first: the candidate a source gave against the pinned value."""
    config = settings()
    try:
        rows = run_ops(lambda: _open_of(config, fiche, limit))
    except IdProblem as problem:
        fail(str(problem))
    if as_json:
        sys.stdout.write(json.dumps([row.as_json() for row in rows], ensure_ascii=False,
                                    indent=2) + "\n")
        return
    console = Console()
    print_rows(console, f"{len(rows)} open conflict(s)",
               ("conflict", "fiche", "field", "candidate", "current (pinned)", "source",
                "raised at"),
               [(str(row.id), str(row.fiche_id), row.field, _short(row.candidate),
                 _short(row.pinned), row.source, row.raised_at.isoformat()[:19])
                for row in rows])
    if len(rows) == limit:
        console.print(f"(the first {limit}; use --limit to see more)")


async def _find(config: Settings, conflict: str) -> ConflictRow | None:
    """The conflict ``conflict`` (an id or its start names); :class:`IdProblem` if none."""
    conn = await asyncpg.connect(config.database_url)
    try:
        return await conflict_by_id(conn, await resolve_id(conn, "conflict", conflict,
                                                           "conflict"))
    finally:
        await conn.close()


async def _publish(config: Settings, event: dict[str, Any]) -> None:
    await publish_with_own_producer(config, [event], config.topics.name("manual_edit"))


def _decision(accept: bool, keep: bool) -> Literal["accept", "keep"]:
    if accept == keep:
        raise typer.BadParameter("give exactly one of --accept and --keep",
                                 param_hint="--accept/--keep")
    return "accept" if accept else "keep"


@conflicts_app.command("resolve")
def resolve_command(
    conflict: Annotated[str, typer.Argument(
        metavar="ID", help="The conflict's id, or enough of its start to name it alone.")],
    editor: Annotated[str, typer.Option(help="Who decides (recorded with the decision).")],
    accept: Annotated[bool, typer.Option(
        "--accept", help="Take the candidate: the pin is released.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the pinned value.")] = False,
) -> None:
    """Publish an editor's decision on an open conflict; the service applies it."""
    decision = _decision(accept, keep)
    if not is_id_text(conflict):
        raise typer.BadParameter(f"{conflict!r} is not a conflict id (a UUID) nor its start",
                                 param_hint="ID")
    if not editor.strip() or len(editor) > 200:
        raise typer.BadParameter("must be 1 to 200 characters", param_hint="--editor")
    config = settings()
    try:
        found, event = run_ops(lambda: resolve_conflict(config, conflict, decision,
                                                        editor.strip()))
    except DecisionRefused as error:
        fail(str(error))
    conflict_id = found.id
    Console().print(f"published {RESOLVED_TYPE} {event['id']}: {decision} on conflict "
                    f"{conflict_id} ({found.field} of fiche {found.fiche_id})", highlight=False)


async def resolve_conflict(
    config: Settings, conflict: str, decision: Literal["accept", "keep"], editor: str,
    source: str = CLI_SOURCE,
) -> tuple[ConflictRow, dict[str, Any]]:
    """Check that the conflict (an id or its start) is open and publish the decision (the
    CLI's and the console's one path); the service applies it. Raises
    :class:`DecisionRefused` saying why not."""
    try:
        found = await _find(config, conflict)
    except IdProblem as problem:
        raise DecisionRefused(str(problem)) from None
    if found is None:
        raise DecisionRefused(f"no conflict {conflict}")
    if found.status != "open":
        raise DecisionRefused(f"conflict {found.id} is {found.status}, not open")
    event = resolution_event(found, decision, editor, source)
    await _publish(config, event)
    return found, event
