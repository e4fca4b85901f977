"""``python -m bench.run``: the whole benchmark in one run, a table and ``bench/results/*.json``.

1. initial load of N CoBRHA professional events (published before the clock starts);
2. steady state at a fixed rate, latency from publish to fiche event, and per stage;
3. peak resident memory of the service (a ``sksync run`` subprocess; with --instances N,
   N of them sharing the partitions, the peak of each);
4. the limits: aiokafka raw consume, asyncpg COPY of the same rows;
5. Kafka Connect standalone with Debezium's JDBC sink on the same canonical records;
6. rows and index entries written per new fiche (the initial load) and per updated fiche (an
   update phase between the load and the steady state), from PostgreSQL's statistics;
7. the highest steady rate whose p99 stays under 250 ms (a short search);
8. the targets: each with its measured value, met or not and by how much, and for each one
   missed the figures of the run that account for it (:mod:`bench.why`).

With --sizes, only the initial load, once per size on a fresh database and topics, and the
cost per event at each size.
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

from bench.cpu import speed_index
from bench.events import PERSONS, EventFactory
from bench.infra import Endpoints, ServiceGroup, cpu_seconds, create_topics, endpoints, new_run
from bench.kafka_io import bulk_producer
from bench.limits import copy_rate, raw_consume_rate
from bench.load import initial_load
from bench.maintenance import watch_maintenance
from bench.phases import PhaseRunner
from bench.profile import summarize
from bench.publish import publish_professionals
from bench.ratesearch import SearchPlan, search
from bench.report import RESULTS, machine, print_table, write_results
from bench.scale import cpu_markers, measure_size, migrate_database, scale_table
from bench.statements import clear_statements, read_statements
from bench.targets import evaluate, rows_as_json, targets_table
from bench.updates import update_phase
from bench.why import explain, why_table
from bench.writes import Snapshot, phase_writes, settled_snapshot
from sync.ops.vacuum import vacuum_tables
from sync.settings import Settings

__all__ = ["main", "run"]

console = Console(stderr=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="initial load size")
    parser.add_argument("--rates", type=float, nargs="+", default=None, metavar="RATE",
                        help="steady phases, one per rate (events/s), one after the other "
                             "(default 100 500: the rates of the latency targets)")
    parser.add_argument("--rate", type=float, default=None,
                        help="one steady phase at this rate (the same as --rates RATE)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="duration of each steady phase")
    parser.add_argument("--no-rate-search", dest="rate_search", action="store_false",
                        help="skip the search for the highest rate with p99 < 250 ms")
    parser.add_argument("--search-seconds", type=float, default=None,
                        help="duration of each phase of the rate search (default 12; 3 with "
                             "--quick)")
    parser.add_argument("--search-budget", type=float, default=None,
                        help="the rate search's whole time in seconds, at most (default 240; "
                             "30 with --quick)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                        help="only initial loads, one per size on a fresh database and topics,"
                             " and a table of the cost per event by size (e.g. 20000 200000 "
                             "1000000)")
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
                        help="3,000 events, 100/s and 500/s for 5 s each, a rate search of 30 s,"
                             " no Kafka Connect (about 2 minutes)")
    parser.add_argument("--connect", action="store_true", default=None,
                        help="run Kafka Connect (default: on, off with --quick)")
    parser.add_argument("--no-connect", dest="connect", action="store_false")
    parser.add_argument("--vacuum", action="store_true",
                        help="after the load (and its updates), vacuum and analyse every table "
                             "as `sksync vacuum` does, before the steady phases")
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
    if args.sizes and min(args.sizes) < 1:
        parser.error("--sizes must be at least 1 each")
    if max(args.sizes or [args.events]) > PERSONS:
        parser.error(f"a load holds at most {PERSONS:,} professionals (distinct NIHII persons)")
    if args.partitions < args.instances:
        say(f"[yellow]warning:[/yellow] --partitions {args.partitions} < --instances "
            f"{args.instances}: each consumer group has only {args.partitions} partition(s), "
            f"so {args.instances - args.partitions} instance(s) will hold none; use "
            f"--partitions >= {args.instances}")
    if args.rates is None:
        args.rates = [args.rate] if args.rate is not None else [100.0, 500.0]
    args.rate = args.rates[-1]  # the last phase's rate: "steady_state" in the JSON, as before
    if args.search_seconds is None:
        args.search_seconds = 3.0 if args.quick else 12.0
    if args.search_budget is None:
        args.search_budget = 30.0 if args.quick else 240.0
    if args.quick:
        if args.events == 200_000:
            args.events = 3_000
        if args.seconds == 60.0:
            args.seconds = 5.0
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
        "quick": args.quick, "connect": args.connect, "updates": args.updates,
        "rates": args.rates, "rate_search": args.rate_search}}
    async with new_run(where) as settings:
        result["machine"].update(await _versions(settings))
        await create_topics(settings, args.partitions)
        # Migrated before the counters are read: the migrations' rows are not the load's.
        await migrate_database(settings.database_url)
        factory = EventFactory()
        source = settings.topics.name("cobrha_professional")
        say(f"publishing {args.events:,} source events (before the clock starts)")
        started = time.perf_counter()
        async with bulk_producer(settings) as producer:
            await publish_professionals(producer, source, args.events, factory)
        # Once the broker has settled from its start and the publishing (two vCPUs may share
        # a core: a busy neighbour slows this process's CPU second too).
        speed = result["machine"]["map_us_per_event"] = {"before": speed_index()}
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
            markers = cpu_markers(settings, where)
            unusable = await clear_statements(settings.database_url)
            load = await initial_load(settings, service, args.events,
                                      timeout=max(60.0, args.events / 50), profile_to=raw,
                                      markers=markers)
            result["initial_load"] = load
            result["statements"] = await read_statements(settings.database_url, unusable,
                                                         args.events)
            if raw is not None:
                result["profile"] = summarize(raw)
                if instances > 1 and result["profile"]:
                    result["profile"]["sampled"] = f"the first of {instances} instances only"
            peak_after_load = service.peak_rss_mb_each()
            say(f"initial load: {load['events_per_s']:,.0f} events/s end to end "
                f"({load['seconds']:.1f} s); {args.updates:,} updates, then steady state at "
                f"{', '.join(f'{r:g}/s' for r in args.rates)} for {args.seconds:g} s each")
            result["writes"], versions = await _writes(settings, factory, args, before_load)
            if args.vacuum:
                result["vacuum_after_load"] = await _vacuum(settings.database_url)
            runner = PhaseRunner(
                settings, factory, args.events, versions, say=say, one_hop=service.one_hop,
                cpu=lambda: {"service": service.cpu_seconds(), **cpu_seconds(markers)})
            result["steady_states"] = await _steady_phases(runner, args, service)
            result["steady_state"] = result["steady_states"][-1]
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
            result["rate_search"] = await _rate_search(runner, args)
            if args.rate_search:  # overload may raise the high-water mark: the target's peak
                result["memory"]["peak_rss_mb_after_rate_search"] = service.peak_rss_mb()
        finally:
            await service.stop()
        speed["after"] = speed_index()
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


async def _vacuum(url: str) -> dict[str, Any]:
    """``sksync vacuum`` after the load: its seconds in all, and those of the largest tables."""
    conn = await asyncpg.connect(url)
    try:
        done = await vacuum_tables(conn)
    finally:
        await conn.close()
    total = sum(d.seconds for d in done)
    say(f"vacuumed and analysed {len(done)} tables in {total:.1f} s")
    return {"seconds": total,
            "tables_s": {d.table: round(d.seconds, 2) for d in done if d.seconds >= 0.5}}


async def _steady_phases(
    runner: PhaseRunner, args: argparse.Namespace, service: ServiceGroup,
) -> list[dict[str, Any]]:
    """One steady phase per rate of ``--rates``, in order; the backlog of one the service did
    not keep up with is worked off (bounded) before the next starts. Each phase has the
    service's garbage-collector passes meanwhile (``gc``; None when a service did not say) and
    PostgreSQL's autovacuum work (``maintenance``) and statements (``statements``, per event
    published in the phase)."""
    phases = []
    for rate in args.rates:
        say(f"steady state: {rate:g}/s for {args.seconds:g} s")
        before = await runner.fiche_events()
        settle = max(60.0, rate * args.seconds / 100)
        gc_before = await service.gc_reading()
        url = runner.settings.database_url
        unusable = await clear_statements(url)
        async with watch_maintenance(url) as maintenance:
            phase = await runner.phase(rate, args.seconds, settle_s=settle)
        gc_after = await service.gc_reading()
        phase["maintenance"] = maintenance
        phase["statements"] = await read_statements(url, unusable, phase["published"], top=5)
        phase["gc"] = (gc_after.since(gc_before)
                       if gc_before is not None and gc_after is not None else None)
        phases.append(phase)
        if phase["missing"] and not await runner.drain(before + phase["published"], settle):
            say(f"[yellow]warning:[/yellow] the backlog of the {rate:g}/s phase was not worked "
                f"off in {settle:.0f} s more: the next phase starts behind")
    return phases


async def _rate_search(runner: PhaseRunner, args: argparse.Namespace) -> dict[str, Any]:
    if not args.rate_search:
        return {"skipped": "not asked (--no-rate-search)"}
    plan = SearchPlan(seconds=args.search_seconds, budget_s=args.search_budget,
                      settle_s=min(10.0, max(3.0, args.search_seconds)))
    found = await search(runner, plan)
    say(f"rate search: highest rate with p99 < {plan.bound_ms:g} ms: "
        f"{found['highest_rate'] or 'none'} ({found['seconds']:.0f} s)")
    return found


async def run_sizes(args: argparse.Namespace, where: Endpoints) -> dict[str, Any]:
    """``--sizes``: the initial load at each size, on a fresh database and topics each."""
    result: dict[str, Any] = {"machine": machine(), "arguments": {
        "sizes": args.sizes, "partitions": args.partitions, "instances": args.instances}}
    sizes = []
    for size in args.sizes:
        sizes.append(await measure_size(where, size, args.partitions, args.instances, say=say))
    result["scale"] = sizes
    not_here = "not part of a --sizes run"
    result["kafka_connect"] = {"skipped": not_here}
    result["rate_search"] = {"skipped": not_here}
    # The targets that one load measures, from the 200,000 when run, else the largest.
    reference = next((s for s in sizes if s["events"] == 200_000),
                     max(sizes, key=lambda s: s["events"]))
    result["reference_size"] = reference["events"]
    result["initial_load"] = reference["initial_load"]
    result["memory"] = {"peak_rss_mb": reference["peak_rss_mb"]}
    result["writes"] = {"new_fiche": {key: reference[key] for key in
                                      ("rows_per_fiche", "index_entries_per_fiche")}}
    return result


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
        result = asyncio.run(run_sizes(args, where) if args.sizes else run(args, where))
    rows = evaluate(result)
    result["targets"] = rows_as_json(rows)
    result["why"] = explain(result, rows)
    out = Console(width=160)
    if args.sizes:
        out.print(scale_table(result["scale"]))
        title = f"targets (load figures from the {result['reference_size']:,}-event load)"
    else:
        print_table(result, out)
        title = "targets"
    out.print(targets_table(rows, title))
    if result["why"]:
        out.print(why_table(result["why"], rows))
    if not args.no_save:
        kind = "scale-" if args.sizes else ""
        path = write_results(result, args.results or RESULTS, kind=kind)
        say(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
