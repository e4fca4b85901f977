"""The benchmark's readings beside a steady phase: the service's garbage-collector histogram
(bench.gcpauses) and PostgreSQL's autovacuum work (bench.maintenance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.gcpauses import GcReading, parse
from bench.maintenance import Maintenance
from sync.observability import metrics


def _page(observations: dict[str, list[float]]) -> str:
    """A /metrics page holding the service's histogram with these passes per generation."""
    registry = CollectorRegistry()
    histogram = Histogram(metrics.GC_PAUSE._name, "passes", ["generation"],
                          buckets=metrics.GC_PAUSE._kwargs["buckets"], registry=registry)
    for generation, seconds in observations.items():
        child = histogram.labels(generation)
        for value in seconds:
            child.observe(value)
    return generate_latest(registry).decode()


def test_a_phase_counts_passes_time_the_long_ones_and_bounds_the_longest() -> None:
    before = parse(_page({"0": [0.0002, 0.0003], "2": [0.04]}))
    after = parse(_page({"0": [0.0002, 0.0003, 0.0004, 0.003], "1": [0.02], "2": [0.04]}))
    phase = after.since(before)
    assert phase["passes"] == 3
    assert abs(phase["seconds"] - (0.0004 + 0.003 + 0.02)) < 1e-9
    assert phase["over_10ms"] == 1  # the 20 ms pass; the 40 ms one was before the phase
    assert phase["longest_at_most_ms"] == 25.0  # the smallest bucket holding every pass


def test_no_pass_in_the_phase_says_so() -> None:
    reading = parse(_page({"0": [0.001]}))
    assert reading.since(reading) == {
        "passes": 0, "seconds": 0.0, "over_10ms": 0, "longest_at_most_ms": None}


def test_instances_add_up_and_a_page_without_the_histogram_reads_zero() -> None:
    one = parse(_page({"0": [0.002]}))
    two = parse(_page({"0": [0.03], "2": [0.0001]}))
    both = one + two
    assert both.passes == 3
    assert both.since(GcReading())["over_10ms"] == 1
    assert parse("# nothing here\n").passes == 0


def test_maintenance_counts_the_seconds_something_was_under_way_and_on_what() -> None:
    seen = Maintenance()
    seen.add([])
    seen.add([("vacuum", "match_keys"), ("analyze", "fiche")])
    seen.add([("vacuum", "match_keys")])
    assert seen.as_json(every_s=1.0) == {
        "sampled_s": 3.0, "busy_s": 2.0,
        "tables_s": {"vacuum match_keys": 2.0, "analyze fiche": 1.0}}
