"""Retrying transient failures: exponential backoff with jitter.

A transient failure is never dead-lettered at once. An outage (database restarting or
read-only, broker away) is waited for without limit: the consumer resumes where it stood when
it passes. Contention (a deadlock, a concurrent writer) usually passes at the next attempt;
one that repeats identically is deterministic after all, and a caller that names
``give_up_after`` gets :class:`RepeatedFailure` after that many identical attempts, so that
one update cannot stall its partition for ever (:mod:`sync.failures` tells the kinds apart).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_never,
    wait_random_exponential,
)

from sync.cloudevents import redact
from sync.errors import PermanentError
from sync.failures import is_outage, is_transient, signature
from sync.observability import metrics

__all__ = ["RepeatedFailure", "retry_transient"]

T = TypeVar("T")
log = structlog.get_logger(__name__)


class RepeatedFailure(PermanentError):
    """A failure classed as contention failed the same way ``attempts`` times in a row."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        sqlstate = getattr(error, "sqlstate", None)
        what = f"{type(error).__name__}{f' ({sqlstate})' if sqlstate else ''}"
        text = redact(str(error).splitlines()[0] if str(error) else "")[:200]
        super().__init__("repeated-failure", f"{what} {attempts} times in a row: {text}")
        self.attempts = attempts


class _Repeats:
    """Counts how often the same non-outage failure came back in a row."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.count = 0

    def note(self, error: BaseException) -> int:
        """The number of identical failures in a row so far (an outage breaks the run)."""
        if is_outage(error):
            self.last, self.count = None, 0
            return 0
        key = signature(error)
        self.count = self.count + 1 if key == self.last else 1
        self.last = key
        return self.count


async def retry_transient(
    operation: Callable[[], Awaitable[T]], *, what: str, max_backoff_s: float = 30.0,
    give_up_after: int | None = None,
) -> T:
    """Run ``operation`` until it succeeds or fails permanently; with ``give_up_after``, a
    failure other than an outage that repeats identically that many times raises
    :class:`RepeatedFailure` (its cause: the last failure).

    The first attempt runs on its own: tenacity's retrier (some forty objects in reference
    cycles, left for the garbage collector) is built only once it has failed. Called once
    per batch, the retrier made nearly all of the service's cyclic garbage, and each
    collection of it stalled the event loop for 30-60 ms."""
    try:
        return await operation()
    except Exception as error:  # what follows treats it as the retrier's first attempt
        first: BaseException | None = error
    failed_at = time.monotonic()

    async def attempt_once() -> T:
        nonlocal first
        if first is not None:
            error, first = first, None
            raise error
        return await operation()

    retrying = False
    repeats = _Repeats()

    def before_sleep(state: RetryCallState) -> None:
        nonlocal retrying
        if not retrying:
            retrying = True
            metrics.RETRYING.labels(what).inc()
        error = state.outcome.exception() if state.outcome else None
        metrics.RETRIES.labels(what).inc()
        log.warning("transient failure, retrying", operation=what, attempt=state.attempt_number,
                    error=type(error).__name__ if error else None,
                    wait_s=round(state.upcoming_sleep, 2))

    def worth_retrying(error: BaseException) -> bool:
        if not is_transient(error):
            return False
        return give_up_after is None or repeats.note(error) < give_up_after

    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=wait_random_exponential(multiplier=0.05, max=max_backoff_s),
            stop=stop_never,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                result = await attempt_once()
                if retrying:  # the outage's end, beside the lines of its attempts
                    log.info("recovered", operation=what,
                             attempts=attempt.retry_state.attempt_number,
                             seconds=round(time.monotonic() - failed_at, 2))
                return result
    except Exception as error:
        if give_up_after is not None and repeats.count >= give_up_after and is_transient(error):
            log.warning("the same failure repeated: giving up", operation=what,
                        attempts=repeats.count, error=type(error).__name__)
            raise RepeatedFailure(error, repeats.count) from error
        raise
    finally:
        if retrying:
            metrics.RETRYING.labels(what).dec()
    raise AssertionError("unreachable: stop_never")  # pragma: no cover
