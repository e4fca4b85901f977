"""What both ingest paths share: the publish callback, invalid-row reports, CloudEvent dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

__all__ = [
    "MAX_REPORTED_ROWS",
    "Flush",
    "IngestError",
    "InvalidRow",
    "InvalidRows",
    "Progress",
    "Publish",
    "cloud_event",
]

#: Receives each CloudEvent dict; publishing (Kafka) is the caller's business.
Publish = Callable[[dict[str, Any]], Awaitable[None]]
#: Awaited before the ingest's transaction commits (a batching publisher waits for acks).
Flush = Callable[[], Awaitable[None]]
#: Told (what, how many so far) now and then, e.g. ("enterprise.csv", 200000).
Progress = Callable[[str, int], None]

#: A broken file could produce millions of invalid rows: keep the first ones, count them all.
MAX_REPORTED_ROWS = 1000


class IngestError(Exception):
    """The file cannot be ingested at all (not a single row): nothing was published."""


class InvalidRow(NamedTuple):
    """One row that was skipped: the file, its line number (1 = header) and why."""

    file: str
    line: int
    reason: str


@dataclass
class InvalidRows:
    """Skipped rows: all counted, the first ``MAX_REPORTED_ROWS`` kept for the report."""

    rows: list[InvalidRow] = field(default_factory=list)
    count: int = 0

    def add(self, file: str, line: int, reason: str) -> None:
        """Record one skipped row."""
        self.count += 1
        if len(self.rows) < MAX_REPORTED_ROWS:
            self.rows.append(InvalidRow(file, line, reason))


def cloud_event(
    *, id: str, source: str, type: str, subject: str, time: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode event as a JSON-ready dict."""
    return {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": type,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }
