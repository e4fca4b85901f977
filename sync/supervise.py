"""Background tasks that never end while the service runs.

The relay, the gauges and the verification loop each handle the failures they expect and go
on. A failure they did not expect (a defect, an error raised where none was foreseen) would
otherwise end the task for good, silently, while the service went on without it: the outbox
unpublished, the gauges frozen. :func:`supervise` runs such a task again instead, after a
backoff that grows with each failure in a row; it logs the failure, counts it in
``sksync_task_restarts_total{task}``, and :meth:`Supervisor.problems` tells ``/readyz``
which task is waiting to start again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import structlog

from sync.observability import metrics

__all__ = ["Supervisor"]

log = structlog.get_logger(__name__)


class Supervisor:
    """Starts named tasks that are run again whenever they end; cancel them to stop."""

    def __init__(self, max_backoff_s: float = 30.0) -> None:
        self.max_backoff_s = max_backoff_s
        self.tasks: list[asyncio.Task[None]] = []
        self._down: dict[str, str] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``run()`` as the task ``name``, and again each time it ends."""
        metrics.TASK_RESTARTS.labels(name)  # the series exists from the start, at 0
        task = asyncio.create_task(self._supervise(name, run), name=name)
        self.tasks.append(task)
        return task

    def problems(self) -> str | None:
        """``None`` while every task runs, else which are waiting to start again and why."""
        if not self._down:
            return None
        return "; ".join(f"{name} {why}" for name, why in sorted(self._down.items()))

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await run()
                why = "ended"
                log.error("background task ended; starting it again", task=name)
            except Exception as error:  # whatever it was, the task must go on
                why = f"failed ({type(error).__name__})"
                log.exception("background task failed; starting it again", task=name)
            # A task that ran a good while before failing starts over with a short wait.
            failures = 1 if time.monotonic() - started > self.max_backoff_s else failures + 1
            metrics.TASK_RESTARTS.labels(name).inc()
            wait = self.backoff(failures)
            self._down[name] = f"{why}, restarting in {wait:.1f} s"
            try:
                await asyncio.sleep(wait)
            finally:
                self._down.pop(name, None)

    def backoff(self, failures: int) -> float:
        """The wait before the next start of a task that failed ``failures`` times in a row."""
        ceiling = min(self.max_backoff_s, 0.1 * 2 ** min(failures - 1, 20))
        return random.uniform(ceiling / 2, ceiling)
