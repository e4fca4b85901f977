"""``sksync matches`` and ``sksync fiche split``: reviewing probable matches, undoing a link.

Like a conflict decision, a review decision or a split is not written to the database here: it
is published as a CloudEvent on the manual-edit topic (``be.socialekaart.match.accepted``,
``...match.rejected``, ``be.socialekaart.fiche.split``) and applied by the service like any
other update (inbox, merge rules, fiche history, downstream events). This module only reads
the database to check the request and to list what waits.
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
from sync.events import Source
from sync.mapping.matches import TYPE_ACCEPTED, TYPE_REJECTED, TYPE_SPLIT
from sync.ops.cli import fail, settings
from sync.ops.ids import IdProblem, is_id_text, resolve_fiche, resolve_id
from sync.ops.listing import print_rows
from sync.ops.publish import publish_with_own_producer
from sync.ops.status import run_ops
from sync.settings import Settings
from sync.store.conflicts import fiche_exists
from sync.store.matching import CandidateRow, MatchStore

__all__ = ["CLI_SOURCE", "decide_match", "decision_event", "matches_app", "split_command",
           "split_event", "split_fiche"]

CLI_SOURCE = "urn:socialekaart:sksync-cli"
matches_app = typer.Typer(help="Review probable matches between source records and fiches.",
                          no_args_is_help=True)
Editor = Annotated[str, typer.Option(help="Who decides (recorded with the decision).")]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def decision_event(
    row: CandidateRow, decision: Literal["accept", "reject"], editor: str,
    source: str = CLI_SOURCE,
) -> dict[str, Any]:
    """The CloudEvent of one review decision; its subject (and key) is the candidate fiche."""
    return {
        "specversion": "1.0", "id": f"match-{decision}ed-{uuid.uuid4()}", "source": source,
        "type": TYPE_ACCEPTED if decision == "accept" else TYPE_REJECTED, "time": _now(),
        "subject": str(row.fiche_id), "datacontenttype": "application/json",
        "data": {"matchId": str(row.id), "editor": editor},
    }


def split_event(fiche_id: uuid.UUID, source: Source, record_id: str, editor: str,
                event_source: str = CLI_SOURCE) -> dict[str, Any]:
    """The CloudEvent of a split; its subject (and key) is the fiche."""
    return {
        "specversion": "1.0", "id": f"fiche-split-{uuid.uuid4()}", "source": event_source,
        "type": TYPE_SPLIT, "time": _now(), "subject": str(fiche_id),
        "datacontenttype": "application/json",
        "data": {"ficheId": str(fiche_id), "source": source.value, "recordId": record_id,
                 "editor": editor},
    }


async def _read(config: Settings, what: Any) -> Any:
    conn = await asyncpg.connect(config.database_url)
    try:
        return await what(MatchStore(conn))
    finally:
        await conn.close()


async def _publish(config: Settings, event: dict[str, Any]) -> None:
    await publish_with_own_producer(config, [event], config.topics.name("manual_edit"))


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
    rows: list[CandidateRow] = run_ops(lambda: _read(config, lambda s: s.waiting(limit)))
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
        conn = await asyncpg.connect(config.database_url)
        done, after = 0, uuid.UUID(int=0)
        try:
            while True:
                async with conn.transaction():
                    last, count = await MatchStore(conn).reindex(after, batch, datetime.now(UTC))
                if last is None:
                    return done
                done, after = done + count, last
        finally:
            await conn.close()

    count = run_ops(go)
    Console().print(f"reindexed {count} fiche(s)", highlight=False)


async def _candidate(store: MatchStore, match: str) -> CandidateRow | None:
    """The candidate ``match`` (an id or its start) names; :class:`IdProblem` if none."""
    return await store.candidate(await resolve_id(store.conn, "match_candidate", match,
                                                  "match candidate"))


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


async def _linked(config: Settings, fiche: str, source: Source, record_id: str,
                  ) -> tuple[uuid.UUID | None, str | None]:
    """The fiche ``fiche`` names, and None when the record can be split off it, else why not."""
    async def check(store: MatchStore) -> tuple[uuid.UUID | None, str | None]:
        try:
            fiche_id = await resolve_fiche(store.conn, fiche)
        except IdProblem as problem:
            return None, str(problem)
        if await store.link_of(fiche_id, source, record_id) is not None:
            return fiche_id, None
        exists = await fiche_exists(store.conn, fiche_id)
        return fiche_id, (f"{source.value} record {record_id} was not linked to fiche "
                          f"{fiche_id} by matching" if exists else f"no fiche {fiche_id}")
    result: tuple[uuid.UUID | None, str | None] = await _read(config, check)
    return result


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


async def decide_match(
    config: Settings, match: str, decision: Literal["accept", "reject"], editor: str,
    source: str = CLI_SOURCE,
) -> tuple[CandidateRow, dict[str, Any]]:
    """Check that the candidate (an id or its start) is pending and publish the decision (the
    CLI's and the console's one path). Raises :class:`DecisionRefused` saying why not."""
    try:
        row: CandidateRow | None = await _read(config, lambda s: _candidate(s, match))
    except IdProblem as problem:
        raise DecisionRefused(str(problem)) from None
    if row is None:
        raise DecisionRefused(f"no match candidate {match}")
    if row.status != "pending":
        raise DecisionRefused(f"match candidate {row.id} is {row.status}, not pending")
    event = decision_event(row, decision, editor, source)
    await _publish(config, event)
    return row, event


async def split_fiche(
    config: Settings, fiche: str, source: Source, record_id: str, editor: str,
    event_source: str = CLI_SOURCE,
) -> tuple[uuid.UUID, dict[str, Any]]:
    """Check that the record was linked to the fiche (an id or its start) by matching and
    publish the split (the CLI's and the console's one path). Raises
    :class:`DecisionRefused` saying why not."""
    fiche_id, problem = await _linked(config, fiche, source, record_id)
    if problem is not None or fiche_id is None:
        raise DecisionRefused(problem or f"no fiche {fiche}")
    event = split_event(fiche_id, source, record_id, editor, event_source)
    await _publish(config, event)
    return fiche_id, event
