"""``sksync ingest``: files from the sources (KBO Open Data ZIP, association CSV) onto Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sync.ops.publish import outgoing_for
from sync.producers.kafka import Outgoing, send_all, start_producer
from sync.settings import Settings
from sync.store.migrate import migrate
from sync.store.uow import connect_unbounded

__all__ = ["BatchingPublisher", "ingest_app"]

T = TypeVar("T")
ingest_app = typer.Typer(help="Ingest source files and publish their events.",
                         no_args_is_help=True)
console = Console(stderr=True)


class BatchingPublisher:
    """Hands events to the producer without waiting for each ack; :meth:`flush` waits."""

    def __init__(self, producer: AIOKafkaProducer, settings: Settings, chunk: int = 1000) -> None:
        self._producer = producer
        self._settings = settings
        self._chunk = chunk
        self._pending: list[Outgoing] = []
        self.published = 0

    async def __call__(self, event: dict[str, Any]) -> None:
        self._pending.append(outgoing_for(event, self._settings))
        if len(self._pending) >= self._chunk:
            await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        await send_all(self._producer, pending)
        self.published += len(pending)


def _reporter() -> tuple[Callable[[str, int], None], Progress | None]:
    """A progress bar on a terminal, a plain line every 100,000 rows otherwise."""
    if sys.stderr.isatty():
        bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                       TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                       console=console, transient=True)
        tasks: dict[str, Any] = {}

        def update(what: str, count: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=None)
            bar.update(tasks[what], completed=count)

        return update, bar

    def line(what: str, count: int) -> None:
        if count % 100_000 < 1000:
            console.print(f"{what}: {count:,} rows", highlight=False)

    return line, None


async def _with_resources(
    settings: Settings,
    work: Callable[[asyncpg.Connection, BatchingPublisher], Awaitable[T]],
) -> tuple[T, int]:
    conn = await connect_unbounded(settings.database_url, settings.database_command_timeout_s)
    try:
        producer = await start_producer(settings)
        try:
            await migrate(conn)
            publisher = BatchingPublisher(producer, settings)
            result = await work(conn, publisher)
            return result, publisher.published
        finally:
            await producer.stop()
    finally:
        await conn.close()


Work = Callable[[asyncpg.Connection, BatchingPublisher, Callable[[str, int], None]],
               Awaitable[Any]]


def _ingest(file: Path, work: Work, describe: Callable[[Any, int], str]) -> None:
    """Run one ingest with a progress display; print its summary and its invalid rows."""
    from sync.cli.common import fail, settings
    from sync.ingest import IngestError

    if not file.is_file():
        fail(f"no such file: {file}")
    config = settings()
    progress, bar = _reporter()

    async def run(conn: asyncpg.Connection, publish: BatchingPublisher) -> Any:
        return await work(conn, publish, progress)

    try:
        with bar or contextlib.nullcontext():
            summary, published = asyncio.run(_with_resources(config, run))
    except IngestError as error:
        fail(str(error))
    except (OSError, asyncpg.PostgresError) as error:
        fail(f"{type(error).__name__}: {error}")
    console.print(describe(summary, published), highlight=False)
    for row in summary.invalid_rows[:20]:
        console.print(f"  {row.file}:{row.line}: {row.reason}", highlight=False)


@ingest_app.command("kbo")
def ingest_kbo(
    file: Annotated[Path, typer.Argument(help="A KBO Open Data ZIP (Full or Update).")],
) -> None:
    """Mirror a KBO extract and publish one event per care-relevant enterprise that changed."""
    from sync.ingest import ingest_kbo_zip

    async def work(conn: asyncpg.Connection, publish: BatchingPublisher,
                   progress: Callable[[str, int], None]) -> Any:
        return await ingest_kbo_zip(conn, file, publish, progress=progress, flush=publish.flush)

    _ingest(file, work, lambda summary, published: (
        f"extract {summary.extract_number} ({summary.extract_type}): "
        f"{summary.entities_upserted} upserted, {summary.entities_removed} removed, "
        f"{summary.entities_unchanged} unchanged, {summary.entities_not_relevant} not care, "
        f"{summary.invalid_row_count} invalid rows; {published} events published"))


@ingest_app.command("association")
def ingest_association(
    file: Annotated[Path, typer.Argument(help="The association's full member export (CSV).")],
    association: Annotated[str, typer.Option("--association", help="Association id.")],
    source_version: Annotated[int | None, typer.Option(help="Default: now (YYYYMMDDHHMMSS).")]
    = None,
) -> None:
    """Publish the members that joined, changed or left since the previous export."""
    from sync.ingest import ingest_association_csv

    async def work(conn: asyncpg.Connection, publish: BatchingPublisher,
                   progress: Callable[[str, int], None]) -> Any:
        return await ingest_association_csv(conn, association, file, publish,
                                            source_version=source_version, progress=progress,
                                            flush=publish.flush)

    _ingest(file, work, lambda summary, published: (
        f"{association} export {summary.source_version}: {summary.members_upserted} upserted, "
        f"{summary.members_unchanged} unchanged, {summary.members_removed} removed, "
        f"{summary.invalid_row_count} invalid rows; {published} events published"
        + (f"\ncolumn(s) not used (not in docs/csv-formats.md): "
           f"{', '.join(summary.ignored_columns)}" if summary.ignored_columns else "")))
