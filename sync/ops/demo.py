"""``sksync demo``: the whole flow on the embedded default, from nothing to a summary.

Starts the local Kafka and PostgreSQL (unless ``SKSYNC_*`` point elsewhere), runs the
service in this process, publishes the sample feed of every source, waits until all of it
is applied and relayed, prints what happened and stops everything again.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from sync.ops.lag import group_lag, offsets
from sync.ops.logging import configure_logging
from sync.ops.publish import publish_events, read_events
from sync.ops.stack_cli import local_extra
from sync.producers.kafka import new_producer
from sync.settings import Settings, Topics
from sync.store.dsn import create_database, drop_database
from sync.store.queries import counts

__all__ = ["demo"]

SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"


def demo(
    samples: Annotated[Path, typer.Option(help="Folder of *.jsonl sample feeds.")] = SAMPLES,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the feed to settle.")]
    = 120.0,
    keep_stack: Annotated[bool, typer.Option(help="Leave Kafka and PostgreSQL running.")]
    = False,
) -> None:
    """Run the service on the embedded default with the sample feed, print a summary."""
    with local_extra():
        from devstack.stack import LocalStack

    files = sorted(samples.glob("*.jsonl"))
    if not files:
        raise typer.BadParameter(f"no *.jsonl files in {samples}")
    configure_logging("console", "WARNING")
    stack = LocalStack()
    console = Console()
    with console.status("starting Kafka and PostgreSQL ..."):
        endpoints = stack.up()
    try:
        run_id = uuid.uuid4().hex[:8]
        os.environ["SKSYNC_KAFKA_BOOTSTRAP_SERVERS"] = endpoints.kafka_bootstrap
        database = f"sksync_demo_{run_id}"
        url = asyncio.run(create_database(endpoints.database_url, database))
        os.environ["SKSYNC_DATABASE_URL"] = url
        settings = Settings(topics=Topics(prefix=f"demo-{run_id}."),
                            consumer_group=f"sksync-demo-{run_id}", http_port=0,
                            environment="local")
        try:
            summary = asyncio.run(_run(settings, files, timeout, console))
        finally:
            asyncio.run(drop_database(endpoints.database_url, database))
        _print(console, summary)
    finally:
        if not keep_stack:
            stack.down()


async def _run(
    settings: Settings, files: list[Path], timeout: float, console: Console,
) -> dict[str, float]:
    from sync.app import Service

    service = Service(settings, serve_http=False)
    started = time.perf_counter()
    with console.status("starting the service ..."):
        await service.start()
    try:
        published = 0
        # Editors edit fiches they can see: the hand edits go in once the sources are applied.
        automated = [f for f in files if not f.name.startswith("manual")]
        for phase in (automated, [f for f in files if f not in automated]):
            published += await _publish(settings, phase)
            with console.status(f"applying {published} source events ..."):
                await _settle(settings, timeout)
        conn = await asyncpg.connect(settings.database_url)
        try:
            figures: dict[str, float] = dict(await counts(conn))
        finally:
            await conn.close()
        topics = settings.topics
        dlqs = [topics.dlq(t) for t in [*topics.sources(), topics.name("fiche_update")]]
        figures["dead_letters"] = sum(end - begin for begin, end in
                                      (await offsets(settings, dlqs)).values())
        figures["published"] = published
        figures["seconds"] = round(time.perf_counter() - started, 2)
        return figures
    finally:
        await service.stop()


async def _publish(settings: Settings, files: list[Path]) -> int:
    producer = new_producer(settings)
    await producer.start()
    try:
        count = 0
        for file in files:
            count += await publish_events(producer, read_events(file), settings)
        return count
    finally:
        await producer.stop()


async def _settle(settings: Settings, timeout: float) -> None:
    """Wait until both consumer groups have no lag and the outbox is empty."""
    topics = settings.topics
    deadline = time.monotonic() + timeout
    groups = [(f"{settings.consumer_group}.map", topics.sources()),
              (f"{settings.consumer_group}.apply", [topics.name("fiche_update")])]
    while time.monotonic() < deadline:
        lag = 0
        for group, names in groups:
            lag += sum(row.lag for row in await group_lag(settings, group, names))
        conn = await asyncpg.connect(settings.database_url)
        try:
            unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        finally:
            await conn.close()
        if lag == 0 and unsent == 0:
            return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"the feed did not settle within {timeout:.0f} s")


def _print(console: Console, figures: dict[str, float]) -> None:
    table = Table("", "count", title="sociale-kaart-sync demo")
    rows = [("source events published", "published"), ("fiches", "fiches"),
            ("fiches updated after creation", "updated_fiches"),
            ("fiche versions", "versions"), ("events emitted (fiche + notification)", "events"),
            ("dead letters", "dead_letters"), ("open conflicts", "open_conflicts"),
            ("time taken (s)", "seconds")]
    for label, key in rows:
        table.add_row(label, str(figures.get(key, 0)))
    console.print(table)
