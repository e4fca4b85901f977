"""The targets of the lean apply path, each with what the run measured: met, not met (and by
how much), or not measured.

Pure: :func:`evaluate` reads a run's result (the dict :mod:`bench.run` writes as JSON) and
returns one :class:`Row` per target; :func:`targets_table` renders them. A row whose figure
the run did not produce (no Kafka Connect, an external broker whose CPU time is not seen, no
steady phase at that rate, no scale run) says "not measured" rather than guess.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.table import Table

__all__ = ["COST_GROWTH", "CPU_MS", "LOAD_RATE", "NOT_MEASURED", "P99_MS", "PROCESSES",
           "RSS_MB", "SEARCH_P99_MS", "VS_CONNECT", "Row", "Target", "cpu_per_event",
           "evaluate", "instances", "reaches_p99", "rows_as_json", "steady_phases", "targets_table"]

NOT_MEASURED = "not measured"
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    """``value <op> bound`` is met; a ``stretch`` bound, on the same side, is the better goal."""

    op: str
    bound: float
    stretch: float | None = None

    def met(self, value: float) -> bool:
        return _OPS[self.op](value, self.bound)

    def stretch_met(self, value: float) -> bool:
        return self.stretch is not None and _OPS[self.op](value, self.stretch)

    def text(self, unit: str) -> str:
        stretch = f" (stretch {_num(self.stretch)}{unit})" if self.stretch is not None else ""
        return f"{self.op} {_num(self.bound)}{unit}{stretch}"


#: The targets (initial load at events/s, ratio to Kafka Connect, CPU ms per source event over
#: service + PostgreSQL + Kafka, steady p99 per rate, peak RSS, cost growth with the size).
LOAD_RATE = Target(">=", 5_000, stretch=10_000)
VS_CONNECT = Target(">=", 0.5, stretch=1.0)
CPU_MS = Target("<=", 0.35)
P99_MS = {100.0: Target("<", 50), 500.0: Target("<", 100)}
SEARCH_P99_MS = 250.0
RSS_MB = Target("<", 300)
#: CPU per event at the largest size over that at the smallest: at most 1.1 (flat within the
#: run-to-run noise of this machine, about 10 %) means the total cost grows at most linearly.
COST_GROWTH = Target("<=", 1.1)
#: The processes whose CPU time is counted: key in ``initial_load.cpu_s``, name.
PROCESSES = (("service", "service"), ("postgresql", "PostgreSQL"), ("kafka", "Kafka"))


@dataclass(frozen=True)
class Row:
    """One target, or one figure reported beside them (``target`` None)."""

    key: str
    measure: str
    value: float | None
    unit: str = ""
    target: Target | None = None
    note: str = ""
    #: Why the target is not met whatever the value says (e.g. events that never came).
    failed: str = ""

    @property
    def status(self) -> str:
        """"met", "not met", "not measured", or "reported" (a figure without a target)."""
        if self.value is None:
            return NOT_MEASURED
        if self.target is None:
            return "reported"
        return "met" if self.target.met(self.value) and not self.failed else "not met"

    @property
    def ratio(self) -> float | None:
        """The value over the target's bound (e.g. 0.14 = a seventh of a rate, 4.9 = almost
        five times a latency), None without a value or a target."""
        if self.value is None or self.target is None or not self.target.bound:
            return None
        return self.value / self.target.bound

    def verdict(self) -> str:
        status = self.status
        if status == "met" and self.target is not None and self.target.stretch is not None:
            return "met, stretch met" if self.target.stretch_met(self.value or 0) else "met"
        return status

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "measure": self.measure,
                "value": NOT_MEASURED if self.value is None else self.value, "unit": self.unit,
                "target": None if self.target is None else self.target.text(self.unit),
                "status": self.status, "verdict": self.verdict(), "ratio": self.ratio,
                "note": "; ".join(n for n in (self.failed, self.note) if n)}


def evaluate(result: dict[str, Any]) -> list[Row]:
    """Every target's row, in the order of the issue, from a run's result."""
    return [*_load_rows(result), *_cpu_rows(result), *_steady_rows(result),
            _search_row(result), _rss_row(result), _scale_row(result), *_write_rows(result)]


def rows_as_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [row.as_json() for row in rows]


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.{1 if value >= 10 else 2 if value >= 0.1 else 3}f}"


def _positive(value: Any) -> float | None:
    """A figure that is a finite positive number, else None (not measured)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _load_rows(result: dict[str, Any]) -> list[Row]:
    load = result.get("initial_load") or {}
    rate = _positive(load.get("events_per_s"))
    events = load.get("events")
    connect = result.get("kafka_connect") or {}
    limits = result.get("limits") or {}
    connect_rate = _positive(connect.get("events_per_s"))
    consume = _positive(limits.get("raw_consume_per_s"))
    copy = _positive((limits.get("copy") or {}).get("events_per_s"))
    return [
        Row("load_events_per_s", f"initial load{_of(events)}: events/s end to end",
            rate, "/s", LOAD_RATE),
        Row("load_vs_connect", "initial load / Kafka Connect, same run",
            _ratio(rate, connect_rate), "x", VS_CONNECT,
            note=str(connect.get("skipped", "")) if connect_rate is None else
            f"Connect {connect_rate:,.0f} records/s"),
        Row("load_vs_raw_consume", "initial load / raw consume (a limit)",
            _ratio(rate, consume), "x",
            note=_absent(result) if consume is None else f"raw consume {consume:,.0f} msg/s"),
        Row("load_vs_copy", "initial load / COPY of its rows (a limit)",
            _ratio(rate, copy), "x",
            note=_absent(result) if copy is None else f"COPY {copy:,.0f} events/s"),
    ]


