"""``python -m bench.run --quick`` on the suite's Kafka and PostgreSQL: every figure is produced
and sane. No speed is asserted (the machine is shared; the figures are for people to read)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.targets import NOT_MEASURED
from tests.support.infra import Infrastructure
from tests.unit.test_bench_targets import KEYS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def bench(infra: Infrastructure, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m bench.run ARGS`` on the suite's Kafka and PostgreSQL; it must succeed."""
    env = {**os.environ, "SKSYNC_KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
           "SKSYNC_DATABASE_URL": infra.database_url, "SKSYNC_ENVIRONMENT": "local"}
    done = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.run", *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.timeout(540)
def test_the_quick_benchmark_prints_its_table_and_writes_every_figure(
    infra: Infrastructure, tmp_path: Path,
) -> None:
    """Initial load, steady-state latency at two rates, the rate search, memory and both
    limits are measured; Kafka Connect is skipped unless asked for; the targets table has a
    row for every target. With ``--vacuum`` the tables are vacuumed (``sksync vacuum``)
    between the load and the steady phases, and the report says how long it took."""
    done = bench(infra, "--quick", "--vacuum", "--results", str(tmp_path), timeout=480)
    assert "initial load" in done.stdout
    assert "map+apply: publish -> apply tx start" in done.stdout
    assert "Kafka Connect" in done.stdout
    result = json.loads((tmp_path / "latest.json").read_text())
    load, steady = result["initial_load"], result["steady_state"]
    assert result["arguments"]["instances"] == 1
    assert "per_instance" not in result["memory"]  # one instance: the JSON as before
    assert load["events"] == 3000
    assert load["fiche_events"] >= 3000
    assert positive(load["events_per_s"])
    assert positive(load["seconds"])
    assert load["one_hop"] is True  # one process maps and applies: map+apply is one stage
    assert list(load["stages"]) == ["map+apply", "relay"]
    for stage in ("map+apply", "relay"):
        assert positive(load["stages"][stage]["rate_since_start"]), stage
    vacuumed = result["vacuum_after_load"]
    assert positive(vacuumed["seconds"]), vacuumed
    assert f"{vacuumed['seconds']:.1f} s" in done.stdout
    assert "then `sksync vacuum`" in done.stdout
    assert [phase["rate"] for phase in result["steady_states"]] == [100, 500]
    assert steady == result["steady_states"][-1]
    for phase in result["steady_states"]:
        assert_steady_is_plausible(phase)
        # The benchmark's own CPU while it published, beside the service's.
        assert positive(phase["load_generator"]["cpu_s"]), phase["load_generator"]
        assert 0 < phase["load_generator"]["core_share"] < 2, phase["load_generator"]
        # Each process's share of the cores while the phase published.
        cores, per_event = phase["cpu"]["cores"], phase["cpu"]["ms_per_event"]
        for name in ("service", "postgresql", "benchmark"):
            assert positive(cores[name]), phase["cpu"]
            assert positive(per_event[name]), phase["cpu"]
        assert sum(cores.values()) <= (os.cpu_count() or 1), phase["cpu"]
    assert "the benchmark's own process while it published" in done.stdout
    assert "cores busy while it published: service / postgresql" in done.stdout
    assert 0 < result["memory"]["peak_rss_mb"] < 4096
    speed = result["machine"]["map_us_per_event"]  # the machine's speed index, both ends
    assert positive(speed["before"]), speed
    assert positive(speed["after"]), speed
    assert positive(result["limits"]["raw_consume_per_s"])
    assert positive(result["limits"]["copy"]["events_per_s"])
    assert positive(result["ratios"]["service_vs_copy"])
    assert "skipped" in result["kafka_connect"]
    assert len(list(tmp_path.glob("*.json"))) == 2  # <timestamp>.json and latest.json
    assert "written per fiche" in done.stdout
    assert_writes_are_plausible(result["writes"], events=3000, updates=1000)
    assert_statements_are_plausible(result["statements"], done.stdout, infra)
    for letter, phase in zip("ab", result["steady_states"], strict=True):
        assert f"7{letter}. PostgreSQL during the steady phase at {phase['rate']:g}/s" \
            in done.stdout
        assert_statements_are_plausible(phase["statements"], done.stdout, infra, load=False)
    assert_rate_search_is_plausible(result["rate_search"])
    assert_targets_are_complete(result["targets"], done.stdout)
    assert_missed_targets_are_explained(result, done.stdout)


