"""The cost of the initial load from 20,000 to 1,000,000 events (``--sizes``).

Each size runs on a database and topics of its own (the same broker and server; a new topic
prefix and database, both removed afterwards): publish the events, start the service, wait
(bounded) for the last fiche event, read what it cost. Per size: events/s, CPU milliseconds per
event per process (service, PostgreSQL backends, Kafka) and in total, the service's peak RSS,
and rows and index entries written per fiche. Flat or falling cost per event as the size grows
means the total cost grows at most linearly.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from rich.table import Table

from bench.events import EventFactory
from bench.infra import Endpoints, ServiceGroup, create_topics, new_run
from bench.kafka_io import bulk_producer
from bench.load import initial_load
from bench.publish import publish_professionals
from bench.writes import phase_writes, settled_snapshot
from sync.producers.kafka import client_options
from sync.settings import Settings
from sync.store.migrate import migrate

__all__ = ["PROCESSES", "cpu_markers", "measure_size", "migrate_database", "scale_table",
           "size_figures"]

#: The processes whose CPU time is read: key in ``cpu_s``, name in the table.
PROCESSES = (("service", "service"), ("postgresql", "PostgreSQL"), ("kafka", "Kafka"))


def cpu_markers(settings: Settings, where: Endpoints) -> dict[str, str]:
    """What names the processes besides the service in their command lines: the PostgreSQL
    backends serving this run's database, and the local broker (not seen when external)."""
    markers = {"postgresql": settings.database_url.split("?")[0].rsplit("/", 1)[1]}
    if where.stack_dir is not None:
        markers["kafka"] = str(where.stack_dir / "kafka")
    return markers


async def measure_size(
    where: Endpoints, size: int, partitions: int, instances: int,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One size, on a fresh database and topics: the load's rate and its cost per event."""
    async with new_run(where) as settings:
        await create_topics(settings, partitions)
        await migrate_database(settings.database_url)
        say(f"size {size:,}: publishing (before the clock starts)")
        started = time.perf_counter()
        async with bulk_producer(settings) as producer:
            await publish_professionals(producer, settings.topics.name("cobrha_professional"),
                                        size, EventFactory())
        published_s = time.perf_counter() - started
        say(f"size {size:,}: published in {published_s:.1f} s; starting the service")
        logs = Path(tempfile.mkdtemp(prefix=f"sksync-bench-scale-{size}-"))
        service = ServiceGroup.of(settings, logs, instances)
        try:
            before = await settled_snapshot(settings.database_url)
            load = await initial_load(settings, service, size, timeout=max(120.0, size / 50),
                                      markers=cpu_markers(settings, where))
            peak = max(service.peak_rss_mb_each())
            after = await settled_snapshot(
                settings.database_url, timeout=max(30.0, size / 10_000),
                ready=lambda s: s.tables.get("fiche", (0,))[0] >= size)
        finally:
            await service.stop()
        writes = await phase_writes(settings.database_url, before, after, size)
        await _delete_topics(settings)
    say(f"size {size:,}: {load['events_per_s']:,.0f} events/s ({load['seconds']:.1f} s)")
    return size_figures(load, peak, writes, published_s)


def size_figures(load: dict[str, Any], peak_rss_mb: float, writes: dict[str, Any],
                 published_s: float) -> dict[str, Any]:
    """The figures of one size from its load, peak RSS and writes (pure)."""
    events = load["events"]
    cpu = load.get("cpu_s") or {}
    per_event = {key: 1000 * cpu[key] / events for key, _ in PROCESSES if key in cpu}
    return {
        "events": events, "seconds": load["seconds"], "events_per_s": load["events_per_s"],
        "published_s": published_s, "cpu_s": cpu, "cpu_ms_per_event": per_event,
        "cpu_ms_per_event_total": (sum(per_event.values())
                                   if len(per_event) == len(PROCESSES) else None),
        "peak_rss_mb": peak_rss_mb, "rows_per_fiche": writes["rows_per_fiche"],
        "index_entries_per_fiche": writes["index_entries_per_fiche"],
        "wal_bytes_per_fiche": writes["wal_bytes_per_fiche"], "initial_load": load}


def scale_table(sizes: list[dict[str, Any]]) -> Table:
    """Size, events/s, CPU ms per event per process and in total, peak RSS, rows and index
    entries per fiche; each size's total cost per event also relative to the smallest's."""
    table = Table(title="cost of the initial load by size (each on a fresh database and topics)")
    for name in ("events", "events/s", "CPU ms/event: service", "PostgreSQL", "Kafka",
                 "total", "vs smallest", "peak RSS MB", "rows / fiche", "index entries / fiche"):
        table.add_column(name, justify="right")
    ordered = sorted(sizes, key=lambda s: s["events"])
    base = ordered[0].get("cpu_ms_per_event_total") if ordered else None
    for size in ordered:
        per = size["cpu_ms_per_event"]
        total = size.get("cpu_ms_per_event_total")
        table.add_row(
            f"{size['events']:,}", f"{size['events_per_s']:,.0f}",
            *(_ms(per.get(key)) for key, _ in PROCESSES), _ms(total),
            f"{total / base:.2f}x" if total and base else "-",
            f"{size['peak_rss_mb']:,.0f}", f"{size['rows_per_fiche']:.2f}",
            f"{size['index_entries_per_fiche']:.1f}")
    return table


def _ms(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


async def migrate_database(url: str) -> None:
    """The service's migrations, before the first reading of the counters: the migrations'
    rows are not the load's, and the load's clock no longer holds an empty database's."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


async def _delete_topics(settings: Settings) -> None:
    """This size's topics: a million events take gigabytes the next size needs."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(settings.topics.prefix)]
        with contextlib.suppress(Exception):  # left to the stack's own removal
            await admin.delete_topics(names)
    finally:
        await admin.close()
