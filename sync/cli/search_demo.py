"""``sksync demo-search``: the demo's sample feed, then the search index built from its events.

Starts the local stack with its OpenSearch node, runs the service on the sample feed (as
``sksync demo`` does), then the indexer until it has read every fiche event, and shows what a
person searching the directory would get for a few searches.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sync.cli.demo import SAMPLES, _print, _run
from sync.cli.stack import local_extra
from sync.observability.logging import configure_logging
from sync.ops.lag import group_lag
from sync.search.cli import render_hits
from sync.search.indexer import Indexer, search_client
from sync.search.query import search_body
from sync.search.settings import SearchSettings, index_group
from sync.settings import Settings, Topics
from sync.store.dsn import create_database, drop_database

__all__ = ["QUERIES", "demo_search"]

QUERIES = ("psycholoog", "thuisverpleegkundige", "kinesist", "Zwalm", "logopedist Oudenaarde")


def demo_search(
    query: Annotated[list[str] | None, typer.Option(help="A search to show (repeatable).")]
    = None,
    samples: Annotated[Path, typer.Option(help="Folder of *.jsonl sample feeds.")] = SAMPLES,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each stage.")] = 120.0,
    keep_stack: Annotated[bool, typer.Option(help="Leave the stack running.")] = False,
) -> None:
    """The sample feed through the service, then the search index, then a few searches."""
    with local_extra():
        from devstack.opensearch import start_search
        from devstack.stack import LocalStack

    configure_logging("console", "WARNING")
    console, stack = Console(), LocalStack()
    with console.status("starting Kafka, PostgreSQL and OpenSearch ..."):
        endpoints = stack.up()
        url = start_search(stack.stack_dir, stack.env_file)
    try:
        run_id = uuid.uuid4().hex[:8]
        os.environ["SKSYNC_KAFKA_BOOTSTRAP_SERVERS"] = endpoints.kafka_bootstrap
        database = f"sksync_demo_{run_id}"
        os.environ["SKSYNC_DATABASE_URL"] = asyncio.run(
            create_database(endpoints.database_url, database))
        settings = Settings(topics=Topics(prefix=f"demo-{run_id}."),
                            consumer_group=f"sksync-demo-{run_id}", http_port=0)
        search = SearchSettings(url=url, index=f"demo-{run_id}-fiches", http_port=0)
        try:
            files = sorted(samples.glob("*.jsonl"))
            _print(console, asyncio.run(_run(settings, files, timeout, console)))
            with console.status("indexing the fiche events ..."):
                asyncio.run(_index(settings, search, timeout))
        finally:
            asyncio.run(drop_database(endpoints.database_url, database))
        client = search_client(search)
        client.indices.refresh(index=search.index)
        for text in query or QUERIES:
            hits = client.search(index=search.index, body=search_body(text, 5))["hits"]["hits"]
            console.print(render_hits(text, hits))
    finally:
        if not keep_stack:
            stack.down()


async def _index(settings: Settings, search: SearchSettings, timeout: float) -> None:
    """Run the indexer until its group has read every fiche event."""
    indexer = Indexer(settings, search)
    task = asyncio.create_task(indexer.run())
    deadline = time.monotonic() + timeout
    topic = [settings.topics.name("fiche_event")]
    try:
        while time.monotonic() < deadline and not task.done():
            rows = await group_lag(settings, index_group(settings), topic)
            if rows and sum(row.lag for row in rows) == 0:  # uncommitted data counts as lag
                return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"the index did not catch up within {timeout:.0f} s")
    finally:
        indexer.stop()
        await asyncio.wait_for(task, 30)
