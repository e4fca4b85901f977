"""Why the benchmark's missed targets are missed (``bench.why``), on made-up figures."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench import why
from bench.targets import evaluate
from tests.unit.test_bench_targets import a_run, steady


def slow_run(**changes: Any) -> dict[str, Any]:
    """2,000 events/s over 200,000 on 2 cores: 0.35 / 0.25 / 0.10 ms of CPU per event
    (0.70 in all), Connect at 12,000/s, one process using 70 % of a core."""
    result = a_run(
        machine={"cores": 2},
        initial_load={"events": 200_000, "events_per_s": 2_000.0, "service_cpu_share": 0.7,
                      "cpu_s": {"service": 70.0, "postgresql": 50.0, "kafka": 20.0}},
        kafka_connect={"events_per_s": 12_000.0},
        statements={"statements": [
            {"statement": "write fiche, outbox (2 tables)", "share": 0.8,
             "exec_us_per_event": 450.0, "wal_bytes_per_event": 11_264.0},
            {"statement": "read outbox", "share": 0.1, "exec_us_per_event": 50.0,
             "wal_bytes_per_event": 0.0},
            {"statement": "12 others", "share": 0.9, "exec_us_per_event": 9_999.0,
             "wal_bytes_per_event": 0.0}]})
    result["writes"]["new_fiche"].update(rows_per_fiche=9.0, index_entries_per_fiche=23.0)
    result.update(changes)
    return result


def reasons_of(result: dict[str, Any]) -> dict[str, list[str]]:
    return why.explain(result, evaluate(result))


def test_a_slow_load_is_explained_by_the_ceilings_its_cpu_per_event_sets() -> None:
    found = reasons_of(slow_run())
    load = found["load_events_per_s"]
    # 2 cores / 0.70 ms = 2,857 events/s; 5,000/s would need 2 / 5,000 s = 0.40 ms.
    assert "CPU per event 0.70 ms in all: 2 cores allow at most 2,857 events/s" in load[0]
    assert "5,000/s needs at most 0.40 ms" in load[0]
    # One thread at 0.35 ms per event: 2,857 events/s; 5,000/s leaves it 0.20 ms.
    assert "0.35 ms per event allows at most 2,857 events/s with 1 process" in load[1]
    assert "(5,000/s needs at most 0.20 ms); it used 70% of a core" in load[1]
    assert "the largest part: service 0.35 ms (50%); PostgreSQL 0.25, Kafka 0.10" in load
    # The costliest statement by its own share, never the others summed.
    assert ('PostgreSQL: "write fiche, outbox (2 tables)" took 80 % of its statements\' time, '
            "450 us and 11.0 kB of WAL per event") in load
    assert "a new fiche writes 9.0 rows and 23.0 index entries (table 6)" in load
    assert "COPY of the same rows, the fastest PostgreSQL takes them: 8,000 events/s" in load
    assert not any("others" in line for line in load)


def test_against_connect_the_ceiling_says_whether_the_ratio_is_within_reach() -> None:
    found = reasons_of(slow_run())["load_vs_connect"]
    assert found[0].startswith("Kafka Connect upserts one row per record (12,000/s)")
    assert "the service writes 9.0 rows per new fiche" in found[0]
    # 2,857 / 12,000 = 0.24x: half of Connect is out of reach at this cost per event.
    assert found[1] == ("at this run's CPU per event the machine allows at most 2,857 events/s,"
                        " 0.24x of Connect: 0.5x is out of reach at this cost per event")
    cheap = slow_run(kafka_connect={"events_per_s": 5_000.0})
    assert "0.5x is within reach" in reasons_of(cheap)["load_vs_connect"][1]


def test_too_much_cpu_names_how_much_and_the_largest_process() -> None:
    found = reasons_of(slow_run())["cpu_ms_per_event_total"]
    assert found[0] == "over by 0.35 ms"
    assert found[1].startswith("the largest part: service 0.35 ms")
    assert found[2].startswith('PostgreSQL: "write fiche, outbox (2 tables)"')


def test_the_thread_profile_is_named_when_the_run_sampled_it() -> None:
    profiled = slow_run(profile={"stages_pct": {"apply": 48.0, "idle": 23.0, "map": 15.0,
                                                "other": 11.0, "relay": 2.0}})
    load = reasons_of(profiled)["load_events_per_s"]
    assert ("the service's thread, sampled by py-spy: apply 48 %, idle 23 %, map 15 %, "
            "other 11 %") in load
    assert not any("py-spy" in line for line in reasons_of(slow_run())["load_events_per_s"])


def test_several_instances_share_the_load_and_their_ceiling() -> None:
    found = reasons_of(slow_run(arguments={"instances": 2}))["load_events_per_s"]
    assert ("0.35 ms per event allows at most 5,714 events/s with 2 processes "
            "(5,000/s needs at most 0.40 ms)") in found[1]
    assert "of a core" not in found[1]  # the share is of one process's core, not theirs


def test_a_slow_steady_phase_is_explained_by_its_stages_upkeep_and_statements() -> None:
    phase = steady(500, 140.0) | {
        "stages": {"map+apply": {"p99_ms": 50.0}, "relay": {"p99_ms": 90.4}},
        "maintenance": {"busy_s": 11.0, "sampled_s": 61.0, "tables_s": {
            "analyze fiche_history": 1.0, "analyze match_keys": 1.0, "analyze fiche": 3.0,
            "vacuum outbox": 2.0}, "checkpoints": 1, "wal_fpi": 2_500,
            "wal_bytes": 23_040_000},
        "gc": {"over_10ms": 2, "longest_at_most_ms": 25.0},
        "statements": {"total": {"exec_us_per_event": 580.0}, "statements": [
            {"statement": "write fiche (1 tables)", "calls": 125, "plans": 20, "share": 0.7,
             "ms_per_call": 2.7, "plan_ms_per_call": 0.01, "max_ms_per_call": 23.0},
            {"statement": "read pin, conflict (2 tables)", "calls": 125, "plans": 125,
             "share": 0.1, "ms_per_call": 0.45, "plan_ms_per_call": 0.67,
             "max_ms_per_call": 5.0},
            {"statement": "9 others", "calls": 100, "plans": 100, "ms_per_call": 0.1,
             "plan_ms_per_call": 0.5, "max_ms_per_call": 75.0}]}}
    # Stored JSON has its keys sorted: the tables are named by their seconds, longest first.
    found = reasons_of(slow_run(steady_states=[steady(100, 20.0), phase]))
    assert "steady_p99_ms_at_100" not in found  # met: nothing to explain
    assert found["steady_p99_ms_at_500"] == [
        "p99 per stage: map+apply 50 ms, relay 90 ms",
        "autovacuum under way 11 of 61 s of the phase (analyze fiche 3 s, vacuum outbox 2 s, "
        "analyze fiche_history 1 s)",
        # 1,000 events published: 2.5 full-page images and 22.5 kB of WAL each.
        "1 checkpoint done during the phase; 2.5 full-page images and 22.5 kB of WAL per event",
        "the garbage collector paused over 10 ms 2 times (the longest at most 25 ms)",
        # 1,000 events published over 125 writes.
        'transactions of 8.0 events on average ("write fiche (1 tables)" 125 times for 1,000 '
        "events, 2.70 ms a call), 580 us of PostgreSQL's statement time per event",
        'the longest statement call: "write fiche (1 tables)", 23 ms (a call 2.70 ms on '
        "average)",
        '"read pin, conflict (2 tables)" planned at every call: 0.67 ms of planning against '
        "0.45 ms of execution"]


def test_a_slow_steady_phase_says_how_busy_the_cores_were_and_its_cpu_per_event() -> None:
    phase = steady(500, 140.0) | {"cpu": {
        "seconds": 60.0,
        "cores": {"service": 0.62, "postgresql": 0.31, "kafka": 0.33, "benchmark": 0.3},
        "ms_per_event": {"service": 1.24, "postgresql": 0.62, "kafka": 0.66,
                         "benchmark": 0.6}}}
    found = reasons_of(slow_run(steady_states=[steady(100, 20.0), phase]))
    # The load's service CPU per event: 70 s over 200,000 events.
    assert found["steady_p99_ms_at_500"] == [
        "cores busy while the phase published: 1.56 of the 2 (service 0.62, postgresql 0.31, "
        "kafka 0.33, benchmark 0.30); the service's CPU per event 1.24 ms against 0.35 ms "
        "during the load"]


def test_the_machine_speed_index_is_given_beside_a_slow_load_and_a_slow_phase() -> None:
    timed = slow_run(machine={"cores": 2, "map_us_per_event": {"before": 88.4, "after": 95.2}},
                     steady_states=[steady(100, 20.0), steady(500, 140.0)])
    found = reasons_of(timed)
    line = ("the machine: the service's decoding and mapping took 88 µs of CPU per event "
            "before the run and 95 after (a speed index; compare runs by it)")
    assert found["load_events_per_s"][-1] == line
    assert found["steady_p99_ms_at_500"] == [line]
    assert not any("speed index" in reason for reason in reasons_of(slow_run())
                   ["load_events_per_s"])


def test_met_targets_and_missing_figures_give_no_reasons() -> None:
    fast = a_run(machine={"cores": 2}, initial_load={
        "events": 200_000, "events_per_s": 6_000.0,
        "cpu_s": {"service": 20.0, "postgresql": 10.0, "kafka": 5.0}},
        steady_states=[steady(100, 20.0), steady(500, 50.0)])
    assert [row.status for row in evaluate(fast) if row.target and row.value] == ["met"] * 6
    assert reasons_of(fast) == {}
    # Without the broker's CPU (an external one) no ceiling is computed, and nothing breaks.
    blind = slow_run(initial_load={"events": 200_000, "events_per_s": 2_000.0,
                                   "cpu_s": {"service": 70.0, "postgresql": 50.0}},
                     machine={}, statements={}, limits={})
    load = reasons_of(blind)["load_events_per_s"]
    assert load == ["a new fiche writes 9.0 rows and 23.0 index entries (table 6)"]
    assert "load_vs_connect" in reasons_of(blind)
    assert "cpu_ms_per_event_total" not in reasons_of(blind)  # not measured, not missed


def test_the_reasons_are_printed_with_their_targets(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    result = slow_run()
    rows = evaluate(result)
    out = io.StringIO()
    Console(file=out, width=200).print(why.why_table(why.explain(result, rows), rows))
    assert "why the missed targets are missed" in out.getvalue()
    assert "initial load of 200,000: events/s end to end" in out.getvalue()
    assert "- over by 0.35 ms" in out.getvalue()

    stored = tmp_path / "run.json"
    stored.write_text(json.dumps(result))
    assert why.main([str(stored)]) == 0
    printed = capsys.readouterr().out
    assert "targets" in printed
    assert "2,857 events/s" in printed


def test_a_bad_argument_gets_one_line(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert why.main([]) == 2
    assert capsys.readouterr().err == "usage: python -m bench.why RESULT.json\n"
    assert why.main([str(tmp_path / "absent.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cannot read {tmp_path / 'absent.json'}: ")
    assert err.count("\n") == 1
