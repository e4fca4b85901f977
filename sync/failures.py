"""Which failures pass on their own, and which never will: the one place that decides.

Three kinds (PostgreSQL's SQLSTATE classes decide for errors the server reports,
https://www.postgresql.org/docs/current/errcodes-appendix.html):

- ``permanent``: the input itself is wrong (class 21 cardinality, 22 data exception,
  23 integrity, 42 syntax or undefined object, 0A feature not supported, 2F and 39 routine
  errors, 44 check option, P0 raised by a function). Retrying gives the same answer.
- ``outage``: the infrastructure is away or degraded (the connection, a restart, read-only
  after a failover, disk full, out of memory, a cancelled statement, an I/O error, a missing
  privilege or database that an operator will restore). Retried for as long as it takes.
- ``contention``: everything else that may pass (serialization failures, deadlocks, a lock
  not available, the unique-violation race of two instances making one fiche, a concurrent
  writer our own code noticed). It usually passes at the next attempt; one that repeats
  identically is deterministic after all, and the retry gives up after a bounded number of
  attempts (:mod:`sync.retry`) so that one update cannot stall its partition forever.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import asyncpg

from sync.errors import TransientError

__all__ = ["Kind", "classify", "is_outage", "is_transient", "signature"]

Kind = Literal["permanent", "outage", "contention"]

#: SQLSTATE classes of errors in the data or the statement: the same input fails again.
_PERMANENT_CLASSES = frozenset({"0A", "21", "22", "23", "2F", "39", "42", "44", "P0"})
#: SQLSTATE classes of the server or its resources being away or degraded.
_OUTAGE_CLASSES = frozenset({"08", "28", "3D", "53", "57", "58", "F0", "XX"})
_OUTAGE_STATES = frozenset({
    "25006",  # read_only_sql_transaction: a standby, or a primary during a failover
    "42501",  # insufficient_privilege: a revoked grant is the operator's to restore
})
_CONTENTION_STATES = frozenset({
    "23505",  # unique_violation: two instances created the same fiche at once; retry finds it
})
#: Failures on the client's side of the connection: its state is unknown, the server's fine.
_CLIENT_SIDE = (OSError, asyncio.TimeoutError, asyncpg.InterfaceError,
                asyncpg.InternalClientError, asyncpg.PostgresConnectionError)


def classify(error: BaseException) -> Kind:
    """The kind of ``error`` (see the module's docstring)."""
    if isinstance(error, TransientError):
        # Ours wraps a driver's or broker's error (classified by that), or states a
        # condition our own code noticed, such as a concurrent writer.
        cause = error.__cause__
        return "contention" if cause is None else _transient_kind(cause)
    if isinstance(error, _CLIENT_SIDE):
        return "outage"
    sqlstate = getattr(error, "sqlstate", None)
    if not isinstance(sqlstate, str) or len(sqlstate) != 5:
        return "permanent"  # not a database error: a defect, or bad input
    return _sqlstate_kind(sqlstate)


def _transient_kind(cause: BaseException) -> Kind:
    kind = classify(cause)
    # A broker error wrapped as transient (sync.producers.kafka) is the broker being away.
    return "outage" if kind == "permanent" else kind


def _sqlstate_kind(sqlstate: str) -> Kind:
    if sqlstate in _OUTAGE_STATES or sqlstate[:2] in _OUTAGE_CLASSES:
        return "outage"
    if sqlstate in _CONTENTION_STATES:
        return "contention"
    if sqlstate[:2] in _PERMANENT_CLASSES:
        return "permanent"
    return "contention"


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` may pass on its own: retried, never dead-lettered at once."""
    return classify(error) != "permanent"


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` is the infrastructure being away: waited for without limit."""
    return classify(error) == "outage"


def signature(error: BaseException) -> str:
    """What makes two failures the same one: the exception's type, SQLSTATE and text."""
    return f"{type(error).__name__}|{getattr(error, 'sqlstate', '')}|{error}"
