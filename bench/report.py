"""The benchmark's table (rich) and its JSON record in ``bench/results/``."""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.statements import statements_table
from bench.targets import (
    LOAD_RATE,
    P99_MS,
    RSS_MB,
    VS_CONNECT,
    instances,
    steady_phases,
)

__all__ = ["RESULTS", "print_table", "write_results"]

RESULTS = Path(__file__).resolve().parent / "results"
#: The steady state's stages (``bench.steady``): name, what it spans, what the span includes.
STAGE_LABELS = (
    ("map", "publish -> canonical update appended", ""),
    ("apply", "canonical update -> apply tx start", ""),
    ("map+apply", "publish -> apply tx start", "one hop: mapped and applied in one process"),
    ("relay", "apply tx start -> fiche event", "incl. apply tx, relay wake-up, publish"),
)


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def print_table(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    load = result["initial_load"]
    limits, connect = result.get("limits") or {}, result.get("kafka_connect") or {}
    service_rate = load.get("events_per_s")
    processes = instances(result)
    stages = (result.get("arguments") or {}).get("stages")
    several = f", {processes} instances" if processes > 1 else ""
    if stages:
        several = f", processes: {' | '.join(stages)}"
    table = Table(title=f"sociale-kaart-sync benchmark ({result['machine']['cores']} cores, "
                        f"{_fmt(load['events'])} events{several})", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target / comparison", justify="right")
    table.add_row("[b]1. initial load[/b]", "",
                  f"{processes} instances; service CPU summed" if processes > 1 else "")
    table.add_row("  end to end (service start -> last fiche event)",
                  f"{_fmt(load.get('seconds'), 1)} s", "")
    table.add_row("  source events/s end to end", _fmt(service_rate),
                  f"target {LOAD_RATE.text('')} ({_ratio(service_rate, LOAD_RATE.bound)})")
    cpu = load.get("cpu_s") or {}
    table.add_row("  CPU seconds during the load: service / PostgreSQL / Kafka",
                  " / ".join(_fmt(cpu.get(k), 1) for k in ("service", "postgresql", "kafka")),
                  f"wall {_fmt(load.get('seconds'), 1)} s x {result['machine']['cores']} cores")
    for stage, info in (load.get("stages") or {}).items():  # map+apply as one in one hop
        table.add_row(f"  {stage}: done after / rate since start / busy rate",
                      f"{_fmt(info.get('done_after_s'), 1)} s / "
                      f"{_fmt(info.get('rate_since_start'))} / {_fmt(info.get('busy_rate'))}",
                      "events/s")
    vacuumed = result.get("vacuum_after_load")
    if vacuumed:
        table.add_row("  then `sksync vacuum` (every table vacuumed and analysed)",
                      f"{_fmt(vacuumed.get('seconds'), 1)} s",
                      ", ".join(f"{name} {_fmt(seconds, 1)} s" for name, seconds
                                in list((vacuumed.get("tables_s") or {}).items())[:4]))
    for steady in steady_phases(result):
        _steady_rows(table, steady)
    search = result.get("rate_search") or {}
    if search.get("trials"):
        table.add_row(f"  highest rate with p99 < {_fmt(search.get('bound_ms'))} ms",
                      f"{_fmt(search['highest_rate'])}/s" if search.get("highest_rate")
                      else "none of those tried",
                      "; ".join(f"{_fmt(t['rate'])}/s: {_fmt(t['p99_ms'])} ms"
                                for t in search["trials"]))
    table.add_row("[b]3. memory[/b]", "",
                  f"per process: largest of {processes} instances" if processes > 1 else "")
    table.add_row("  peak RSS (VmHWM) after load / after steady state",
                  f"{_fmt(result['memory'].get('peak_rss_mb_after_load'), 0)} / "
                  f"{_fmt(result['memory'].get('peak_rss_mb'), 0)} MB",
                  f"target {RSS_MB.text(' MB')}")
    table.add_row("[b]4. limits[/b]", "", "")
    consume = limits.get("raw_consume_per_s")
    table.add_row("  aiokafka raw consume of the source messages", f"{_fmt(consume)} msg/s",
                  f"service = {_ratio(service_rate, consume)}")
    copy = limits.get("copy") or {}
    table.add_row("  asyncpg COPY of the rows the service wrote",
                  f"{_fmt(copy.get('events_per_s'))} events/s ({_fmt(copy.get('rows_per_s'))}"
                  " rows/s)", f"service = {_ratio(service_rate, copy.get('events_per_s'))}")
    speed = result["machine"].get("map_us_per_event") or {}
    if speed:
        table.add_row("  the service's decoding and mapping, before / after the run",
                      f"{_fmt(speed.get('before'), 1)} / {_fmt(speed.get('after'), 1)}"
                      " µs per event",
                      "CPU in the benchmark's process: the machine's speed index")
    table.add_row("[b]5. Kafka Connect + Debezium JDBC sink[/b]", "", "")
    if connect.get("skipped"):
        table.add_row("  skipped", str(connect["skipped"]), "")
    else:
        table.add_row("  records upserted / end to end",
                      f"{_fmt(connect.get('records'))} / {_fmt(connect.get('seconds'), 1)} s", "")
        table.add_row("  records/s end to end (worker start -> last row)",
                      _fmt(connect.get("events_per_s")),
                      f"service = {_ratio(service_rate, connect.get('events_per_s'))}"
                      f" (target {VS_CONNECT.text('x')})")
        table.add_row("  records/s busy (first row -> last row)", _fmt(connect.get("busy_rate")),
                      f"service busy = {_ratio(load.get('busy_rate'), connect.get('busy_rate'))}")
    console.print(table)
    if result.get("writes"):
        console.print(writes_table(result["writes"]))
    if result.get("statements"):
        console.print(statements_table(result["statements"]))
    for number, steady in enumerate(steady_phases(result)):
        if steady.get("statements"):
            console.print(statements_table(steady["statements"],
                                           f"the steady phase at {_fmt(steady['rate'])}/s",
                                           f"7{chr(ord('a') + number)}"))


#: The processes a phase's CPU is given for, in the order printed (``cpu`` of a phase).
CPU_NAMES = ("service", "postgresql", "kafka", "benchmark")


def _steady_rows(table: Table, steady: dict[str, Any]) -> None:
    """Section 2 for one steady phase: latency end to end and per stage."""
    target = P99_MS.get(float(steady.get("rate") or 0))
    table.add_row("[b]2. steady state[/b]",
                  f"{_fmt(steady.get('rate'))}/s for {_fmt(steady.get('seconds'))} s", "")
    for name in ("p50", "p95", "p99", "max"):
        value = steady.get(f"{name}_ms")
        table.add_row(f"  latency publish -> fiche event {name}", f"{_fmt(value, 1)} ms",
                      f"target {target.text(' ms')}" if name == "p99" and target else "")
    stages = steady.get("stages") or {}
    table.add_row("  latency per stage p50 / p95 / p99", "", "")
    for stage, label, includes in STAGE_LABELS:
        if stage not in stages:  # map and apply, or map+apply (one hop)
            continue
        info = stages[stage] or {}
        notes = [includes] if includes else []
        if info.get("samples") is not None and info["samples"] != steady.get("matched"):
            notes.append(f"{_fmt(info['samples'])} samples")
        if info.get("negative_clamped"):
            notes.append(f"{_fmt(info['negative_clamped'])} negative taken as 0")
        table.add_row(f"    {stage}: {label}",
                      " / ".join(_fmt(info.get(f"{q}_ms"), 1) for q in ("p50", "p95", "p99"))
                      + " ms", "; ".join(notes))
    table.add_row("  fiche events matched / missing",
                  f"{_fmt(steady.get('matched'))} / {_fmt(steady.get('missing'))}", "")
    generator = steady.get("load_generator")
    if generator:  # phases of runs before it was measured have none
        table.add_row("  the benchmark's own process while it published",
                      f"{generator['core_share']:.0%} of a core",
                      "its load generator and its consumer of fiche events, on the same cores")
    cpu = steady.get("cpu")
    if cpu:  # phases of runs before it was measured have none
        cores, per_event = cpu["cores"], cpu["ms_per_event"]
        names = [name for name in CPU_NAMES if name in cores]
        table.add_row(f"  cores busy while it published: {' / '.join(names)}",
                      " / ".join(f"{cores[name]:.2f}" for name in names),
                      f"{sum(cores.values()):.2f} in all; CPU ms per event "
                      + " / ".join(f"{per_event[name]:.2f}" for name in names))
    gc = steady.get("gc")
    if "gc" in steady:  # phases of runs before the service timed its collector have none
        table.add_row(
            "  garbage collector: passes / time / over 10 ms / longest",
            "not measured" if gc is None else
            f"{_fmt(gc['passes'])} / {_fmt(gc['seconds'] * 1000, 1)} ms / "
            f"{_fmt(gc['over_10ms'])} / <= {_fmt(gc['longest_at_most_ms'], 1)} ms",
            "the service's own sksync_gc_pause_seconds, every instance")
    upkeep = steady.get("maintenance")
    if upkeep is not None:
        tables = upkeep.get("tables_s") or {}
        table.add_row(
            "  autovacuum under way (s of the phase)",
            upkeep["error"] if "error" in upkeep else
            f"{_fmt(upkeep['busy_s'], 0)} of {_fmt(upkeep['sampled_s'], 0)} s",
            ", ".join(f"{key} {_fmt(seconds, 0)} s" for key, seconds in list(tables.items())[:4]))
        wal = wal_per_event(steady)
        if wal is not None:
            table.add_row("  checkpoints done / full-page images and WAL kB per event",
                          f"{_fmt(upkeep['checkpoints'])} / {_fmt(wal[0], 2)} / "
                          f"{_fmt(wal[1] / 1024, 1)}", "the server's, during the phase")


def wal_per_event(steady: dict[str, Any]) -> tuple[float, float] | None:
    """A steady phase's full-page images and WAL bytes per event published, when its
    maintenance figures have the server's counters (runs since 7 December)."""
    upkeep, published = steady.get("maintenance") or {}, steady.get("published")
    if "wal_fpi" not in upkeep or not isinstance(published, int) or published <= 0:
        return None
    return upkeep["wal_fpi"] / published, upkeep["wal_bytes"] / published


def writes_table(writes: dict[str, Any]) -> Table:
    """Rows and index entries written per new and per updated fiche, per table and in total
    (``bench.writes``)."""
    phases = [(key, writes[key]) for key in ("new_fiche", "updated_fiche") if key in writes]
    table = Table(title="6. written per fiche, from PostgreSQL's statistics (rows = inserted +"
                        " updated + deleted; index entries = (inserted + non-HOT updated) x "
                        "entries per row of each index)")
    table.add_column("table")
    for key, phase in phases:
        what = "new" if key == "new_fiche" else "updated"
        table.add_column(f"per {what} fiche ({_fmt(phase['fiches'])}): rows", justify="right")
        table.add_column("index entries", justify="right")
        table.add_column("of which HOT updates", justify="right")
    names = sorted({name for _, phase in phases for name in phase["tables"]})
    for name in names:
        cells = []
        for _, phase in phases:
            info = phase["tables"].get(name) or {}
            fiches = max(1, phase["fiches"])
            cells += [_fmt(info.get("rows_per_fiche"), 2),
                      _fmt(info.get("index_entries_per_fiche"), 1),
                      _fmt(info["hot_updated"] / fiches, 2) if info else "-"]
        table.add_row(name, *cells)
    total = ["[b]total[/b]"]
    for _, phase in phases:
        total += [f"[b]{_fmt(phase['rows_per_fiche'], 2)}[/b]",
                  f"[b]{_fmt(phase['index_entries_per_fiche'], 1)}[/b]",
                  _fmt(sum(t["hot_updated"] for t in phase["tables"].values())
                       / max(1, phase["fiches"]), 2)]
    table.add_row(*total)
    wal = ["WAL bytes (the whole server)"]
    for _, phase in phases:
        wal += [_fmt(phase["wal_bytes_per_fiche"]), "", ""]
    table.add_row(*wal)
    return table


def machine() -> dict[str, Any]:
    import os

    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_mb": memory, "python": platform.python_version(),
            "platform": platform.platform()}


def write_results(result: dict[str, Any], folder: Path = RESULTS, kind: str = "") -> Path:
    """``<folder>/<kind><UTC timestamp>.json`` and ``<folder>/<kind>latest.json``; returns the
    first (``kind`` "scale-" keeps the size runs apart from the full ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    path = folder / f"{kind}{stamp}.json"
    path.write_text(text)
    (folder / f"{kind}latest.json").write_text(text)
    return path
