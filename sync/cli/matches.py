"""``sksync matches`` and ``sksync fiche split``: reviewing probable matches, undoing a link
(published through :mod:`sync.ops.matches`; the service applies them)."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

import typer
from rich.console import Console

from sync.cli.common import fail, run_ops, settings
from sync.errors import DecisionRefused
from sync.events import Source
from sync.mapping.matches import TYPE_SPLIT
from sync.ops.database import database
from sync.ops.ids import is_id_text
from sync.ops.listing import print_rows
from sync.ops.matches import decide_match, read_matches, split_fiche
from sync.store.matching import CandidateRow, MatchStore

__all__ = ["matches_app", "split_command"]

matches_app = typer.Typer(help="Review probable matches between source records and fiches.",
                          no_args_is_help=True)
Editor = Annotated[str, typer.Option(help="Who decides (recorded with the decision).")]


def _editor(editor: str) -> str:
    if not editor.strip() or len(editor) > 200:
        raise typer.BadParameter("must be 1 to 200 characters", param_hint="--editor")
    return editor.strip()


@matches_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 500,
) -> None:
    """Candidates waiting for review, oldest first: record, fiche, score and why."""
    config = settings()
    rows: list[CandidateRow] = run_ops(lambda: read_matches(config, lambda s: s.waiting(limit)))
    if as_json:
        sys.stdout.write(json.dumps([row.as_json() for row in rows], ensure_ascii=False,
                                    indent=2) + "\n")
        return
    listing = []
    for row in rows:
        listed = row.as_json()
        why = ", ".join(f"{p['feature']} {p['level']}" for p in row.parts
                        if p["level"] != "missing")
        listing.append((str(row.id), f"{row.source.value} {row.record_id}\n{listed['record']}",
                        f"{row.fiche_id}\n{row.fiche_display}", f"{row.score:g}", why,
                        row.created_at.isoformat()[:19]))
    console = Console()
    print_rows(console, f"{len(rows)} candidate(s) waiting for review",
               ("match", "record", "fiche", "score", "why", "since"), listing)
    if len(rows) == limit:
        console.print(f"(the first {limit}; use --limit to see more)")


@matches_app.command("reindex")
def reindex_command(
    batch: Annotated[int, typer.Option(min=1, max=10000, help="Fiches per transaction.")] = 1000,
) -> None:
    """Rebuild every fiche's matching profile and blocking keys (after an upgrade: fiches that
    have not changed since keep no profile and are never candidates)."""
    config = settings()

    async def go() -> int:
        done, after = 0, uuid.UUID(int=0)
        async with database(config) as conn:
            while True:
                async with conn.transaction():
                    last, count = await MatchStore(conn).reindex(after, batch, datetime.now(UTC))
                if last is None:
                    return done
                done, after = done + count, last

    count = run_ops(go)
    Console().print(f"reindexed {count} fiche(s)", highlight=False)


def _decide(match: str, editor: str, decision: Literal["accept", "reject"]) -> None:
    if not is_id_text(match):
        raise typer.BadParameter(f"{match!r} is not a match id (a UUID) nor its start",
                                 param_hint="ID")
    who = _editor(editor)
    config = settings()
    try:
        row, event = run_ops(lambda: decide_match(config, match, decision, who))
    except DecisionRefused as error:
        fail(str(error))
    Console().print(f"published {event['type']} {event['id']}: {row.source.value} record "
                    f"{row.record_id} and fiche {row.fiche_id}", highlight=False)


@matches_app.command("accept")
def accept_command(
    match: Annotated[str, typer.Argument(
        metavar="ID", help="The match candidate's id, or enough of its start.")],
    editor: Editor,
) -> None:
    """The record is this fiche: link it (its values and identifiers join the fiche)."""
    _decide(match, editor, "accept")


@matches_app.command("reject")
def reject_command(
    match: Annotated[str, typer.Argument(
        metavar="ID", help="The match candidate's id, or enough of its start.")],
    editor: Editor,
) -> None:
    """The record is not this fiche: never propose the pair again."""
    _decide(match, editor, "reject")


def split_command(
    fiche: Annotated[str, typer.Argument(
        metavar="FICHE_ID", help="The fiche's id, or enough of its start.")],
    record: Annotated[str, typer.Option(
        help="The linked record, SOURCE:RECORD_ID (cobrha:professional:18749704).")],
    editor: Editor,
) -> None:
    """Undo a wrong link: the record and its identifiers leave the fiche for a new one."""
    if not is_id_text(fiche):
        raise typer.BadParameter(f"{fiche!r} is not a fiche id (a UUID) nor its start",
                                 param_hint="FICHE_ID")
    source_text, _, record_id = record.partition(":")
    if source_text not in ("cobrha", "kbo", "association") or not record_id:
        raise typer.BadParameter("give SOURCE:RECORD_ID with SOURCE cobrha, kbo or association",
                                 param_hint="--record")
    source, who, config = Source(source_text), _editor(editor), settings()
    try:
        fiche_id, event = run_ops(lambda: split_fiche(config, fiche, source, record_id, who))
    except DecisionRefused as error:
        fail(str(error))
    Console().print(f"published {TYPE_SPLIT} {event['id']}: {source.value} record {record_id} "
                    f"leaves fiche {fiche_id}", highlight=False)