def _absent(result: dict[str, Any], otherwise: str = "") -> str:
    """Why a figure of the full run is missing: a --sizes run measures only loads."""
    return "not part of a --sizes run" if result.get("scale") else otherwise


def _of(events: Any) -> str:
    return f" of {events:,}" if isinstance(events, int) else ""


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def cpu_per_event(result: dict[str, Any]) -> dict[str, float | None]:
    """CPU ms per source event of each process during the load (keys of :data:`PROCESSES`);
    None for a process whose CPU time the run did not see."""
    load = result.get("initial_load") or {}
    cpu = load.get("cpu_s") or {}
    events = _positive(load.get("events"))
    return {key: (None if events is None or _positive(cpu.get(key)) is None
                  else 1000 * cpu[key] / events) for key, _ in PROCESSES}


def _cpu_rows(result: dict[str, Any]) -> list[Row]:
    each = cpu_per_event(result)
    rows = [Row(f"cpu_ms_per_event_{key}", f"CPU per event: {name}", each[key], " ms",
                note="not seen (external broker or database)" if each[key] is None else "")
            for key, name in PROCESSES]
    missing = [name for key, name in PROCESSES if each[key] is None]
    total = None if missing else sum(v for v in each.values() if v is not None)
    rows.append(Row("cpu_ms_per_event_total", "CPU per event: service + PostgreSQL + Kafka",
                    total, " ms", CPU_MS,
                    note=f"{', '.join(missing)} not seen" if missing else ""))
    return rows


def instances(result: dict[str, Any]) -> int:
    """How many service processes the run had (``--instances``, ``--stages``): 1 for a run
    that does not say or says something that is not a count."""
    count = (result.get("arguments") or {}).get("instances") or 1
    return count if isinstance(count, int) and count > 0 else 1


