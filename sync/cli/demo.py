"""``sksync demo``: the whole flow on the embedded default, from nothing to a summary.

Starts the local Kafka and PostgreSQL (unless ``SKSYNC_*`` point elsewhere), runs the
service in this process, publishes the sample feed of every source, waits until all of it
is applied and relayed, prints what happened and stops everything again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.stack import local_extra
from sync.observability.logging import configure_logging
from sync.ops.database import database
from sync.ops.lag import group_lag, offsets
from sync.ops.publish import publish_events, read_events
from sync.producers.kafka import start_producer
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
    keep: Annotated[bool, typer.Option(
        help="Keep the demo data and serve the console until Ctrl-C (prints its address and "
             "a demo login).")] = False,
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
                            environment="local", console_enabled=keep,
                            console_port=_console_port())
        try:
            summary = asyncio.run(_run(settings, files, timeout, console, keep))
        finally:
            if not keep:
                asyncio.run(drop_database(endpoints.database_url, database))
        if not keep:
            _print(console, summary)
    finally:
        if not (keep_stack or keep):
            stack.down()


def _console_port(wanted: int = 8081) -> int:
    """The console's usual port when it is free, else any free one."""
    from devstack import free_port

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            return free_port()
    return wanted


async def _run(
    settings: Settings, files: list[Path], timeout: float, console: Console, keep: bool = False,
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
        async with database(settings) as conn:
            figures: dict[str, float] = dict(await counts(conn))
        topics = settings.topics
        dlqs = [topics.dlq(t) for t in [*topics.sources(), topics.name("fiche_update")]]
        figures["dead_letters"] = sum(end - begin for begin, end in
                                      (await offsets(settings, dlqs)).values())
        emitted = [topics.name("fiche_event"), topics.name("notification")]
        figures["events"] = sum(end - begin for begin, end in
                                (await offsets(settings, emitted)).values())
        figures["published"] = published
        figures["seconds"] = round(time.perf_counter() - started, 2)
        if keep:
            _print(console, figures)
            await _keep_console(settings, console)
        return figures
    finally:
        await service.stop()


async def _keep_console(settings: Settings, console: Console) -> None:
    """Two demo accounts, the address, and the console until Ctrl-C or SIGTERM."""
    from sync.web.accounts import add_account

    logins = {"editor": secrets.token_urlsafe(12), "operator": secrets.token_urlsafe(12)}
    async with database(settings) as conn:
        for name, password in logins.items():
            await add_account(conn, name, password, [name])
    console.print(f"\nconsole: http://{settings.console_host}:{settings.console_port}/",
                  highlight=False)
    for name, password in logins.items():
        console.print(f"  sign in as {name!r} with password {password!r}", highlight=False)
    console.print("the service and the console run until Ctrl-C; `make down` then stops "
                  "Kafka and PostgreSQL", highlight=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _publish(settings: Settings, files: list[Path]) -> int:
    producer = await start_producer(settings)
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
        async with database(settings) as conn:
            unsent = await conn.fetchval("SELECT count(*) FROM outbox")  # sent rows are gone
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
