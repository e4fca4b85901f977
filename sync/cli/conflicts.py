"""``sksync conflicts``: the open conflicts, and an editor's decision on one (published
through :func:`sync.ops.conflicts.resolve_conflict`; the service applies it)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from sync.cli.common import fail, run_ops, settings
from sync.errors import DecisionRefused
from sync.ops.conflicts import RESOLVED_TYPE, resolve_conflict
from sync.ops.database import database
from sync.ops.ids import IdProblem, is_id_text, resolve_fiche
from sync.ops.listing import print_rows
from sync.settings import Settings
from sync.store.conflicts import ConflictRow, open_conflicts

__all__ = ["conflicts_app"]

conflicts_app = typer.Typer(help="Look at and resolve conflicts.", no_args_is_help=True)


async def _open_of(config: Settings, ref: str | None, limit: int) -> list[ConflictRow]:
    """Open conflicts of fiche ``ref`` (or all); :class:`IdProblem` when there is no such
    fiche."""
    async with database(config) as conn:
        fiche_id = None if ref is None else await resolve_fiche(conn, ref)
        return await open_conflicts(conn, fiche_id, limit)


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
