"""``sksync index`` (the indexer) and ``sksync search`` (a query against its index)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sync.observability.logging import configure_logging
from sync.search.query import search_body
from sync.search.settings import SearchSettings
from sync.settings import Settings

__all__ = ["index_command", "render_hits", "search_command"]


def index_command(
    rebuild: Annotated[bool, typer.Option(
        help="Fill a new index from the beginning of sk.fiche.event, then put it behind the "
             "alias (stop the running indexer first).")] = False,
) -> None:
    """Keep the search index current from the fiche events (its own consumer group)."""
    from prometheus_client import start_http_server

    from sync.search.indexer import Indexer

    settings, search = Settings(), SearchSettings()
    configure_logging(settings.log_format, settings.log_level)
    if search.http_port:
        start_http_server(search.http_port)  # /metrics, including its consumer lag
    asyncio.run(_run(Indexer(settings, search, rebuild=rebuild)))


async def _run(indexer: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, indexer.stop)
    await indexer.run()


def search_command(
    text: Annotated[str, typer.Argument(help='What a person types: "psycholoog Horebeke"')],
    size: Annotated[int, typer.Option(help="How many results.")] = 10,
) -> None:
    """Search the index as the public directory would, and show the results."""
    from sync.search.indexer import search_client

    search = SearchSettings()
    response = search_client(search).search(index=search.index, body=search_body(text, size))
    Console().print(render_hits(text, response["hits"]["hits"]))


def render_hits(text: str, hits: list[dict[str, Any]]) -> Table:
    """A table of search results: rank, name, kind, professions or kind, where."""
    table = Table(title=f"search: {text}")
    for column in ("#", "name", "category", "what", "where", "score"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        doc = hit["_source"]
        what = ", ".join(doc.get("professions", [])[:2] or doc.get("organisationLabels", []))
        where = "; ".join(doc.get("addresses", [])[:1])
        table.add_row(str(rank), doc.get("name", ""), doc.get("category", ""), what, where,
                      f"{hit.get('_score') or 0:.2f}")
    return table
