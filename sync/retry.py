"""Retrying transient failures: exponential backoff with jitter, for as long as it takes.

A transient failure (database restarting, broker away, serialization failure) is never
dead-lettered: the consumer waits, and resumes where it stood when the failure passes.
"""

from __future__ import annotations

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

from sync.ops import metrics
from sync.store.uow import is_transient

__all__ = ["retry_transient"]

T = TypeVar("T")
log = structlog.get_logger(__name__)


async def retry_transient(
    operation: Callable[[], Awaitable[T]], *, what: str, max_backoff_s: float = 30.0,
) -> T:
    """Run ``operation`` until it succeeds or fails permanently."""

    retrying = False

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

    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait_random_exponential(multiplier=0.05, max=max_backoff_s),
            stop=stop_never,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return await operation()
    finally:
        if retrying:
            metrics.RETRYING.labels(what).dec()
    raise AssertionError("unreachable: stop_never")  # pragma: no cover
