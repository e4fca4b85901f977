"""Steady phases one after the other on the same running service (several rates in one run,
then the rate search): each goes on from the versions and the new professionals the ones
before it left, so every event it publishes makes a fiche event."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.events import EventFactory
from bench.kafka_io import consumer, topic_size, wait_for_size
from bench.steady import SteadyResult, steady_state
from sync.settings import Settings

__all__ = ["PhaseRunner", "cpu_while_publishing", "p99_counting_missing", "summary"]


def p99_counting_missing(latencies: list[float], missing: int) -> float:
    """The 99th percentile (s, nearest rank as in :mod:`bench.steady`) over every published
    event, those whose fiche event never came counted as infinitely late (``inf`` if they
    reach it)."""
    total = len(latencies) + missing
    if total == 0:
        return math.nan
    rank = min(total - 1, int(0.99 * total))
    return math.inf if rank >= len(latencies) else sorted(latencies)[rank]


def summary(steady: SteadyResult, rate: float, seconds: float) -> dict[str, Any]:
    """The JSON of one steady phase: what was published, latency percentiles, per stage."""
    p99_all = p99_counting_missing(steady.latencies, steady.missing)
    return {
        "rate": rate, "seconds": seconds, "published": steady.published,
        "new": steady.new, "updates": steady.updates, "matched": len(steady.latencies),
        "missing": steady.missing, "achieved_rate": steady.published / max(1e-6, steady.seconds),
        **{f"{name}_ms": steady.percentile(q) * 1000 for name, q in
           (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))},
        # None when the events that never came (within the settle window) hold the p99.
        "p99_all_ms": None if math.isinf(p99_all) else p99_all * 1000,
        "stages": steady.stages,
        "load_generator": {"cpu_s": round(steady.generator_cpu_s, 2),
                           "core_share": steady.generator_cpu_s / max(1e-6, steady.seconds)},
        **({"cpu": cpu_while_publishing(steady)} if steady.cpu_s else {})}


def cpu_while_publishing(steady: SteadyResult) -> dict[str, Any]:
    """Each process's share of a core while the phase published, and its CPU ms per event
    published: the service, PostgreSQL's backends and the broker (as the probe named them)
    and the benchmark's own process (``benchmark``: the load generator and its consumer)."""
    spent = {**steady.cpu_s, "benchmark": steady.generator_cpu_s}
    seconds, published = max(1e-6, steady.seconds), max(1, steady.published)
    return {"seconds": round(steady.seconds, 2),
            "cores": {name: round(used / seconds, 3) for name, used in spent.items()},
            "ms_per_event": {name: round(used * 1000 / published, 3)
                             for name, used in spent.items()}}


@dataclass
class PhaseRunner:
    """Runs steady phases against ``existing`` loaded professionals, carrying the versions and
    the count of new professionals from one phase to the next."""

    settings: Settings
    factory: EventFactory
    existing: int
    versions: dict[int, int] = field(default_factory=dict)
    made_new: int = 0
    say: Callable[[str], None] = print
    one_hop: bool = True  # the service maps and applies in one process
    #: CPU seconds used so far by each process to watch during a phase (``steady_state``).
    cpu: Callable[[], dict[str, float]] | None = None

    async def phase(self, rate: float, seconds: float, settle_s: float) -> dict[str, Any]:
        """One steady phase; its :func:`summary`."""
        steady = await steady_state(self.settings, self.factory, self.existing, rate=rate,
                                    seconds=seconds, settle_s=settle_s,
                                    versions=self.versions, new_offset=self.made_new,
                                    one_hop=self.one_hop, cpu=self.cpu)
        self.versions, self.made_new = steady.versions, self.made_new + steady.new
        return summary(steady, rate, seconds)

    async def fiche_events(self) -> int:
        """How many fiche events are on the topic now."""
        async with consumer(self.settings) as probe:
            return await topic_size(probe, self.settings.topics.name("fiche_event"))

    async def drain(self, expected: int, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until ``expected`` fiche events are on the topic: the
        backlog of a phase the service could not keep up with is worked off."""
        async with consumer(self.settings) as probe:
            return await wait_for_size(probe, self.settings.topics.name("fiche_event"),
                                       expected, timeout, every_s=0.5)
