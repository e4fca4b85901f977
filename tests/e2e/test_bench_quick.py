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

from tests.support.infra import Infrastructure

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_the_quick_benchmark_prints_its_table_and_writes_every_figure(
    infra: Infrastructure, tmp_path: Path,
) -> None:
    """Initial load, steady-state latency, memory and both limits are measured; Kafka Connect
    is skipped unless asked for."""
    env = {**os.environ, "SKSYNC_KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
           "SKSYNC_DATABASE_URL": infra.database_url, "SKSYNC_ENVIRONMENT": "local"}
    done = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.run", "--quick", "--results", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
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
    assert steady["matched"] > 0
    assert 0 < steady["p50_ms"] <= steady["p95_ms"] <= steady["p99_ms"] <= steady["max_ms"]
    assert list(steady["stages"]) == ["map+apply", "relay"]
    for stage in ("map+apply", "relay"):  # publish -> apply start -> fiche event
        info = steady["stages"][stage]
        assert 0 < info["samples"] <= steady["matched"], stage
        assert 0 <= info["p50_ms"] <= info["p95_ms"] <= info["p99_ms"], stage
        assert info["p99_ms"] <= steady["max_ms"] + 5, stage  # no stage is longer than e2e
    assert 0 < result["memory"]["peak_rss_mb"] < 4096
    assert positive(result["limits"]["raw_consume_per_s"])
    assert positive(result["limits"]["copy"]["events_per_s"])
    assert positive(result["ratios"]["service_vs_copy"])
    assert "skipped" in result["kafka_connect"]
    assert len(list(tmp_path.glob("*.json"))) == 2  # <timestamp>.json and latest.json
    assert "written per fiche" in done.stdout
    assert_writes_are_plausible(result["writes"], events=3000, updates=1000)


def assert_writes_are_plausible(writes: dict[str, Any], events: int, updates: int) -> None:
    """Rows and index entries per new and per updated fiche, from PostgreSQL's statistics:
    each new professional inserted one fiche, each update updated one, and both wrote more
    than the fiche row alone (inbox, values, record, history, outbox, matching)."""
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
