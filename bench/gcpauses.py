"""The service's garbage-collector passes during a steady phase, read from its own
``sksync_gc_pause_seconds`` histogram (``/metrics``) before and after the phase.

A pass of the collector holds the event loop; passes of tens of milliseconds show as the
latency tail, so each phase reports how many passes ran, their total time, how many took over
10 ms, and a bound on the longest (the histogram's smallest bucket holding every pass)."""

from __future__ import annotations

import asyncio
import math
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["GcReading", "parse", "read"]

METRIC = "sksync_gc_pause_seconds"
LONG_S = 0.01  # a bucket bound of the histogram: "over 10 ms" is read from it


@dataclass
class GcReading:
    """The histogram summed over generations (and instances): passes, seconds, and the count
    of passes at or under each bucket bound."""

    passes: float = 0.0
    seconds: float = 0.0
    at_most: dict[float, float] = field(default_factory=dict)

    def __add__(self, other: GcReading) -> GcReading:
        bounds = self.at_most.keys() | other.at_most.keys()
        return GcReading(self.passes + other.passes, self.seconds + other.seconds,
                         {b: self.at_most.get(b, 0.0) + other.at_most.get(b, 0.0)
                          for b in bounds})

    def since(self, before: GcReading) -> dict[str, Any]:
        """What happened between ``before`` and this reading, as the phase's JSON."""
        passes = self.passes - before.passes
        within = {b: n - before.at_most.get(b, 0.0) for b, n in self.at_most.items()}
        longest = min((b for b, n in within.items() if n >= passes), default=math.inf)
        return {"passes": int(passes), "seconds": round(self.seconds - before.seconds, 4),
                "over_10ms": int(passes - within.get(LONG_S, passes)),
                "longest_at_most_ms": None if passes == 0 or math.isinf(longest)
                else round(longest * 1000, 1)}


def parse(text: str) -> GcReading:
    """The reading in a ``/metrics`` page (zero when the page has no such histogram)."""
    reading = GcReading()
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for sample in family.samples:
            if sample.name == f"{METRIC}_count":
                reading.passes += sample.value
            elif sample.name == f"{METRIC}_sum":
                reading.seconds += sample.value
            elif sample.name == f"{METRIC}_bucket":
                bound = float(sample.labels["le"])
                reading.at_most[bound] = reading.at_most.get(bound, 0.0) + sample.value
    return reading


async def read(port: int, timeout_s: float = 3.0) -> GcReading | None:
    """The service's reading on ``port``; None when it does not answer in time."""
    def fetch() -> str:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/metrics", timeout=timeout_s) as response:
            return str(response.read().decode())
    try:
        return parse(await asyncio.to_thread(fetch))
    except (OSError, ValueError):
        return None
