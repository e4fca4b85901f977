"""Every pass of the garbage collector is timed into ``sksync_gc_pause_seconds``."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from sync.observability.gcpause import watch_gc


def _count(generation: int) -> float:
    return REGISTRY.get_sample_value(
        "sksync_gc_pause_seconds_count", {"generation": str(generation)}) or 0.0


def _sum(generation: int) -> float:
    return REGISTRY.get_sample_value(
        "sksync_gc_pause_seconds_sum", {"generation": str(generation)}) or 0.0


def test_each_pass_is_observed_under_its_generation() -> None:
    watch_gc()
    before = [_count(g) for g in range(3)]
    gc.collect(0)
    gc.collect(2)
    gc.collect(2)
    assert [_count(g) - b for g, b in enumerate(before)] == [1, 0, 2]


def test_a_pass_freeing_cycles_is_timed_by_its_length() -> None:
    watch_gc()
    enabled = gc.isenabled()
    gc.disable()  # no automatic pass frees them before the one measured
    try:
        for _ in range(200_000):  # objects in reference cycles: only the collector frees them
            cycle: list[object] = []
            cycle.append(cycle)
        del cycle
        before = _sum(2)
        freed = gc.collect(2)
    finally:
        if enabled:
            gc.enable()
    assert freed >= 200_000
    assert _sum(2) - before > 0.0005  # freeing 200,000 cycles takes well over half a millisecond


def test_watching_twice_times_a_pass_once() -> None:
    watch_gc()
    watch_gc()
    before = _count(1)
    gc.collect(1)
    assert _count(1) - before == 1
