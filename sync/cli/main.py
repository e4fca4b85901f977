"""``sksync``: the operator's command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import fail, run_async, settings
from sync.observability.logging import configure_logging
from sync.ops.database import database, owner_connection

__all__ = ["app", "build_app", "main"]

T = TypeVar("T")
app = typer.Typer(help="Keeps the Sociale Kaart in sync with its authentic sources.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
fiche_app = typer.Typer(help="Look at fiches.", no_args_is_help=True)
app.add_typer(fiche_app, name="fiche")
console = Console()


@app.command()
def run(
    stages: Annotated[str | None, typer.Option(
        help="What this process runs, comma-separated: map, apply, relay (default: all, or "
             "SKSYNC_STAGES). Run the stages in separate processes to give each its own "
             "core.")] = None,
) -> None:
    """Run the service (consumers, relay, HTTP server) until stopped."""
    config = settings(**({"stages": stages} if stages is not None else {}))
    from sync.startup import start_problem, unless_stopped

    problem = start_problem(config)
    if problem is not None:
        fail(problem)
    configure_logging(config.log_format, config.log_level)

    async def serve() -> None:
        from sync.app import Service

        service = Service(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            # The start may wait long for a broker or database that is away: a signal ends it
            # too.
            started = await unless_stopped(stop, service.start())
            if started is not None:
                started.result()
                await stop.wait()
        finally:
            await service.stop()

    from sync.producers.login import KafkaAuthenticationError
    from sync.startup import StartRefused

    try:
        asyncio.run(serve())
    except (KafkaAuthenticationError, StartRefused) as error:
        fail(str(error))


@app.command()
def migrate() -> None:
    """Apply the database migrations that are missing."""
    from sync.store.migrate import migrate as apply_migrations

    config = settings()

    async def go() -> list[str]:
        conn = await owner_connection(config)
        try:
            return await apply_migrations(conn)
        finally:
            await conn.close()

    applied = run_async(go)
    console.print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied)
                                                          if applied else ""))


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="JSON Lines file of source CloudEvents.")],
    topic: Annotated[str | None, typer.Option(help="Topic; inferred from each type if absent.")]
    = None,
) -> None:
    """Publish source events from a file onto their source topics."""
    from sync.ops.publish import publish_with_own_producer, read_events

    if not file.is_file():
        fail(f"no such file: {file}")
    config = settings()

    async def go() -> int:
        return await publish_with_own_producer(config, read_events(file), topic)

    try:
        count = run_async(go)
    except ValueError as error:
        fail(str(error))
    console.print(f"published {count} event(s)")


@fiche_app.command("show")
def fiche_show(
    ref: Annotated[str, typer.Argument(
        help="Fiche id (or enough of its start), or TYPE:VALUE (NIHII-PERSON:18749704).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a fiche: visible values and, per field, which source gave them."""
    from sync.ops.ids import IdProblem, resolve_fiche
    from sync.store.queries import fiche_report

    config = settings()

    async def go() -> dict[str, Any] | None:
        async with database(config) as conn:
            return await fiche_report(conn, await resolve_fiche(conn, ref))

    try:
        report = run_async(go)
    except IdProblem as problem:
        fail(str(problem))
    if report is None:
        fail(f"no fiche {ref}")
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        return
    _print_fiche(report)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def _sources(value: Any, given: list[dict[str, Any]], pinned: bool) -> tuple[str, str]:
    """Who gave the shown value, and what the other sources say. A pinned value comes from
    the pin; every source is then listed with its own value, beside it."""
    same = [f"{p['source']} v{p['sourceVersion']}" for p in given
            if not pinned and p["value"] == value]
    other = [f"{p['source']} v{p['sourceVersion']}: {_text(p['value'])}" for p in given
             if pinned or p["value"] != value]
    return ", ".join(same), "\n".join(other)


def _print_fiche(report: dict[str, Any]) -> None:
    console.print(f"[bold]{report['kind']} {report['id']}[/bold]  version {report['version']}  "
                  f"{report['status']}" + (f" ({report['inactiveReason']})"
                                           if report["inactiveReason"] else ""))
    table = Table("field", "value", "from", "sources' own values")
    for name, value in sorted(report["visible"].items()):
        pin = report["pins"].get(name)
        found, other = _sources(value, report["provenance"].get(name, []), pin is not None)
        if pin is not None:
            found = f"pin: {pin['author']} ({pin['role']}), {pin['pinnedAt'][:10]}"
        table.add_row(name, _text(value), found, other)
    console.print(table)


def write_schemas(
    root: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("schemas"),
) -> None:
    """Regenerate the JSON Schemas and the AsyncAPI document from the code."""
    from sync.cli.schemas import write

    changed = write(root)
    console.print(f"{len(changed)} file(s) changed" + (": " + ", ".join(changed)
                                                       if changed else ""))


def build_app() -> typer.Typer:
    """``app`` with every command registered (once; tests drive the result with CliRunner)."""
    if any(command.name == "stack" for command in app.registered_commands):
        return app
    from sync.cli.stack import stack

    app.command("stack", add_help_option=False, context_settings={
        "allow_extra_args": True, "ignore_unknown_options": True})(stack)
    from sync.cli.demo import demo

    app.command()(demo)
    from sync.cli.dlq import dlq_app

    app.add_typer(dlq_app, name="dlq")
    from sync.cli.conflicts import conflicts_app

    app.add_typer(conflicts_app, name="conflicts")
    from sync.cli.status import status

    app.command("status")(status)
    from sync.cli.ingest import ingest_app

    app.command("schemas")(write_schemas)

    app.add_typer(ingest_app, name="ingest")
    from sync.cli.matches import matches_app, split_command

    app.add_typer(matches_app, name="matches")
    fiche_app.command("split")(split_command)
    from sync.cli.link_initial import link_initial

    app.command("link-initial")(link_initial)
    from sync.search.cli import index_command, search_command

    app.command("index")(index_command)
    app.command("search")(search_command)
    from sync.cli.search_demo import demo_search

    app.command("demo-search")(demo_search)
    from sync.cli.outbox import outbox_app

    app.add_typer(outbox_app, name="outbox")
    from sync.cli.vacuum import vacuum

    app.command("vacuum")(vacuum)

    from sync.cli.console import console_command, users_app

    app.command("console")(console_command)
    app.add_typer(users_app, name="users")
    return app


def main() -> None:
    """Entry point of the ``sksync`` console script."""
    build_app()()
