"""Why each missed target is missed, from the run's own figures.

:func:`explain` reads a run's result (the dict :mod:`bench.run` writes as JSON) and the target
rows :func:`bench.targets.evaluate` made of it, and gives, for each target not met, the
figures of the same run that account for it:

- a load too slow, or too much CPU per event: the ceiling that CPU per event puts on the
  machine's cores and on the service's one thread, the largest process, where the service's
  thread went (with ``--profile``), and PostgreSQL's largest statement;
- a load too slow against Kafka Connect: what the service writes per new fiche against
  Connect's one row per record, and the ceiling its CPU per event allows;
- a steady phase over its p99: the stage its tail is in, autovacuum under way, the checkpoints
  and full-page images meanwhile, the collector's long pauses, the statement that took longest
  and one planned at every call.

Beside a slow load or phase, the machine's speed index (:func:`bench.cpu.speed_index`, before
and after the run) says how fast the machine was meanwhile, in the service's own terms.

Pure, like :mod:`bench.targets`: a figure the run did not produce is left out, never guessed.
``python -m bench.why bench/results/latest.json`` prints the targets and the reasons of a
stored run.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.report import wal_per_event
from bench.targets import (
    CPU_MS,
    LOAD_RATE,
    PROCESSES,
    VS_CONNECT,
    Row,
    cpu_per_event,
    evaluate,
    instances,
    steady_phases,
    targets_table,
)

__all__ = ["explain", "why_table"]

#: How many of the thread's stages and autovacuum's tables a reason names, at most.
_TOP = 3
#: The label of the statements table's last row, the rest of the statements summed.
_OTHERS = re.compile(r"\d+ others")


def explain(result: dict[str, Any], rows: Iterable[Row]) -> dict[str, list[str]]:
    """For each target row not met, the reasons the run's figures give (in the rows' order);
    a missed target whose figures say nothing more has no entry."""
    reasons: dict[str, list[str]] = {}
    phases = {f"steady_p99_ms_at_{float(p.get('rate', 0)):g}": p for p in steady_phases(result)}
    for row in rows:
        if row.status != "not met":
            continue
        if row.key == "load_events_per_s":
            found = _load(result)
        elif row.key == "load_vs_connect":
            found = _connect(result)
        elif row.key == "cpu_ms_per_event_total":
            found = _cpu(result)
        elif row.key in phases:
            found = [*_steady(phases[row.key]), *_busy(phases[row.key], result),
                     *_speed(result)]
        else:
            found = []
        if found:
            reasons[row.key] = found
    return reasons


def _per_event(result: dict[str, Any]) -> dict[str, float] | None:
    """CPU ms per source event of each process during the load, as the targets table has
    them; None when one is not seen."""
    each = cpu_per_event(result)
    seen = {key: value for key, value in each.items() if value is not None}
    return seen if len(seen) == len(each) else None


def _cores(result: dict[str, Any]) -> int | None:
    cores = (result.get("machine") or {}).get("cores")
    return cores if isinstance(cores, int) and cores > 0 else None


def _ceilings(result: dict[str, Any]) -> list[str]:
    """What the load's CPU per event allows on this machine and on the service's thread."""
    each, cores = _per_event(result), _cores(result)
    if each is None:
        return []
    total = sum(each.values())
    lines = []
    if cores is not None:
        lines.append(
            f"CPU per event {total:.2f} ms in all: {cores} cores allow at most "
            f"{cores * 1000 / total:,.0f} events/s whatever overlaps; "
            f"{LOAD_RATE.bound:,.0f}/s needs at most {cores * 1000 / LOAD_RATE.bound:.2f} ms")
    service, processes = each["service"], instances(result)
    busy = (result.get("initial_load") or {}).get("service_cpu_share")
    busy_text = (f"; it used {busy:.0%} of a core through the load"
                 if isinstance(busy, int | float) and processes == 1 else "")
    lines.append(
        f"the service's Python runs on one thread per process: {service:.2f} ms per event "
        f"allows at most {processes * 1000 / service:,.0f} events/s with {processes} "
        f"process{'es' if processes > 1 else ''} ({LOAD_RATE.bound:,.0f}/s needs at most "
        f"{processes * 1000 / LOAD_RATE.bound:.2f} ms){busy_text}")
    return lines


def _thread(result: dict[str, Any]) -> list[str]:
    """Where py-spy found the service's thread (``--profile``)."""
    stages = (result.get("profile") or {}).get("stages_pct") or {}
    if not stages:
        return []
    shares = ", ".join(f"{name} {pct:g} %" for name, pct in list(stages.items())[:_TOP + 1])
    return [f"the service's thread, sampled by py-spy: {shares}"]


