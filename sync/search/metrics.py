"""The indexer's Prometheus metrics (its lag is ``sksync_consumer_lag_messages`` of its group)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["INDEXED", "LAST_INDEXED", "OUTCOMES"]

#: indexed: a new version written; stale: an older or equal version (redelivered or out of
#: order) that the index already had newer; skipped: an event without a snapshot; refused: a
#: document OpenSearch rejected, or an undecodable message (logged with its offset).
OUTCOMES = ("indexed", "stale", "skipped", "refused")
INDEXED = Counter("sksync_index_events_total", "Fiche events by what the indexer did with them.",
                  ["outcome"])
LAST_INDEXED = Gauge("sksync_index_last_indexed_timestamp_seconds",
                     "When the indexer last wrote a batch to the search index.")
for _outcome in OUTCOMES:
    INDEXED.labels(_outcome)
