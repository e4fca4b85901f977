"""Prometheus metrics. Defined once at import (no I/O); the service exposes them on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "APPLY_LATENCY",
    "CONSUMED",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "EVENT_AGE",
    "FICHES",
    "GC_PAUSE",
    "IDENTITY_CONFLICTS",
    "LAST_APPLY",
    "OPEN_CONFLICTS",
    "OUTBOX_BACKLOG",
    "OUTBOX_OLDEST_AGE",
    "OUTCOMES",
    "PUBLISHED",
    "READY",
    "RETRIES",
    "RETRYING",
    "RETRY_OPERATIONS",
]

CONSUMED = Counter(
    "sksync_events_consumed_total", "Messages read from a topic.", ["topic"])
OUTCOMES = Counter(
    "sksync_events_total",
    "What became of each message: mapped, applied, unchanged, stale, duplicate, refused, "
    "rejected, dead_lettered.",
    ["topic", "source", "outcome"])
DEAD_LETTERS = Counter(
    "sksync_dead_letters_total", "Messages sent to a dead-letter topic.", ["topic", "reason"])
APPLY_LATENCY = Histogram(
    "sksync_apply_duration_seconds", "Time to apply one batch of updates, commit included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENT_AGE = Histogram(
    "sksync_event_age_seconds", "Now minus the source event's time, at apply.", ["source"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600, 21600, 86400))
PUBLISHED = Counter(
    "sksync_relay_published_total", "Outbox rows published by the relay.", ["topic"])
OUTBOX_BACKLOG = Gauge("sksync_outbox_backlog", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "sksync_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row.")
CONSUMER_LAG = Gauge(
    "sksync_consumer_lag_messages", "Log-end offset minus committed offset.",
    ["group", "topic", "partition"])
OPEN_CONFLICTS = Gauge("sksync_open_conflicts", "Conflicts waiting for an editor.")
FICHES = Gauge("sksync_fiches", "Fiches by kind and status.", ["kind", "status"])
LAST_APPLY = Gauge(
    "sksync_last_apply_timestamp_seconds", "When an update from a source was last applied.",
    ["source"])
RETRIES = Counter("sksync_retries_total", "Retries after a transient failure.", ["operation"])
RETRYING = Gauge(
    "sksync_retrying", "Operations currently waiting out a transient failure.", ["operation"])
GC_PAUSE = Histogram(
    "sksync_gc_pause_seconds",
    "Passes of Python's garbage collector, by generation: how long each held the event loop.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
READY = Gauge(
    "sksync_ready", "1 when the last readiness check passed (as /readyz says), else 0.")

#: The ``what`` of every ``retry_transient`` call. Their series exist from the start, at 0,
#: so a dashboard shows 0 rather than "no data" and ``increase()`` sees the first retry.
RETRY_OPERATIONS = ("apply", "apply-batch", "broker-start", "database-connect", "dlq-publish",
                    "kafka-connect", "map-batch", "map-publish", "relay")
for _operation in RETRY_OPERATIONS:
    RETRIES.labels(_operation)
    RETRYING.labels(_operation)

IDENTITY_CONFLICTS = Counter(
    "sksync_identity_conflicts_total",
    "Records refused (dead-lettered) because their identifiers name two people: a fiche found "
    "through a shared identifier (an SSIN) holds another NIHII person number.", ["source"])
#: Each source's series exists from the start, at 0: the alert's ``increase()`` then sees the
#: first conflict too (the values of :class:`sync.events.Source`).
for _source in ("cobrha", "kbo", "association", "manual"):
    IDENTITY_CONFLICTS.labels(_source)

# -- the relay, the shared producer and retention ---------------------------------------------
__all__ += [
    "DATABASE_HOLDING_AGE", "DATABASE_LOCK_WAITERS", "OUTBOX_PARKED", "OUTBOX_PARKED_ROWS",
    "PRODUCER_REPLACED", "PRODUCER_UP", "RELAY_ACTIVE", "RETENTION_DELETED", "TABLE_ROWS",
]
OUTBOX_PARKED = Counter(
    "sksync_outbox_parked_total",
    "Outbox rows the broker refused for what they are (size, topic, authorisation), parked "
    "by the relay.", ["topic", "reason"])
OUTBOX_PARKED_ROWS = Gauge(
    "sksync_outbox_parked_rows",
    "Outbox rows parked (refused by the broker, or too large to send when written), waiting "
    "for an operator.")
PRODUCER_UP = Gauge(
    "sksync_producer_up", "1 while this process has a running producer, 0 while it replaces one.")
PRODUCER_REPLACED = Counter(
    "sksync_producer_replaced_total",
    "Producers replaced after a delivery failed for good (the error's type).", ["error"])
RELAY_ACTIVE = Gauge(
    "sksync_relay_active", "1 in the one process that holds the relay lock and publishes.")
RETENTION_DELETED = Counter(
    "sksync_retention_deleted_total",
    "Rows deleted for being older than their retention (inbox rows; published outbox rows "
    "are deleted as they are sent).",
    ["table"])
TABLE_ROWS = Gauge(
    "sksync_table_rows", "Rows in a growing table, as PostgreSQL estimates them (pg_class).",
    ["table"])
DATABASE_HOLDING_AGE = Gauge(
    "sksync_database_holding_transaction_age_seconds",
    "Age of the oldest transaction of the service's database that holds a lock other sessions "
    "wait for (0: none).")
DATABASE_LOCK_WAITERS = Gauge(
    "sksync_database_lock_waiting_sessions",
    "Sessions of the service's database waiting for a lock.")

# -- background tasks -------------------------------------------------------------------------
__all__ += ["TASK_RESTARTS"]
TASK_RESTARTS = Counter(
    "sksync_task_restarts_total",
    "Background tasks (relay, gauges, verification) that ended or failed unexpectedly and were "
    "started again.", ["task"])
