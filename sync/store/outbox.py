"""Outbox rows: how large an event may be, and the SQL of the relay and of retention.

An event whose published form would pass :data:`MAX_EVENT_BYTES` is written *parked*: it is
kept, with the reason, and never sent (the broker would refuse it, and a refused row must not
hold back the rows after it). Operators see it in ``sksync status``, the
``sksync_outbox_parked_rows`` gauge and an alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "BACKLOG", "DELETE_INBOX", "DELETE_SENT", "LIST_PARKED", "MARK_SENT", "MAX_EVENT_BYTES",
    "PARK", "PARKED", "RELEASE", "SELECT_UNSENT", "TABLE_ESTIMATES", "Queries", "Retention",
    "park_reason", "published_size",
]


class Queries(Protocol):
    """What retention needs of a connection (asyncpg's, or the relay's prepared session)."""

    async def fetchval(self, query: str, *args: Any) -> Any:
        """The first column of the first row ``query`` returns."""


#: A number with an exponent in compact JSON (after ``:``, ``,`` or ``[``); ids such as UUIDs,
#: which hold runs like ``7e333604``, stand inside strings, after a quote.
_EXPONENT = re.compile(r"[:,\[]-?\d+(?:\.\d+)?[eE]([+-]?\d+)")

#: The broker's default limit (``message.max.bytes``, 1,048,588) and the producer's request
#: limit (1,048,576), less room for the key, the headers and the record batch's framing.
MAX_EVENT_BYTES = 1_000_000

SELECT_UNSENT = """
SELECT id, event_id, topic, key, payload::text AS payload, payload->>'type' AS type FROM outbox
WHERE sent_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $1
"""
MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])"
PARK = "UPDATE outbox SET parked_at = now(), park_reason = $2 WHERE id = $1"
BACKLOG = """
SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL
"""
#: One bounded batch each: short transactions, short locks, however much is due.
DELETE_SENT = """
WITH gone AS (
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE sent_at < now() - make_interval(secs => $1) LIMIT $2)
    RETURNING 1)
SELECT count(*) FROM gone
"""
#: The inbox's retention; the counts of updates applied per minute (``apply_count``, what the
#: inbox counted before it kept only editors' decisions) go with it.
DELETE_INBOX = """
WITH gone AS (
    DELETE FROM inbox WHERE (source, event_id) IN (
        SELECT source, event_id FROM inbox
        WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)
    RETURNING 1),
counts AS (
    DELETE FROM apply_count WHERE (source, minute, writer) IN (
        SELECT source, minute, writer FROM apply_count
        WHERE minute < now() - make_interval(secs => $1) LIMIT $2))
SELECT count(*) FROM gone
"""
#: Parked rows by reason, for ``sksync status`` (the reason's first word: its kind).
PARKED = """
SELECT split_part(park_reason, ':', 1) AS reason, count(*) AS rows FROM outbox
WHERE parked_at IS NOT NULL AND sent_at IS NULL GROUP BY 1 ORDER BY 1
"""
LIST_PARKED = """
SELECT id, event_id, topic, key, payload->>'type' AS type, parked_at, park_reason,
       octet_length(payload::text) AS bytes
FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY id
"""
#: Parked rows handed back to the relay (all of them with ``$2``), which sends them next:
#: their ids are lower than those of the rows waiting, so they go out first.
RELEASE = """
UPDATE outbox SET parked_at = NULL, park_reason = NULL
WHERE parked_at IS NOT NULL AND sent_at IS NULL AND ($2 OR id = ANY($1::bigint[]))
RETURNING id
"""
#: PostgreSQL's own estimate (as of the last vacuum or analyze): a count(*) reads the table.
TABLE_ESTIMATES = """
SELECT relname AS name, greatest(reltuples, 0)::bigint AS rows FROM pg_class
WHERE relname IN ('outbox', 'inbox') AND relkind = 'r'
  AND relnamespace = 'public'::regnamespace
"""


def published_size(payload: str) -> int:
    """An upper bound of the bytes the relay publishes for ``payload`` (compact JSON).

    The relay sends PostgreSQL's rendering of the stored ``jsonb``, which puts a space after
    every ``:`` and ``,`` (counting each of those characters once more never falls short) and
    writes numbers in full (``1e300`` becomes 301 digits: each exponent is counted as digits).
    Text inside strings that looks like such a number only makes the bound larger.
    """
    widened = sum(abs(int(exponent)) + 2 for exponent in _EXPONENT.findall(payload))
    return len(payload.encode()) + payload.count(",") + payload.count(":") + widened


def park_reason(payload: str, limit: int = MAX_EVENT_BYTES) -> str | None:
    """Why ``payload`` must be parked rather than published, or ``None``."""
    if 6 * len(payload) <= limit and not _EXPONENT.search(payload):
        return None  # at most 4 bytes a character, plus 2 for the spaces
    size = published_size(payload)
    return f"too-large: {size} bytes, over the limit of {limit}" if size > limit else None


@dataclass(frozen=True)
class Retention:
    """How long sent outbox rows and inbox rows are kept, and how they are deleted."""

    outbox_s: float
    inbox_s: float
    interval_s: float = 300.0
    batch_size: int = 5000

    async def delete_step(self, conn: Queries) -> dict[str, int]:
        """Delete one bounded batch of each table (each statement its own transaction);
        how many rows each lost. A full batch means that more may be due."""
        return {
            "outbox": int(await conn.fetchval(DELETE_SENT, self.outbox_s, self.batch_size)),
            "inbox": int(await conn.fetchval(DELETE_INBOX, self.inbox_s, self.batch_size)),
        }
