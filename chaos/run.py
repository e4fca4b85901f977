"""``python -m chaos.run``: the fault-injection run (``make chaos``); ``--quick`` for CI.

Exit code 0 when every check passed, 1 when a check failed, 2 when the run could not be
carried out (the stack did not start, a bounded wait ran out before any check could run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from chaos.checks import (
    Check,
    check_dead_letters,
    check_order,
    check_outbox,
    check_versions,
    gather_both,
    lost_and_doubled,
    outcomes,
    verify_run,
)
from chaos.drive import Stuck
from chaos.infra import Infra, infrastructure, new_workdir, remove_workdir
from chaos.report import print_report, write_report
from chaos.scenario import FaultPlan, Pass, drop, new_run_id, prepare, run_pass
from chaos.stream import Stream, generate
from sync.observability.logging import configure_logging

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"


class Interrupted(BaseException):
    """SIGTERM or SIGINT: stop, but clean up first."""


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="the short form for CI: 3,000 events, 3 kills, both restarts")
    parser.add_argument("--events", type=int, help="source events (default 100,000; quick 3,000)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--kills", type=int, help="SIGKILLs (default 6; quick 3)")
    parser.add_argument("--chunks", type=int, help="publishing chunks (default events/2,000)")
    parser.add_argument("--settle-timeout", type=float,
                        help="seconds a pass may take to drain (default 900; quick 120)")
    parser.add_argument("--out", type=Path, help="JSON figures (default chaos/results/"
                        "latest.json; quick: chaos/results/quick.json)")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the service logs even when every check passes")
    parser.add_argument("--brokers", type=int, choices=(1, 3),
                        help="Kafka brokers of the chaos pass (default 1; 3 with --kill-leader)")
    parser.add_argument("--kill-leader", action="store_true",
                        help="on three brokers: SIGKILL the broker leading partition 0 of "
                        "sk.fiche.event during the load, start it again two chunks later "
                        "(instead of restarting the whole cluster)")
    options = parser.parse_args(argv)
    if options.kill_leader and options.brokers == 1:
        parser.error("--kill-leader needs --brokers 3")
    options.brokers = options.brokers or (3 if options.kill_leader else 1)
    quick = options.quick
    options.events = options.events or (3_000 if quick else 100_000)
    options.kills = options.kills if options.kills is not None else (3 if quick else 6)
    options.chunks = options.chunks or (12 if quick else None)
    options.settle_timeout = options.settle_timeout or (120.0 if quick else 900.0)
    options.out = options.out or RESULTS / ("quick.json" if quick else "latest.json")
    return options


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    console = Console()
    # Our own short-lived clients meet the outages we cause; their reconnect noise is no news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    configure_logging("console", "WARNING")

    def interrupt(signum: int, _: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    started = time.monotonic()
    with console.status(f"generating {options.events:,} source events ..."):
        stream = generate(options.events, options.seed, options.chunks)
    run_id = new_run_id()
    logdir = options.out.parent / "logs" / run_id
    logdir.mkdir(parents=True, exist_ok=True)
    workdir = new_workdir()
    passes: list[Pass] = []
    result: dict[str, Any] = {}
    try:
        console.log("starting Kafka and PostgreSQL (one pair per pass) ...")
        with infrastructure(workdir, options.brokers) as (ref_infra, run_infra):
            console.log(f"servers up; chaos pass restartable: Kafka "
                        f"{run_infra.kafka_restartable}, PostgreSQL "
                        f"{run_infra.postgres_restartable}")
            result = asyncio.run(_run(options, stream, (ref_infra, run_infra), run_id, logdir,
                                      passes, console))
    except Interrupted as signal_name:
        console.print(f"[red]interrupted ({signal_name}); cleaned up[/red]")
        return 130
    except Exception as failure:  # the stack did not start, or the run broke down
        result = _broken(options, stream, f"{type(failure).__name__}: {failure}")
    finally:
        for run in passes:
            run.fleet.close()
        remove_workdir(workdir)
    result.update(duration_s=round(time.monotonic() - started, 1), out=str(options.out),
                  logs=str(logdir))
    write_report(result, options.out)
    print_report(console, result)
    if result["passed"] and not options.keep_logs:
        shutil.rmtree(logdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            logdir.parent.rmdir()
    else:
        console.print(f"service logs: {logdir}")
    return 0 if result["passed"] else (2 if result.get("error") else 1)


async def _run(options: argparse.Namespace, stream: Stream, infra: tuple[Infra, Infra],
               run_id: str, logdir: Path, passes: list[Pass],
               console: Console) -> dict[str, Any]:
    ref_infra, run_infra = infra
    reference = await prepare(ref_infra, run_id, "ref", logdir)
    chaos = await prepare(run_infra, run_id, "run", logdir)
    passes += [reference, chaos]
    plan = FaultPlan.draw(options.seed, len(stream.chunks), options.kills, run_infra,
                          kill_leader=options.kill_leader)
    error = None
    # The passes run side by side: the reference on servers that no fault touches.
    with console.status(f"{stream.total:,} events through a fault-free service and through "
                        f"one under {len(plan.faults)} faults ..."):
        outcome = await asyncio.gather(
            run_pass(stream, reference, ref_infra, None, options.settle_timeout, options.seed),
            run_pass(stream, chaos, run_infra, plan, options.settle_timeout, options.seed),
            return_exceptions=True)
    for name, failure in zip(("reference", "chaos"), outcome, strict=True):
        if isinstance(failure, BaseException):
            if not isinstance(failure, Stuck | RuntimeError):
                raise failure
            error = (error + "; " if error else "") + f"{name} pass: {failure}"
            console.print(f"[red]{name} pass: {failure}[/red]")
    console.log(f"reference pass: {reference.seconds}; chaos pass: {chaos.seconds}")
    try:
        with console.status("reading back both runs ..."):
            ref_seen, run_seen = await gather_both(reference.settings, chaos.settings)
        checks = verify_run(stream, ref_seen, run_seen, chaos.settings)
        checks += _reference_checks(stream, ref_seen, reference)
    except Exception as failure:  # the run cannot be judged: say why, fail
        error = error or f"reading back failed: {type(failure).__name__}: {failure}"
        checks, ref_seen, run_seen = [], None, None
    if error:
        checks.insert(0, Check("both runs settled (bounded waits)", False, error))
    if run_infra.stack is None:  # external servers: leave no databases behind
        for run in passes:
            await drop(run_infra, run)
    return _result(options, stream, plan, reference, chaos, checks, ref_seen, run_seen, error)


def _broken(options: argparse.Namespace, stream: Stream, error: str) -> dict[str, Any]:
    return {"finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": "quick" if options.quick else "full", "seed": options.seed,
            "passed": False, "error": error, "stream": {"events": stream.total},
            "checks": [{"name": "the run could be carried out", "ok": False, "figure": error,
                        "detail": {}}]}


def _reference_checks(stream: Stream, seen: Any, reference: Pass) -> list[Check]:
    versions = check_versions(seen)
    outbox = check_outbox(seen, reference.settings)
    lost, doubled = lost_and_doubled(stream, seen, versions, outbox)
    found = [versions, check_order(seen), check_dead_letters(stream, seen, reference.settings),
             lost, doubled]
    for check in found:
        check.name = f"reference run: {check.name}"
    return found


def _result(options: argparse.Namespace, stream: Stream, plan: FaultPlan, reference: Pass,
            chaos: Pass, checks: list[Check], ref_seen: Any, run_seen: Any,
            error: str | None) -> dict[str, Any]:
    by_name = {c.name: c for c in checks}
    lost = by_name.get("events lost")
    doubled = by_name.get("duplicated effects")
    injected = {kind: chaos.counts[kind] for kind in
                ("sigkill", "kafka-restart", "leader-kill", "leader-return", "postgres-restart",
                 "database-silence", "second-instance-start", "second-instance-stop")}
    figures: dict[str, Any] = {
        "events_lost": lost.detail["lost"] if lost else None,
        "duplicated_effects": doubled.detail["duplicated"] if doubled else None,
        "service_processes_started": chaos.counts["instance-start"]
        + chaos.counts["second-instance-start"],
        "reference_seconds": reference.seconds, "chaos_seconds": chaos.seconds,
    }
    if ref_seen is not None and run_seen is not None:
        figures.update(
            fiches=len(run_seen.versions),
            fiche_versions_reference=ref_seen.history_rows,
            fiche_versions_chaos=run_seen.history_rows,
            open_conflicts=sum(len(f["conflicts"]) for f in run_seen.snapshot.values()),
            pins=sum(len(f["pins"]) for f in run_seen.snapshot.values()),
            outcomes_reference=outcomes(ref_seen), outcomes_chaos=outcomes(run_seen),
            downstream_copies_resent=len(run_seen.fiche_events) - len(
                {e[0] for e in run_seen.fiche_events}),
        )
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if options.quick else "full", "seed": options.seed,
        "brokers": options.brokers,
        "passed": bool(checks) and all(c.ok for c in checks) and error is None,
        "error": error,
        "stream": {"events": stream.total, "chunks": len(stream.chunks),
                   "valid_events": len(stream.valid_events()),
                   "poison": {kind: sum(1 for p in stream.poison if p.kind == kind)
                              for kind in sorted({p.kind for p in stream.poison})},
                   "composition": dict(sorted(stream.composition.items()))},
        "faults": {"injected": injected, "skipped": plan.skipped, "timeline": chaos.events},
        "figures": figures,
        "checks": [{"name": c.name, "ok": c.ok, "figure": c.figure, "detail": c.detail}
                   for c in checks],
    }


if __name__ == "__main__":
    sys.exit(main())
