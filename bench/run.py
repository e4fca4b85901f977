"""``python -m bench.run``: the whole benchmark in one run, a table and ``bench/results/*.json``.

1. initial load of N CoBRHA professional events (published before the clock starts);
2. steady state at a fixed rate, latency from publish to fiche event, and per stage;
3. peak resident memory of the service (a ``sksync run`` subprocess; with --instances N,
   N of them sharing the partitions, the peak of each);
4. the limits: aiokafka raw consume, asyncpg COPY of the same rows;
5. Kafka Connect standalone with Debezium's JDBC sink on the same canonical records;
6. rows and index entries written per new fiche (the initial load) and per updated fiche (an
   update phase between the load and the steady state), from PostgreSQL's statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console

from bench.events import EventFactory
from bench.infra import Endpoints, ServiceGroup, create_topics, endpoints, new_run
from bench.kafka_io import bulk_producer, publish_events
from bench.limits import copy_rate, raw_consume_rate
from bench.load import initial_load
from bench.profile import summarize
from bench.report import machine, print_table, write_results
from bench.steady import steady_state
from bench.updates import update_phase
from bench.writes import Snapshot, phase_writes, settled_snapshot
from sync.settings import Settings
from sync.store.migrate import migrate

__all__ = ["main", "run"]

console = Console(stderr=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="initial load size")
    parser.add_argument("--rate", type=float, default=500.0, help="steady events/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady duration")
    parser.add_argument("--partitions", type=int, default=3,
                        help="partitions per topic (at least --instances, or some idle)")
    parser.add_argument("--instances", type=int, default=1,
                        help="sksync run processes sharing the partitions (same consumer "
                             "groups, database and topics), each on its own HTTP port")
    parser.add_argument("--stages", nargs="+", default=None, metavar="STAGES",
                        help="one process per item, running those stages (SKSYNC_STAGES), e.g. "
                             "'--stages map apply,relay'; sets --instances to their number")
    parser.add_argument("--updates", type=int, default=None,
                        help="new versions of loaded professionals applied after the load, "
                             "to measure what an updated fiche writes (default 2,000; 1,000 "
                             "with --quick; at most --events)")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 events, 200/s for 10 s, no Kafka Connect (< 2 minutes)")
    parser.add_argument("--connect", action="store_true", default=None,
                        help="run Kafka Connect (default: on, off with --quick)")
    parser.add_argument("--no-connect", dest="connect", action="store_false")
    parser.add_argument("--results", type=Path, default=None, help="folder for the JSON")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--profile", action="store_true",
                        help="sample the service with py-spy during the initial load "
                             "(the first instance only)")
    args = parser.parse_args(argv)
    if args.stages:
        args.instances = len(args.stages)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    if args.partitions < args.instances:
        say(f"[yellow]warning:[/yellow] --partitions {args.partitions} < --instances "
            f"{args.instances}: each consumer group has only {args.partitions} partition(s), "
            f"so {args.instances - args.partitions} instance(s) will hold none; use "
            f"--partitions >= {args.instances}")
    if args.quick:
        if args.events == 200_000:
            args.events = 3_000
        if args.rate == 500.0:
            args.rate = 200.0
        if args.seconds == 60.0:
            args.seconds = 10.0
    if args.connect is None:
        args.connect = not args.quick
    if args.updates is None:
        args.updates = 1_000 if args.quick else 2_000
    args.updates = max(0, min(args.updates, args.events))
    return args


def say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


async def run(args: argparse.Namespace, where: Endpoints) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "arguments": {
        "events": args.events, "rate": args.rate, "seconds": args.seconds,
        "partitions": args.partitions, "instances": args.instances, "stages": args.stages,
        "quick": args.quick, "connect": args.connect, "updates": args.updates}}
    async with new_run(where) as settings:
        result["machine"].update(await _versions(settings))
        await create_topics(settings, args.partitions)
        # Migrated before the counters are read: the migrations' rows are not the load's.
        await _migrate(settings.database_url)
        factory = EventFactory()
        source = settings.topics.name("cobrha_professional")
        say(f"publishing {args.events:,} source events (before the clock starts)")
        started = time.perf_counter()
        async with bulk_producer(settings) as producer:
            await publish_events(producer, source,
                                 (factory.professional(i) for i in range(args.events)))
        instances = args.instances
        say(f"published in {time.perf_counter() - started:.1f} s; starting the service"
            + (f" ({instances} instances)" if instances > 1 else ""))
        logs = Path(tempfile.mkdtemp(prefix="sksync-bench-log-"))
        service = ServiceGroup.of(settings, logs, instances, stages=args.stages)
        try:
            raw = logs / "profile.txt" if args.profile else None
            if raw is not None and instances > 1:
                say(f"--profile: py-spy samples the first of the {instances} instances only")
            before_load = await settled_snapshot(settings.database_url)
            markers = {"postgresql": settings.database_url.split("?")[0].rsplit("/", 1)[1]}
            if where.stack_dir is not None:
                markers["kafka"] = str(where.stack_dir / "kafka")
            load = await initial_load(settings, service, args.events,
                                      timeout=max(60.0, args.events / 50), profile_to=raw,
                                      markers=markers)
            result["initial_load"] = load
            if raw is not None:
                result["profile"] = summarize(raw)
                if instances > 1 and result["profile"]:
                    result["profile"]["sampled"] = f"the first of {instances} instances only"
            peak_after_load = service.peak_rss_mb_each()
            say(f"initial load: {load['events_per_s']:,.0f} events/s end to end "
                f"({load['seconds']:.1f} s); {args.updates:,} updates, then steady state "
                f"{args.rate:g}/s for {args.seconds:g} s")
            result["writes"], versions = await _writes(settings, factory, args, before_load)
            steady = await steady_state(settings, factory, args.events, rate=args.rate,
                                        seconds=args.seconds,
                                        settle_s=max(60.0, args.rate * args.seconds / 100),
                                        versions=versions, one_hop=service.one_hop)
            result["steady_state"] = {
                "rate": args.rate, "seconds": args.seconds, "published": steady.published,
                "new": steady.new, "updates": steady.updates, "matched": len(steady.latencies),
                "missing": steady.missing, "achieved_rate": steady.published / steady.seconds,
                **{f"{name}_ms": steady.percentile(q) * 1000 for name, q in
                   (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))},
                "stages": steady.stages}
            if instances > 1 and service.dead():  # the others took its partitions over
                result["steady_state"]["instances_died"] = service.dead()
                say(f"[yellow]warning:[/yellow] instance(s) {service.dead()} died; see {logs}")
            peak = service.peak_rss_mb_each()
            result["memory"] = {"peak_rss_mb_after_load": max(peak_after_load),
                                "peak_rss_mb": max(peak)}
            if instances > 1:  # the memory target is per process: the table shows the max
                result["memory"]["per_instance"] = {"peak_rss_mb_after_load": peak_after_load,
                                                    "peak_rss_mb": peak}
            say(f"steady: p99 {result['steady_state']['p99_ms']:.1f} ms; "
                f"peak RSS {result['memory']['peak_rss_mb']:.0f} MB"
                + (f" (the largest of {instances} instances)" if instances > 1 else ""))
        finally:
            await service.stop()
        say("limits: raw consume and COPY")
        result["limits"] = {
            "raw_consume_per_s": await raw_consume_rate(settings, source, args.events),
            "copy": await copy_rate(settings.database_url, args.events,
                                    sample=min(args.events, 50_000)),
        }
        if args.connect:
            from bench.connect import connect_benchmark

            say("Kafka Connect standalone + Debezium JDBC sink")
            result["kafka_connect"] = await connect_benchmark(settings, args.events)
        else:
            result["kafka_connect"] = {"skipped": "not asked (--connect)"}
    _ratios(result)
    return result


async def _migrate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def _fiches(counters: Snapshot, column: int) -> int:
    return counters.tables.get("fiche", (0, 0, 0, 0))[column]


async def _writes(
    settings: Settings, factory: EventFactory, args: argparse.Namespace, before_load: Snapshot,
) -> tuple[dict[str, Any], dict[int, int]]:
    """What the load wrote per new fiche; then an update phase and what it wrote per updated
    fiche. Returns those figures and the versions the update phase left."""
    url = settings.database_url
    inserted = _fiches(before_load, 0) + args.events
    after_load = await settled_snapshot(url, ready=lambda s: _fiches(s, 0) >= inserted)
    made = _fiches(after_load, 0) - _fiches(before_load, 0)
    writes = {"new_fiche": await phase_writes(url, before_load, after_load, made)}
    if not args.updates:
        return writes, {}
    say(f"update phase: {args.updates:,} new versions of loaded professionals")
    versions = await update_phase(settings, factory, args.updates,
                                  timeout=max(60.0, args.updates / 20))
    updated = _fiches(after_load, 1) + args.updates
    after = await settled_snapshot(url, ready=lambda s: _fiches(s, 1) >= updated)
    writes["updated_fiche"] = await phase_writes(url, after_load, after, args.updates)
    return writes, versions


def _ratios(result: dict[str, Any]) -> None:
    rate = result["initial_load"]["events_per_s"]
    limits, connect = result["limits"], result["kafka_connect"]
    result["ratios"] = {
        "service_vs_raw_consume": rate / limits["raw_consume_per_s"],
        "service_vs_copy": rate / limits["copy"]["events_per_s"],
        "service_vs_connect": (rate / connect["events_per_s"]
                               if connect.get("events_per_s") else None),
    }


async def _versions(settings: Settings) -> dict[str, str]:
    from devstack import kafka_version, repo_root

    conn = await asyncpg.connect(settings.database_url)
    try:
        postgres = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    kafka = "external"
    with contextlib.suppress(Exception):
        kafka = kafka_version(repo_root() / "deploy" / "kafka" / "pom.xml")
    return {"postgresql": postgres, "kafka": kafka}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    say("starting Kafka and PostgreSQL (or using SKSYNC_*)")
    with endpoints() as where:
        result = asyncio.run(run(args, where))
    print_table(result, Console(width=140))
    if not args.no_save:
        path = write_results(result, args.results) if args.results else write_results(result)
        say(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