def assert_statements_are_plausible(
    found: dict[str, Any], stdout: str, infra: Infrastructure, load: bool = True,
) -> None:
    """Table 7: the statements of the load (or of a steady phase) from pg_stat_statements,
    which the suite's local PostgreSQL loads; another server may not, and the table then says
    why."""
    assert "PostgreSQL during the initial load" in stdout
    if infra.local is None and "skipped" in found:
        assert "pg_stat_statements" in found["skipped"]
        return
    assert "skipped" not in found, found
    statements = found["statements"]
    labels = [item["statement"] for item in statements]
    # The apply's one write statement per transaction (its first table is the fiche for new
    # fiches, the source record for updates).
    writes = [item for item in statements if item["statement"].startswith("write ")
              and "source_record" in item["statement"]]
    assert writes, labels
    assert writes[0]["calls"] > 0
    assert writes[0]["wal_bytes_per_event"] > 0
    assert writes[0]["blocks_per_event"] > 0
    if load:  # the relay's reads are among the load's costliest
        assert any(label.startswith("read outbox") for label in labels), labels
    total = found["total"]
    assert positive(total["exec_s"])
    assert math.isclose(sum(item["share"] for item in statements), 1.0, rel_tol=1e-6)
    assert total["calls"] == sum(item["calls"] for item in statements)
    assert all(item["max_ms_per_call"] >= item["ms_per_call"] for item in statements)


def assert_steady_is_plausible(steady: dict[str, Any]) -> None:
    assert steady["matched"] > 0
    assert steady["published"] == steady["matched"] + steady["missing"]
    assert 0 < steady["p50_ms"] <= steady["p95_ms"] <= steady["p99_ms"] <= steady["max_ms"]
    assert list(steady["stages"]) == ["map+apply", "relay"]
    gc = steady["gc"]  # read from the service's /metrics before and after the phase
    assert gc is not None, "the service's garbage-collector histogram was not read"
    assert 0 <= gc["over_10ms"] <= gc["passes"]
    assert gc["seconds"] >= 0
    assert (gc["longest_at_most_ms"] is None) == (gc["passes"] == 0)
    upkeep = steady["maintenance"]  # autovacuum sampled on the run's database during the phase
    assert "error" not in upkeep, upkeep
    assert upkeep["sampled_s"] >= 1
    assert 0 <= upkeep["busy_s"] <= upkeep["sampled_s"]
    # The server's WAL and checkpoints meanwhile: a phase of new fiches writes WAL.
    assert upkeep["wal_bytes"] > 0, upkeep
    assert upkeep["checkpoints"] >= 0
    assert upkeep["wal_fpi"] >= 0
    for stage in ("map+apply", "relay"):  # publish -> apply start -> fiche event
        info = steady["stages"][stage]
        assert 0 < info["samples"] <= steady["matched"], stage
        assert 0 <= info["p50_ms"] <= info["p95_ms"] <= info["p99_ms"], stage
        assert info["p99_ms"] <= steady["max_ms"] + 5, stage  # no stage is longer than e2e


def assert_rate_search_is_plausible(search: dict[str, Any]) -> None:
    """Rising rates from 100/s, within the quick budget; the highest is one that passed."""
    trials = search["trials"]
    assert trials, search
    assert trials[0]["rate"] == 100
    assert search["seconds"] < search["budget_s"] + 60  # the drain may run a little over
    passed = [t["rate"] for t in trials if t["ok"]]
    assert search["highest_rate"] == (max(passed) if passed else None)
    for trial in trials:
        assert trial["published"] > 0, trial
        assert trial["ok"] == (trial["p99_ms"] is not None and trial["p99_ms"] < 250
                               and not trial["why"]), trial


def assert_targets_are_complete(targets: list[dict[str, Any]], stdout: str) -> None:
    """Every target has its row, with a number or "not measured"; the table is printed. On the
    suite's own broker (not the benchmark's stack) Kafka's CPU time is not seen."""
    assert [row["key"] for row in targets] == KEYS
    rows = {row["key"]: row for row in targets}
    for row in targets:
        value = row["value"]
        assert value == NOT_MEASURED or positive(value) or (
            row["key"] == "highest_rate_p99_under_250" and value == 0), row  # none passed
        assert row["status"] in ("met", "not met", "reported", NOT_MEASURED), row
        assert (row["status"] == NOT_MEASURED) == (value == NOT_MEASURED), row
        assert row["measure"] in stdout, row
    measured = ["load_events_per_s", "load_vs_raw_consume", "load_vs_copy",
                "cpu_ms_per_event_service", "cpu_ms_per_event_postgresql",
                "steady_p99_ms_at_100", "steady_p99_ms_at_500", "peak_rss_mb",
                "rows_per_new_fiche", "index_entries_per_new_fiche", "rows_per_updated_fiche",
                "index_entries_per_updated_fiche"]
    for key in measured:
        assert positive(rows[key]["value"]), rows[key]
    for key in ("load_vs_connect", "cost_growth", "cpu_ms_per_event_kafka",
                "cpu_ms_per_event_total"):
        assert rows[key]["value"] == NOT_MEASURED, rows[key]
    assert "targets" in stdout