def steady_phases(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's steady phases: ``steady_states`` (one per rate), or the single
    ``steady_state`` of a run made before there were several."""
    phases = result.get("steady_states")
    if phases:
        return list(phases)
    single = result.get("steady_state")
    return [single] if single else []


def _steady_rows(result: dict[str, Any]) -> list[Row]:
    phases = {float(p.get("rate", 0)): p for p in steady_phases(result)}
    rows = []
    for rate, target in P99_MS.items():
        phase = phases.get(rate)
        key, measure = f"steady_p99_ms_at_{rate:g}", f"steady state at {rate:g}/s: p99 latency"
        if phase is None:
            rows.append(Row(key, measure, None, " ms", target,
                            note=_absent(result, f"no steady phase at {rate:g}/s (--rates)")))
            continue
        rows.append(Row(key, measure, _positive(phase.get("p99_ms")), " ms", target,
                        failed=_missing_reason(phase),
                        note=f"{phase.get('matched', 0):,} matched, p50 "
                             f"{phase.get('p50_ms', float('nan')):,.0f} ms"))
    return rows


def _missing_reason(phase: dict[str, Any]) -> str:
    """Why the p99 over the events that came understates it: the events that never came within
    the settle window (after the end of the phase) reach the 99th percentile."""
    published, missing = int(phase.get("published") or 0), int(phase.get("missing") or 0)
    if missing and reaches_p99(published, missing):
        return f"{missing:,} of {published:,} fiche events missing: the service fell behind"
    return ""


def reaches_p99(published: int, missing: int) -> bool:
    """Whether ``missing`` of ``published`` events, counted as infinitely late, hold the 99th
    percentile (the same nearest-rank rule as the steady state's percentiles)."""
    if published <= 0:
        return False
    return missing > 0 and min(published - 1, int(0.99 * published)) >= published - missing


def _search_row(result: dict[str, Any]) -> Row:
    search = result.get("rate_search") or {}
    measure = f"highest rate with p99 < {SEARCH_P99_MS:g} ms"
    if not search or search.get("skipped"):
        return Row("highest_rate_p99_under_250", measure, None, "/s",
                   note=str(search.get("skipped", "not run")))
    trials = search.get("trials") or []
    tried = ", ".join(f"{t['rate']:g}/s {'ok' if t['ok'] else 'over'}" for t in trials)
    highest = _positive(search.get("highest_rate"))
    note = f"tried {tried}" + (f"; {search['stopped']}" if search.get("stopped") else "")
    if highest is None and trials:  # searched, and even the lowest rate was over: 0, not a gap
        lowest = min(t["rate"] for t in trials)
        return Row("highest_rate_p99_under_250", measure, 0.0, "/s",
                   note=f"none: even {lowest:g}/s was over; {note}")
    return Row("highest_rate_p99_under_250", measure, highest, "/s", note=note)


def _rss_row(result: dict[str, Any]) -> Row:
    memory = result.get("memory") or {}
    peaks = [v for k, v in memory.items() if k.startswith("peak_rss_mb") and _positive(v)]
    if not peaks:  # a scale run: the largest load's peak
        peaks = [s["peak_rss_mb"] for s in result.get("scale") or []
                 if _positive(s.get("peak_rss_mb"))]
    return Row("peak_rss_mb", "peak RSS of the service (per process)",
               max(peaks) if peaks else None, " MB", RSS_MB)


def _scale_row(result: dict[str, Any]) -> Row:
    sizes = [s for s in result.get("scale") or [] if _positive(s.get("cpu_ms_per_event_total"))]
    measure = "cost per event, largest size / smallest"
    if len(sizes) < 2:
        return Row("cost_growth", measure, None, "x", COST_GROWTH,
                   note="needs two sizes or more (make bench-scale)")
    small, large = min(sizes, key=lambda s: s["events"]), max(sizes, key=lambda s: s["events"])
    growth = large["cpu_ms_per_event_total"] / small["cpu_ms_per_event_total"]
    return Row("cost_growth", measure, growth, "x", COST_GROWTH,
               note=f"CPU ms per event {small['cpu_ms_per_event_total']:.3f} at "
                    f"{small['events']:,}, {large['cpu_ms_per_event_total']:.3f} at "
                    f"{large['events']:,}")


def _write_rows(result: dict[str, Any]) -> list[Row]:
    writes = result.get("writes") or {}
    rows = []
    for phase, what in (("new_fiche", "new"), ("updated_fiche", "updated")):
        info = writes.get(phase) or {}
        rows += [Row(f"rows_per_{phase}", f"rows written per {what} fiche",
                     _positive(info.get("rows_per_fiche"))),
                 Row(f"index_entries_per_{phase}", f"index entries written per {what} fiche",
                     _positive(info.get("index_entries_per_fiche")))]
    return rows


def targets_table(rows: Iterable[Row], title: str = "targets") -> Table:
    """The rows as a table: measure, value, target, verdict, value / target, notes."""
    table = Table(title=title)
    table.add_column("measure", no_wrap=True)  # the notes wrap instead
    for name, justify in (("value", "right"), ("target", "right"), ("verdict", "left"),
                          ("value / target", "right"), ("notes", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    colours = {"met": "green", "not met": "red"}
    for row in rows:
        value = NOT_MEASURED if row.value is None else f"{_num(row.value)}{row.unit}"
        verdict = row.verdict()
        colour = colours.get(row.status)
        table.add_row(row.measure, value,
                      "-" if row.target is None else row.target.text(row.unit),
                      f"[{colour}]{verdict}[/{colour}]" if colour else verdict,
                      "-" if row.ratio is None else f"{row.ratio:.2f}x",
                      "; ".join(n for n in (row.failed, row.note) if n))
    return table
