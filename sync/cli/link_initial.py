"""``sksync link-initial``: load today's directory as hand-made fiches, then link the sources.

A one-off command for the day the sources are switched on. The export's rows become the
``fiche.created`` events the directory would have sent, and are applied **directly through the
service's Applier** rather than published on the manual-edit topic, because:

- every source record must be matched against the *whole* directory: going through Kafka, the
  command could not know when the last of 58,000 fiches was applied, and records arriving
  on other topics meanwhile would be matched against half a directory;
- the practice's KBO number is not a fiche field, so no ``fiche.created`` event can carry it;
  it is written (as a matching attribute) in the same run, before its fiche;
- the Applier is the service's own write path: ids derived from the row (a re-run finds the
  values already held: no fiche, no version, no event), merge rules, provenance, history and
  outbox events all hold as for any update, and a running service's relay publishes the
  ``fiche.created`` events.

Given ``--records`` (JSON Lines of source CloudEvents, e.g. a gateway's first snapshot), the
records are mapped and applied the same way, and the command reports how many linked
automatically, how many wait for review and how many are new fiches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync.cli.common import fail, run_ops, settings
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.matching.export import ExportError, ExportRow, UnknownColumns, read_export
from sync.ops.database import database_pool
from sync.ops.publish import read_events
from sync.policy import default_policy
from sync.settings import Settings
from sync.sources import map_event
from sync.store.apply import Applier, ApplyResult
from sync.store.matching import MatchStore
from sync.store.uow import close_pool

__all__ = ["link_initial", "outcome_of"]

T = TypeVar("T")
console = Console()
LABELS = {"linked": "linked automatically", "review": "waiting for review",
          "new": "new fiches", "known": "already known (by identifier)",
          "unchanged": "unchanged or already seen", "error": "refused or invalid"}


def outcome_of(result: ApplyResult) -> str:
    """Which line of the summary one applied source record counts in."""
    if result.linked:
        return "linked"
    if result.outcome == "pending-review":
        return "review"
    if result.event_type == "created":
        return "new"
    if result.outcome in ("rejected", "refused"):
        return "error"
    if result.outcome == "applied":
        return "known"
    return "unchanged"


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


class Loader:
    """Applies the export and the records through the Applier, counting outcomes."""

    def __init__(self, config: Settings, pool: asyncpg.Pool) -> None:
        topics = {key: config.topics.name(key) for key in ("fiche_event", "notification")}
        self.pool = pool
        self.applier = Applier(pool, default_policy(), topics)
        self.context = MappingContext(ssin_secret=config.ssin_secret.get_secret_value().encode())

    async def fiches(self, rows: Sequence[ExportRow], batch: int) -> Counter[str]:
        counts: Counter[str] = Counter()
        with _progress() as progress:
            task = progress.add_task("fiches", total=len(rows))
            for chunk in _chunks(rows, batch):
                async with self.pool.acquire() as conn:
                    store = MatchStore(conn)
                    for row in chunk:
                        await store.set_extra(row.fiche_id, row.kbo_numbers)
                updates = [self._map(row.event) for row in chunk]
                for result in await self.applier.apply([u for u in updates
                                                        if isinstance(u, FicheUpdate)]):
                    counts["created" if result.event_type == "created" else result.outcome] += 1
                counts["invalid"] += sum(1 for u in updates if not isinstance(u, FicheUpdate))
                progress.advance(task, len(chunk))
        return counts

    async def records(self, events: Sequence[dict[str, Any]], batch: int) -> Counter[str]:
        counts: Counter[str] = Counter()
        with _progress() as progress:
            task = progress.add_task("source records", total=len(events))
            for chunk in _chunks(events, batch):
                updates = [self._map(event) for event in chunk]
                counts["error"] += sum(1 for u in updates if not isinstance(u, FicheUpdate))
                for result in await self.applier.apply([u for u in updates
                                                        if isinstance(u, FicheUpdate)]):
                    counts[outcome_of(result)] += 1
                progress.advance(task, len(chunk))
        return counts

    def _map(self, document: dict[str, Any]) -> FicheUpdate | PermanentError:
        try:
            return map_event(CloudEvent.model_validate(document), self.context)[0]
        except PermanentError as error:
            return error
        except ValueError as error:  # an invalid envelope
            return PermanentError("not-a-cloudevent", str(error).splitlines()[0])


def _summary(fiches: Counter[str], records: Counter[str] | None, waiting: int) -> None:
    table = Table("", "count", title="initial linking")
    table.add_row("fiches from the export, created", str(fiches["created"]))
    table.add_row("fiches already loaded", str(fiches["duplicate"] + fiches["unchanged"]))
    if fiches["invalid"] or fiches["rejected"]:
        table.add_row("fiches refused", str(fiches["invalid"] + fiches["rejected"]))
    if records is not None:
        total = sum(records.values())
        for key, label in LABELS.items():
            share = f" ({100 * records[key] / total:.1f}%)" if total else ""
            table.add_row(f"source records {label}", f"{records[key]}{share}")
    table.add_row("candidates waiting for review in all", str(waiting))
    console.print(table)


def link_initial(
    export: Annotated[Path, typer.Argument(help="CSV export of today's fiches "
                                           "(columns: docs/csv-formats.md).")],
    records: Annotated[Path | None, typer.Option(
        help="JSON Lines of source CloudEvents to link against the loaded fiches.")] = None,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Updates per transaction.")] = 500,
) -> None:
    """Load the directory's export as hand-made fiches, then link source records to them."""
    if not export.is_file():
        fail(f"no such file: {export}")
    if records is not None and not records.is_file():
        fail(f"no such file: {records}")
    parsed = list(read_export(export.read_text(encoding="utf-8-sig").splitlines(),
                              datetime.now(UTC)))
    errors = [item for item in parsed if isinstance(item, ExportError)]
    rows = [item for item in parsed if isinstance(item, ExportRow)]
    for notice in (item for item in parsed if isinstance(item, UnknownColumns)):
        console.print(f"[yellow]ignored[/yellow] {notice}", highlight=False)
    for error in errors[:10]:
        console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
    if errors and not rows:
        fail(f"{export.name}: nothing to load")
    try:
        events = list(read_events(records)) if records is not None else None
    except ValueError as error:
        fail(str(error))
    config = settings()

    async def go() -> tuple[Counter[str], Counter[str] | None, int]:
        pool = await database_pool(config, 2)
        try:
            loader = Loader(config, pool)
            fiches = await loader.fiches(rows, batch)
            linked = await loader.records(events, batch) if events is not None else None
            async with pool.acquire() as conn:
                waiting = (await MatchStore(conn).counts()).get("pending", 0)
            return fiches, linked, waiting
        finally:
            await close_pool(pool)

    fiches, linked, waiting = run_ops(go)
    fiches["invalid"] += len(errors)
    _summary(fiches, linked, waiting)
    _refused_labels(Counter(error.label for error in errors if error.label is not None))


def _refused_labels(labels: Counter[str]) -> None:
    """The profession labels no row could be loaded with, most frequent first: each is a
    line to add to sync/data/profession_labels.csv when it names a profession."""
    if not labels:
        return
    table = Table("profession label", "rows", title=f"{sum(labels.values())} row(s) refused "
                  f"for {len(labels)} unknown profession label(s)")
    for label, count in sorted(labels.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(label, str(count))
    console.print(table)
    console.print("A label that names a profession belongs in sync/data/profession_labels.csv "
                  "(docs/csv-formats.md).", highlight=False)
