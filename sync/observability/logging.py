"""structlog, configured once: JSON lines when not on a terminal, readable on one."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Literal

import structlog
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    NotCoordinatorForGroupError,
)

__all__ = ["COORDINATOR_LOGGER", "REPEAT_WINDOW_S", "QuietRepeats", "configure_logging"]

#: aiokafka's logger that reports, at error level, every failed lookup of a consumer group's
#: coordinator, also the harmless ones of a broker that is starting.
COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
#: What a starting broker answers until its offsets topic is ready: aiokafka retries by itself.
_COORDINATOR_STARTING = (GroupCoordinatorNotAvailableError, GroupLoadInProgressError,
                         NotCoordinatorForGroupError)

_REDACTED_KEYS = frozenset({"ssin", "payload", "body", "value", "data"})


def _redact(_: object, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """Never print a whole payload or an SSIN, whoever passes one by mistake."""
    for key in _REDACTED_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


class _CalmCoordinatorWait(logging.Filter):
    """Says "waiting for the group coordinator" at info level where aiokafka says "Group
    Coordinator Request failed" at error level for an error it retries by itself (at every
    start against a fresh broker): an error line there alarms every newcomer and pages no one
    usefully. A coordinator that never comes shows as consumers not ready (/readyz) and lag."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if not (args and isinstance(args[0], _COORDINATOR_STARTING)):
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg = "waiting for the consumer group's coordinator (normal while the broker " \
                     "starts; retrying): %s"
        return self.threshold <= logging.INFO


#: How long the repeats of a library's log line are counted rather than printed.
REPEAT_WINDOW_S = 30.0


class QuietRepeats(logging.Filter):
    """The libraries' lines (aiokafka, FastStream, asyncio), each kind once per
    :data:`REPEAT_WINDOW_S`. While a broker is away, every retry of every Kafka client logs
    the same few lines at error level: a service logged 706 of them in five seconds, which
    buries everything else and fills the log store for as long as the outage lasts. The first
    line of a kind (its logger, level and message before its arguments) is printed; its
    repeats within the window are counted, and the first one after it says how many there
    were."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()  # to_thread workers log too
        #: (logger, level, message) -> (when it was last printed, repeats counted since)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            printed, repeats = self._seen.get(key, (None, 0))
            if printed is not None and now - printed < self.window_s:
                self._seen[key] = (printed, repeats + 1)
                return False
            if len(self._seen) >= 1000:  # lines formatted before logging: keep it bounded
                self._seen = {k: v for k, v in self._seen.items()
                              if now - v[0] < self.window_s}
            self._seen[key] = (now, 0)
        if repeats:
            record.msg = (f"{record.msg} (and {repeats} more like it in the "
                          f"{self.window_s:.0f} s before)")
        return True


def _calm_coordinator_waits(level: str) -> None:
    logger = logging.getLogger(COORDINATOR_LOGGER)
    for old in [f for f in logger.filters if isinstance(f, _CalmCoordinatorWait)]:
        logger.removeFilter(old)
    logger.addFilter(_CalmCoordinatorWait(logging.getLevelName(level.upper())))


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto", level: str = "INFO",
) -> None:
    """Configure structlog and the standard library's logging (aiokafka, FastStream) alike."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(QuietRepeats())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # FastStream configures its own "faststream" logger at import (INFO, own handler, no
    # propagation): import it first, then route it through ours and keep only what needs a
    # person's attention.
    import faststream  # noqa: F401

    framework = logging.getLogger("faststream")
    framework.handlers[:] = [handler]
    framework.setLevel(logging.WARNING)
    _calm_coordinator_waits(level)
