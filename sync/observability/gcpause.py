"""How long the garbage collector holds the event loop: every pass is timed into
``sksync_gc_pause_seconds{generation}``.

A pass of the collector stops everything the process does, and a pass that frees many objects
in reference cycles takes tens of milliseconds: a stall that shows only as a latency tail. The
histogram puts such stalls beside the apply latency, so a tail can be told from the database's
or the broker's. Timing a pass costs two calls of a small function; with the service's
thresholds (:data:`sync.app.GC_THRESHOLDS`) there are a few passes a second under load.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from sync.observability import metrics

__all__ = ["watch_gc"]


class _PassTimer:
    """A ``gc.callbacks`` entry: notes when a pass starts, observes its length when it stops."""

    def __init__(self) -> None:
        self._started = 0.0
        self._by_generation = [metrics.GC_PAUSE.labels(str(g)) for g in range(3)]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)


_TIMER = _PassTimer()


def watch_gc() -> None:
    """Time every later pass of the collector (once per process, however often called)."""
    if _TIMER not in gc.callbacks:
        gc.callbacks.append(_TIMER)
