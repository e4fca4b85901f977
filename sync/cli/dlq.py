"""``sksync dlq list`` and ``sksync dlq replay``: dead letters for a person (see
:mod:`sync.ops.dlq` for what a replay guarantees)."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from sync.cli.common import fail, run_ops, settings
from sync.ops.dlq import ReplaySummary, UnknownDeadLetters, dlq_topics, list_dead_letters, replay
from sync.ops.listing import print_rows
from sync.settings import Settings

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="List and replay dead letters.", no_args_is_help=True)


def _checked_topic(config: Settings, topic: str | None) -> str | None:
    try:
        dlq_topics(config, topic)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--topic") from None
    return topic


TopicOption = Annotated[str | None, typer.Option(
    help="Only this topic: a key (cobrha_professional), a topic or a DLQ name.")]


@dlq_app.command("list")
def list_command(
    topic: TopicOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dead letters with why they failed and where they came from (never their payload)."""
    config = settings()
    checked = _checked_topic(config, topic)
    views = run_ops(lambda: list_dead_letters(config, checked))
    if as_json:
        sys.stdout.write(json.dumps([v.as_json() for v in views], indent=2) + "\n")
        return
    print_rows(Console(), f"{len(views)} dead letter(s)",
               ("dead letter", "reason", "detail", "original", "failed at", "event"),
               [(v.id, v.reason or "", (v.detail or "")[:200],
                 f"{v.original_topic}:{v.original_partition}:{v.original_offset}",
                 (v.failed_at or "")[:19], f"{v.event_type or ''} {v.event_id or ''}".strip())
                for v in views])


@dlq_app.command("replay")
def replay_command(
    ids: Annotated[list[str] | None, typer.Argument(
        help="Ids from `sksync dlq list` (or starts that name one alone); every dead letter "
             "when absent.")] = None,
    topic: TopicOption = None,
) -> None:
    """Send dead letters back to their original topic; already replayed ones are skipped."""
    config, console = settings(), Console()
    checked = _checked_topic(config, topic)
    known = list(dlq_topics(config))
    for item in ids or []:
        if not _id_shaped(item, known):
            raise typer.BadParameter(f"{item!r} is not DLQ-TOPIC:PARTITION:OFFSET nor its "
                                     "start", param_hint="IDS")
    try:
        summary = run_ops(lambda: _replay_shown(config, checked, ids or None, console))
    except UnknownDeadLetters as error:
        fail(str(error))
    console.print(f"replayed {len(summary.replayed)} dead letter(s); skipped "
                  f"{len(summary.already_replayed)} already replayed", highlight=False)


def _id_shaped(item: str, topics: list[str]) -> bool:
    """Whether ``item`` is a dead letter's id, or a start of one, on one of ``topics``."""
    for topic in topics:
        if f"{topic}:".startswith(item):
            return True
        if item.startswith(f"{topic}:") and re.fullmatch(r"\d+(:\d*)?", item[len(topic) + 1:]):
            return True
    return False


async def _replay_shown(
    config: Settings, topic: str | None, ids: list[str] | None, console: Console,
) -> ReplaySummary:
    """A progress bar on a terminal, one line per chunk otherwise."""
    if not console.is_terminal:
        return await replay(config, topic, ids, lambda done, total: console.print(
            f"{done}/{total} dead letter(s) handled", highlight=False))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=None)
        return await replay(config, topic, ids, lambda done, total: progress.update(
            task, completed=done, total=total))
