"""structlog, configured once: JSON lines when not on a terminal, readable on one."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["configure_logging"]

_REDACTED_KEYS = frozenset({"ssin", "payload", "body", "value", "data"})


def _redact(_: object, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """Never print a whole payload or an SSIN, whoever passes one by mistake."""
    for key in _REDACTED_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


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
