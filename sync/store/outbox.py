"""Outbox rows: how large an event may be, and the SQL of the relay and of inbox retention.

A row holds an event until the relay has published it; the relay then deletes it (one insert
and one delete per event, migration 0018). The payload is the JSON text the service wrote,
published as it is.

An event whose payload would pass :data:`MAX_EVENT_BYTES` is written *parked*: it is
kept, with the reason, and never sent (the broker would refuse it, and a refused row must not
hold back the rows after it). Operators see it in ``sksync status``, the
``sksync_outbox_parked_rows`` gauge and an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = [
    "BACKLOG", "DELETE_INBOX", "DELETE_PUBLISHED", "FOLD_TALLY", "LIST_PARKED",
    "MAX_EVENT_BYTES", "PARK", "PARKED", "RELEASE", "SELECT_UNSENT", "TABLE_ESTIMATES",
    "Queries", "Retention", "park_reason",
]


class Queries(Protocol):
    """What retention needs of a connection (asyncpg's, or the relay's prepared session)."""

    async def fetchval(self, query: str, *args: Any) -> Any:
        """The first column of the first row ``query`` returns."""


#: The broker's default limit (``message.max.bytes``, 1,048,588) and the producer's request
#: limit (1,048,576), less room for the key, the headers and the record batch's framing.
MAX_EVENT_BYTES = 1_000_000

#: Every row is unsent (a published row is deleted); the primary key gives the order.
SELECT_UNSENT = """
SELECT id, event_id, topic, key, payload, type FROM outbox
WHERE parked_at IS NULL ORDER BY id LIMIT $1
"""
#: Rows the broker has taken: the step that ends an event's stay.
DELETE_PUBLISHED = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
PARK = "UPDATE outbox SET parked_at = now(), park_reason = $2 WHERE id = $1"
BACKLOG = """
SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE parked_at IS NULL
"""
#: The inbox's retention, one bounded batch (a short transaction, short locks, however much
#: is due); the counts of updates applied per minute (``apply_count``) go with it.
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
#: The fiche counts of backends that have gone (migration 0022), folded into writer 0: their
#: rows would otherwise add up with every connection the pools ever opened.
FOLD_TALLY = """
WITH gone AS (
    DELETE FROM fiche_tally
    WHERE writer <> 0 AND writer NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
    RETURNING kind, status, fiches)
INSERT INTO fiche_tally AS t (kind, status, writer, fiches)
SELECT kind, status, 0, sum(fiches) FROM gone GROUP BY kind, status ORDER BY kind, status
ON CONFLICT (kind, status, writer) DO UPDATE SET fiches = t.fiches + EXCLUDED.fiches
"""
#: Parked rows by reason, for ``sksync status`` (the reason's first word: its kind).
PARKED = """
SELECT split_part(park_reason, ':', 1) AS reason, count(*) AS rows FROM outbox
WHERE parked_at IS NOT NULL GROUP BY 1 ORDER BY 1
"""
LIST_PARKED = """
SELECT id, event_id, topic, key, type, parked_at, park_reason, octet_length(payload) AS bytes
FROM outbox WHERE parked_at IS NOT NULL ORDER BY id
"""
#: Parked rows handed back to the relay (all of them with ``$2``), which sends them next:
#: their ids are lower than those of the rows waiting, so they go out first.
RELEASE = """
UPDATE outbox SET parked_at = NULL, park_reason = NULL
WHERE parked_at IS NOT NULL AND ($2 OR id = ANY($1::bigint[]))
RETURNING id
"""
#: PostgreSQL's own estimate (as of the last vacuum or analyze): a count(*) reads the table.
TABLE_ESTIMATES = """
SELECT relname AS name, greatest(reltuples, 0)::bigint AS rows FROM pg_class
WHERE relname IN ('outbox', 'inbox') AND relkind = 'r'
  AND relnamespace = 'public'::regnamespace
"""


def park_reason(payload: str, limit: int = MAX_EVENT_BYTES) -> str | None:
    """Why ``payload`` must be parked rather than published, or ``None``: the relay
    publishes the text as written, so its size is the size of its UTF-8."""
    if 4 * len(payload) <= limit:
        return None  # at most 4 bytes a character
    size = len(payload.encode())
    return f"too-large: {size} bytes, over the limit of {limit}" if size > limit else None


@dataclass(frozen=True)
class Retention:
    """How long inbox rows are kept, and how they are deleted. (Outbox rows need none: the
    relay deletes each one as it publishes it.)"""

    #: Every statement a step runs (the relay prepares them before it takes its lock).
    STATEMENTS: ClassVar[tuple[str, ...]] = (FOLD_TALLY, DELETE_INBOX)

    inbox_s: float
    interval_s: float = 300.0
    batch_size: int = 5000

    async def delete_step(self, conn: Queries) -> dict[str, int]:
        """Delete one bounded batch (its own transaction); how many rows each table lost.
        A full batch means that more may be due. The fiche counts of gone backends are folded
        on the way (a row per kind and status a backend wrote: a handful)."""
        await conn.fetchval(FOLD_TALLY)
        return {"inbox": int(await conn.fetchval(DELETE_INBOX, self.inbox_s, self.batch_size))}
