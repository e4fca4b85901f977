"""The highest steady rate at which the p99 latency stays under 250 ms: a short search.

Short steady phases at rising rates (100, 200, 400, 800, ... events/s by default), stopping at
the first whose p99 reaches the bound, then one bisection step between the last rate that
passed and that one. A phase fails when its p99 over every published event (those whose fiche
event did not come within the settle window counted as infinitely late) is not under the
bound, or when the benchmark could not publish at the rate (it then says so: the limit found
is the publisher's, not the service's). After a failed phase the backlog is worked off before
the next one starts. The whole search is bounded in time: a phase that would not finish within
the budget is not started.

:func:`next_rate` is the plan, pure; :func:`search` runs it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from bench.phases import PhaseRunner
from bench.targets import SEARCH_P99_MS

__all__ = ["SearchPlan", "Trial", "judge", "next_rate", "search"]

#: A phase that published less than this share of its rate did not test that rate.
PUBLISHED_SHARE = 0.95


@dataclass(frozen=True)
class Trial:
    """One phase of the search: its rate, whether it passed, and why not."""

    rate: float
    ok: bool
    p99_ms: float | None = None
    why: str = ""


@dataclass(frozen=True)
class SearchPlan:
    start: float = 100.0
    factor: float = 2.0
    max_rate: float = 51_200.0
    seconds: float = 12.0
    settle_s: float = 10.0
    budget_s: float = 240.0
    bound_ms: float = SEARCH_P99_MS


def next_rate(trials: list[Trial], plan: SearchPlan) -> float | None:
    """The next rate to try, or None when the search is over: rising by ``factor`` until one
    fails (or ``max_rate`` is passed), then one bisection step below the first that failed."""
    first_failed = next((i for i, t in enumerate(trials) if not t.ok), None)
    if first_failed is None:
        if not trials:
            return plan.start
        rate = max(t.rate for t in trials) * plan.factor
        return rate if rate <= plan.max_rate else None
    if first_failed < len(trials) - 1:  # the bisection step is done
        return None
    high = trials[first_failed].rate
    low = max((t.rate for t in trials if t.ok and t.rate < high), default=0.0)
    middle = _round((low + high) / 2)
    return middle if low < middle < high else None


def _round(rate: float) -> float:
    """To two significant digits: 600 and 1,200, not 612.5."""
    if rate <= 0:
        return 0.0
    step = 10 ** max(0, math.floor(math.log10(rate)) - 1)
    return float(round(rate / step) * step)


def judge(phase: dict[str, Any], bound_ms: float) -> Trial:
    """Whether a phase's p99 (counting missing events) is under ``bound_ms`` at its rate."""
    rate = float(phase["rate"])
    p99 = phase.get("p99_all_ms")
    if phase.get("achieved_rate", 0) < PUBLISHED_SHARE * rate:
        return Trial(rate, False, p99, f"the benchmark published only "
                                        f"{phase.get('achieved_rate', 0):,.0f}/s")
    if p99 is None:
        return Trial(rate, False, None, f"{phase.get('missing', 0):,} of "
                                        f"{phase.get('published', 0):,} fiche events not out "
                                        "within the settle window")
    if p99 >= bound_ms:
        return Trial(rate, False, p99, f"p99 {p99:,.0f} ms")
    return Trial(rate, True, p99)


async def search(runner: PhaseRunner, plan: SearchPlan) -> dict[str, Any]:
    """Run the search; its JSON: the highest rate that passed (None if none did), each trial,
    and why the search stopped."""
    started = time.monotonic()
    trials: list[Trial] = []
    phases: list[dict[str, Any]] = []
    stopped = ""
    while (rate := next_rate(trials, plan)) is not None:
        left = plan.budget_s - (time.monotonic() - started)
        if left < plan.seconds + plan.settle_s:
            stopped = f"time budget of {plan.budget_s:g} s spent before {rate:g}/s"
            break
        runner.say(f"rate search: {rate:g}/s for {plan.seconds:g} s")
        before = await runner.fiche_events()
        phase = await runner.phase(rate, plan.seconds, plan.settle_s)
        trial = judge(phase, plan.bound_ms)
        trials.append(trial)
        phases.append(phase)
        if phase["missing"] and not await runner.drain(
                before + phase["published"], max(10.0, left - plan.seconds - plan.settle_s)):
            stopped = f"the backlog of the {rate:g}/s phase was not worked off within the budget"
            break
    else:
        if trials and all(t.ok for t in trials):
            stopped = f"every rate up to {plan.max_rate:g}/s passed (the highest tried)"
    passed = [t.rate for t in trials if t.ok]
    return {
        "highest_rate": max(passed) if passed else None, "bound_ms": plan.bound_ms,
        "seconds_per_phase": plan.seconds, "budget_s": plan.budget_s,
        "seconds": time.monotonic() - started, "stopped": stopped,
        "trials": [{"rate": t.rate, "ok": t.ok, "p99_ms": t.p99_ms, "why": t.why,
                    "published": p["published"], "achieved_rate": p["achieved_rate"],
                    "missing": p["missing"], "p50_ms": p["p50_ms"]}
                   for t, p in zip(trials, phases, strict=True)]}
