"""Dead letters: the original message, unchanged, on ``<topic>.dlq`` with why in headers.

One exception: a value bigger than :data:`MAX_DLQ_VALUE_BYTES` (only a message refused as
``too-large`` can be) keeps its first :data:`TRUNCATED_HEAD_BYTES` bytes. Whole, it would not
fit the default 1 MB message limit of the dead-letter topic (nor the producer's request limit),
and its publish would be retried for ever: the consumer would stall on it. The headers
``sksync-truncated-from`` (the original size) and ``sksync-original-sha256`` say so and identify
the original, which its producer still has. A replay of such a letter cannot succeed.

The same holds for a dead letter that its topic refuses for its size (a dead-letter topic
whose ``max.message.bytes`` is below the original's size): :func:`send_dead_letters` sends it
again with its value cut to the head, then to nothing, with the same two headers, rather
than retry it for ever.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from sync.producers.kafka import Outgoing, Producer, PublishFailed, send_all

__all__ = ["MAX_DLQ_VALUE_BYTES", "TRUNCATED", "TRUNCATED_HEAD_BYTES", "DeadLetter",
           "dead_letter", "send_dead_letters", "shortened"]

log = structlog.get_logger(__name__)

#: Values up to the decoder's own cap (sync.cloudevents.MAX_MESSAGE_BYTES) are kept whole.
MAX_DLQ_VALUE_BYTES = 1_000_000
TRUNCATED_HEAD_BYTES = 64 * 1024
TRUNCATED = "sksync-truncated-from"
ORIGINAL_SHA256 = "sksync-original-sha256"


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
    letter_out: Outgoing = (dlq_topic, record.key, record.value or b"", headers)
    if len(letter_out[2]) > MAX_DLQ_VALUE_BYTES:
        cut = shortened(letter_out)
        assert cut is not None  # a value over the limit can always be cut to its head
        return cut
    return letter_out


def shortened(letter: Outgoing) -> Outgoing | None:
    """``letter`` with a shorter value: its head, or nothing when it is no longer than the
    head; ``None`` when it is empty already. The first cut records the original's size and
    digest in the headers."""
    topic, key, value, headers = letter
    if not value:
        return None
    if not any(name == TRUNCATED for name, _ in headers):
        headers = [*headers, (TRUNCATED, str(len(value)).encode()),
                   (ORIGINAL_SHA256, hashlib.sha256(value).hexdigest().encode())]
    head = value[:TRUNCATED_HEAD_BYTES] if len(value) > TRUNCATED_HEAD_BYTES else b""
    return (topic, key, head, headers)


async def send_dead_letters(producer: Producer, letters: list[Outgoing]) -> None:
    """Send ``letters``; one refused for its size goes again :func:`shortened` until it fits.
    Any other failure raises :class:`PublishFailed` (the caller retries)."""
    try:
        await send_all(producer, letters)
        return
    except PublishFailed as failure:
        if not failure.too_large:
            raise
    for letter in letters:  # find the one refused; the others are sent again, harmlessly
        await _send_shortening(producer, letter)


async def _send_shortening(producer: Producer, letter: Outgoing) -> None:
    while True:
        try:
            await send_all(producer, [letter])
            return
        except PublishFailed as failure:
            smaller = shortened(letter) if failure.too_large else None
            if smaller is None:
                raise
            log.warning("dead letter too large for its topic, shortened", topic=letter[0],
                        bytes=len(letter[2]), now=len(smaller[2]))
            letter = smaller