def assert_missed_targets_are_explained(result: dict[str, Any], stdout: str) -> None:
    """Only missed targets have reasons, each printed. A load this short on the suite's broker
    misses 5,000/s, and PostgreSQL's part of the reason is there whatever the broker."""
    status = {row["key"]: row["status"] for row in result["targets"]}
    assert all(status[key] == "not met" for key in result["why"]), result["why"]
    if status["load_events_per_s"] == "not met":
        load = result["why"]["load_events_per_s"]
        assert any(line.startswith("a new fiche writes ") for line in load), load
    if result["why"]:
        assert "why the missed targets are missed" in stdout
        flat = " ".join(stdout.split())  # a reason wraps in its cell: its first words stay
        for lines in result["why"].values():
            assert "- " + " ".join(lines[0].split()[:3]) in flat, lines


@pytest.mark.timeout(300)
def test_the_scale_run_loads_each_size_on_its_own_and_prints_the_cost_by_size(
    infra: Infrastructure, tmp_path: Path,
) -> None:
    """``--sizes``: one initial load per size, each on a fresh database and topics; the cost
    per event per process at each size, in a table and in ``scale-latest.json``."""
    done = bench(infra, "--sizes", "300", "900", "--results", str(tmp_path), timeout=240)
    result = json.loads((tmp_path / "scale-latest.json").read_text())
    assert not (tmp_path / "latest.json").exists()  # the full run's latest is left alone
    assert [size["events"] for size in result["scale"]] == [300, 900]
    for size in result["scale"]:
        assert size["initial_load"]["fiche_events"] == size["events"]  # a database of its own
        assert positive(size["events_per_s"])
        assert positive(size["cpu_ms_per_event"]["service"])
        assert positive(size["cpu_ms_per_event"]["postgresql"])
        assert 0 < size["peak_rss_mb"] < 4096
        assert 5 < size["rows_per_fiche"] < size["index_entries_per_fiche"] < 500
    assert "cost of the initial load by size" in done.stdout
    assert "900" in done.stdout
    assert result["reference_size"] == 900
    rows = {row["key"]: row for row in result["targets"]}
    assert [row["key"] for row in result["targets"]] == KEYS
    assert positive(rows["load_events_per_s"]["value"])
    assert rows["steady_p99_ms_at_100"]["value"] == NOT_MEASURED


def assert_writes_are_plausible(writes: dict[str, Any], events: int, updates: int) -> None:
    """Rows and index entries per new and per updated fiche, from PostgreSQL's statistics:
    each new professional inserted one fiche, each update updated one, and both wrote more
    than the fiche row alone (values, record, history, outbox, matching)."""
    new, updated = writes["new_fiche"], writes["updated_fiche"]
    assert new["fiches"] == events
    assert new["tables"]["fiche"]["inserted"] == events
    assert updated["fiches"] == updates
    assert updated["tables"]["fiche"]["updated"] >= updates
    for phase in (new, updated):
        assert 5 < phase["rows_per_fiche"] < 100, phase
        assert phase["rows_per_fiche"] < phase["index_entries_per_fiche"] < 500, phase
        assert positive(phase["wal_bytes_per_fiche"]), phase
        assert phase["rows_per_fiche"] == pytest.approx(sum(
            t["rows_per_fiche"] for t in phase["tables"].values()))
    # Matching's index: at most one row per fiche, with an index entry per key.
    keys = new["tables"]["match_keys"]
    assert 0 < keys["inserted"] <= events
    assert keys["index_entries_per_fiche"] > 2 * keys["rows_per_fiche"]


def test_instances_is_at_least_one_and_fewer_partitions_than_instances_is_warned_about(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.run import parse

    assert parse([]).instances == 1
    assert parse(["--instances", "2", "--partitions", "2"]).instances == 2
    assert "warning" not in capsys.readouterr().err
    parse(["--instances", "3", "--partitions", "2"])
    assert "warning" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["--instances", "0"])
