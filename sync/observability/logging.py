"""structlog, configured once: JSON lines when not on a terminal, readable on one."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    NotCoordinatorForGroupError,
)

__all__ = ["COORDINATOR_LOGGER", "configure_logging"]

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
