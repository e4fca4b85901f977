"""Dead letters: the original message, unchanged, on ``<topic>.dlq`` with why in headers.

One exception: a value bigger than :data:`MAX_DLQ_VALUE_BYTES` (only a message refused as
``too-large`` can be) keeps its first :data:`TRUNCATED_HEAD_BYTES` bytes. Whole, it would not
fit the default 1 MB message limit of the dead-letter topic (nor the producer's request limit),
and its publish would be retried for ever: the consumer would stall on it. The headers
``sksync-truncated-from`` (the original size) and ``sksync-original-sha256`` say so and identify
the original, which its producer still has. A replay of such a letter cannot succeed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.producers.kafka import Outgoing

__all__ = ["MAX_DLQ_VALUE_BYTES", "TRUNCATED", "TRUNCATED_HEAD_BYTES", "DeadLetter",
           "dead_letter"]

#: Values up to the decoder's own cap (sync.cloudevents.MAX_MESSAGE_BYTES) are kept whole.
MAX_DLQ_VALUE_BYTES = 1_000_000
TRUNCATED_HEAD_BYTES = 64 * 1024
TRUNCATED = "sksync-truncated-from"


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
    value = record.value or b""
    if len(value) > MAX_DLQ_VALUE_BYTES:
        headers += [(TRUNCATED, str(len(value)).encode()),
                    ("sksync-original-sha256", hashlib.sha256(value).hexdigest().encode())]
        value = value[:TRUNCATED_HEAD_BYTES]
    return (dlq_topic, record.key, value, headers)