def _statements(found: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The statements of a table 7, each on its own (not the others summed)."""
    return [s for s in (found or {}).get("statements") or []
            if isinstance(s, dict) and not _OTHERS.fullmatch(str(s.get("statement")))]


def _costliest(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The statement with the largest share of the statements' time (the batch's write)."""
    return max(statements, key=lambda s: s.get("share") or 0)


def _postgres(result: dict[str, Any]) -> list[str]:
    """PostgreSQL's largest statement in the load, and what a new fiche writes."""
    lines = []
    statements = _statements(result.get("statements"))
    if statements:
        top = _costliest(statements)
        lines.append(
            f"PostgreSQL: \"{top['statement']}\" took {100 * (top.get('share') or 0):.0f} % of "
            f"its statements' time, {top.get('exec_us_per_event', 0):,.0f} us and "
            f"{top.get('wal_bytes_per_event', 0) / 1024:.1f} kB of WAL per event")
    new = (result.get("writes") or {}).get("new_fiche") or {}
    if new.get("rows_per_fiche") and new.get("index_entries_per_fiche"):
        lines.append(f"a new fiche writes {new['rows_per_fiche']:.1f} rows and "
                     f"{new['index_entries_per_fiche']:.1f} index entries (table 6)")
    copy = ((result.get("limits") or {}).get("copy") or {}).get("events_per_s")
    if isinstance(copy, int | float) and copy > 0:
        lines.append(f"COPY of the same rows, the fastest PostgreSQL takes them: "
                     f"{copy:,.0f} events/s")
    return lines


def _load(result: dict[str, Any]) -> list[str]:
    return [*_ceilings(result), *_largest(result), *_thread(result), *_postgres(result),
            *_speed(result)]


def _largest(result: dict[str, Any]) -> list[str]:
    each = _per_event(result)
    if each is None:
        return []
    total = sum(each.values())
    key, name = max(PROCESSES, key=lambda p: each[p[0]])
    return [f"the largest part: {name} {each[key]:.2f} ms ({each[key] / total:.0%}); "
            + ", ".join(f"{n} {each[k]:.2f}" for k, n in PROCESSES if k != key)]


def _connect(result: dict[str, Any]) -> list[str]:
    connect = (result.get("kafka_connect") or {}).get("events_per_s")
    if not isinstance(connect, int | float) or connect <= 0:
        return []
    lines = []
    new = (result.get("writes") or {}).get("new_fiche") or {}
    if new.get("rows_per_fiche"):
        lines.append(
            f"Kafka Connect upserts one row per record ({connect:,.0f}/s) without the "
            f"service's rules; the service writes {new['rows_per_fiche']:.1f} rows per new "
            f"fiche (the fiche, its provenance, identifiers, history, matching and outbox)")
    each, cores = _per_event(result), _cores(result)
    if each is not None and cores is not None:
        ceiling = cores * 1000 / sum(each.values())
        reach = ("out of reach" if ceiling < VS_CONNECT.bound * connect else "within reach")
        lines.append(
            f"at this run's CPU per event the machine allows at most {ceiling:,.0f} events/s, "
            f"{ceiling / connect:.2f}x of Connect: {VS_CONNECT.bound:g}x is {reach} at this "
            f"cost per event")
    return lines


def _cpu(result: dict[str, Any]) -> list[str]:
    each = _per_event(result)
    if each is None:
        return []
    over = sum(each.values()) - CPU_MS.bound
    return [f"over by {over:.2f} ms", *_largest(result), *_thread(result),
            *_postgres(result)[:1]]


def _speed(result: dict[str, Any]) -> list[str]:
    """The machine's speed index (``bench.cpu.speed_index``) before and after the run."""
    speed = (result.get("machine") or {}).get("map_us_per_event") or {}
    before, after = speed.get("before"), speed.get("after")
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return []
    return [f"the machine: the service's decoding and mapping took {before:.0f} µs of CPU "
            f"per event before the run and {after:.0f} after (a speed index; compare runs by "
            "it)"]


def _busy(phase: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """How busy the machine's cores were while a steady phase published, and its CPU per
    event against the load's: at a steady rate a batch holds a few events, and its fixed costs
    (statements, commit, fetches, the relay's round) are paid per batch."""
    cpu = phase.get("cpu") or {}
    cores, per_event = cpu.get("cores") or {}, cpu.get("ms_per_event") or {}
    if not cores:
        return []
    machine = _cores(result)
    of = f" of the {machine}" if machine is not None else ""
    shares = ", ".join(f"{name} {value:.2f}" for name, value in cores.items())
    line = f"cores busy while the phase published: {sum(cores.values()):.2f}{of} ({shares})"
    load, service = _per_event(result), per_event.get("service")
    if load is not None and isinstance(service, int | float):
        line += (f"; the service's CPU per event {service:.2f} ms against "
                 f"{load['service']:.2f} ms during the load")
    return [line]


def _steady(phase: dict[str, Any]) -> list[str]:
    """What a steady phase's tail was made of."""
    lines = []
    stages = {name: info.get("p99_ms") for name, info in (phase.get("stages") or {}).items()
              if isinstance(info, dict) and isinstance(info.get("p99_ms"), int | float)}
    if stages:
        lines.append("p99 per stage: " + ", ".join(f"{name} {value:,.0f} ms"
                                                   for name, value in stages.items()))
    upkeep = phase.get("maintenance") or {}
    if upkeep.get("busy_s"):
        longest = sorted((upkeep.get("tables_s") or {}).items(), key=lambda item: -item[1])
        tables = ", ".join(f"{name} {seconds:g} s" for name, seconds in longest[:_TOP])
        lines.append(f"autovacuum under way {upkeep['busy_s']:g} of "
                     f"{upkeep.get('sampled_s', 0):g} s of the phase ({tables})")
    wal = wal_per_event(phase)
    if wal is not None:
        done = upkeep.get("checkpoints", 0)
        lines.append(f"{done:,} checkpoint{'' if done == 1 else 's'} done during the phase; "
                     f"{wal[0]:.1f} full-page images and {wal[1] / 1024:.1f} kB of WAL per event")
    gc = phase.get("gc") or {}
    if gc.get("over_10ms"):
        lines.append(f"the garbage collector paused over 10 ms {gc['over_10ms']:,} times "
                     f"(the longest at most {gc.get('longest_at_most_ms') or 0:g} ms)")
    statements = _statements(phase.get("statements"))
    published = phase.get("published")
    if statements and isinstance(published, int) and published > 0:
        # The costliest statement is the batch's write, called once a transaction: how many
        # events a transaction held says how far behind the phase ran (a batch holds what
        # arrived while the one before it was applied).
        top = _costliest(statements)
        total = ((phase.get("statements") or {}).get("total") or {}).get("exec_us_per_event")
        if top.get("calls"):
            spent = (f", {total:,.0f} us of PostgreSQL's statement time per event"
                     if isinstance(total, int | float) else "")
            lines.append(f"transactions of {published / top['calls']:.1f} events on average "
                         f"(\"{top['statement']}\" {top['calls']:,} times for {published:,} "
                         f"events, {top.get('ms_per_call', 0):.2f} ms a call){spent}")
    if statements:
        slowest = max(statements, key=lambda s: s.get("max_ms_per_call") or 0)
        lines.append(f"the longest statement call: \"{slowest['statement']}\", "
                     f"{slowest.get('max_ms_per_call', 0):,.0f} ms (a call "
                     f"{slowest.get('ms_per_call', 0):.2f} ms on average)")
        for item in statements:
            calls, plans = item.get("calls") or 0, item.get("plans") or 0
            planning = item.get("plan_ms_per_call") or 0
            if calls and plans >= calls and planning > (item.get("ms_per_call") or 0):
                lines.append(f"\"{item['statement']}\" planned at every call: {planning:.2f} ms "
                             f"of planning against {item.get('ms_per_call', 0):.2f} ms of "
                             "execution")
    return lines


def why_table(reasons: dict[str, list[str]], rows: Iterable[Row]) -> Table:
    """The reasons as a table: each missed target's measure and its reasons, one per line."""
    table = Table(title="why the missed targets are missed (this run's figures)")
    table.add_column("target", no_wrap=True)
    table.add_column("reasons")
    for row in rows:
        if row.key in reasons:
            table.add_row(row.measure, "\n".join(f"- {line}" for line in reasons[row.key]))
    return table


def main(argv: list[str] | None = None) -> int:
    """Print a stored run's targets and the reasons of those missed."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.why RESULT.json", file=sys.stderr)
        return 2
    try:
        result = json.loads(Path(args[0]).read_text())
    except (OSError, ValueError) as error:
        print(f"cannot read {args[0]}: {error}", file=sys.stderr)
        return 2
    rows = evaluate(result)
    out = Console(width=160)
    out.print(targets_table(rows))
    out.print(why_table(explain(result, rows), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
