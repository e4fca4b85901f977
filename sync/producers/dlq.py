"""Dead letters: the original message, unchanged, on ``<topic>.dlq`` with why in headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.producers.kafka import Outgoing

__all__ = ["DeadLetter", "dead_letter"]


@dataclass(frozen=True)
class DeadLetter:
    """Why a message could not be processed. ``detail`` never holds protected data."""

    reason: str
    detail: str
    exception: str
    attempts: int = 1
    first_failure: datetime | None = None


def dead_letter(record: Any, letter: DeadLetter, dlq_topic: str) -> Outgoing:
    """The outgoing DLQ message for ``record``; replays read the ``sksync-*`` headers back."""
    now = datetime.now(UTC).isoformat()
    headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("sksync-")]
    headers += [
        ("sksync-reason", letter.reason.encode()),
        ("sksync-detail", letter.detail[:500].encode()),
        ("sksync-exception", letter.exception.encode()),
        ("sksync-original-topic", record.topic.encode()),
        ("sksync-original-partition", str(record.partition).encode()),
        ("sksync-original-offset", str(record.offset).encode()),
        ("sksync-attempts", str(letter.attempts).encode()),
        ("sksync-first-failure", (letter.first_failure.isoformat() if letter.first_failure
                                  else now).encode()),
        ("sksync-last-failure", now.encode()),
    ]
    return (dlq_topic, record.key, record.value or b"", headers)
