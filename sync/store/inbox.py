"""The inbox: which updates it guards, which of a batch's it holds, and its rows' one write.

A source record's update needs no inbox row: it gives the record's values at a
``source_version`` (a hand-made fiche's and a provider's values too: their version is the
event's time), and applied again it finds that version on the fiche, or waiting for review,
and changes nothing (:func:`sync.merge.merge`; docs/architecture.md, guarantee 2). An editor's
decision acts on the fiche as it is when it comes: applied again later a pin would pin again,
a resolution release a later pin. Those are :data:`GUARDED`: the apply transaction reads which
of them it saw before (:func:`seen`) and writes the rows of the others, each with its final
outcome, with the batch's other writes (:func:`record`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sync.events import FicheUpdate, UpdateAction
from sync.store.writes import Writes

__all__ = ["GUARDED", "InboxKey", "inbox_key", "record", "seen"]

Conn = Any  # asyncpg.Connection or its pool proxy
InboxKey = tuple[str, str]

#: Updates that keep an inbox row: an edit's pin, a conflict decision, a match decision, a
#: split and a verification.
GUARDED = frozenset({UpdateAction.PIN, UpdateAction.RESOLVE, UpdateAction.MATCH,
                     UpdateAction.SPLIT, UpdateAction.VERIFY})
#: The batch's guarded updates that were applied before.
SEEN_INBOX = """
SELECT source, event_id FROM inbox
WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""
#: The guarded updates the batch applied, each with its final outcome, in one insert with the
#: batch's other writes. One that another transaction inserted meanwhile (it applied the same
#: update since this one looked) returns no row: the batch is rolled back and retried, and
#: then finds it as a duplicate. Sorted, so that two batches inserting overlapping keys wait
#: for each other instead of deadlocking.
INSERT_INBOX = """
INSERT INTO inbox (source, event_id, outcome)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS u(source, event_id, outcome)
ORDER BY source, event_id
ON CONFLICT (source, event_id) DO NOTHING
RETURNING 1
"""
#: Updates applied per event source and minute (the console's throughput, ``sksync status``),
#: in a row of this connection's own: parallel partitions never wait for one another's row.
COUNT_APPLIED = """
INSERT INTO apply_count (source, minute, writer, updates)
SELECT source, date_trunc('minute', now()), pg_backend_pid(), n
FROM unnest($1::text[], $2::integer[]) AS u(source, n)
ON CONFLICT (source, minute, writer) DO UPDATE
SET updates = apply_count.updates + EXCLUDED.updates
"""


def inbox_key(update: FicheUpdate) -> InboxKey:
    """The inbox key of ``update``: its event source and its (derived) id."""
    return update.origin.source, str(update.update_id)


async def seen(conn: Conn, updates: Sequence[FicheUpdate]) -> list[bool]:
    """Per update, whether it is a guarded one applied before, or earlier in this batch. A
    batch without guarded updates asks nothing."""
    keys = [inbox_key(update) for update in updates if update.action in GUARDED]
    found: set[InboxKey] = set()
    if keys:
        rows = await conn.fetch(SEEN_INBOX, [k[0] for k in keys], [k[1] for k in keys])
        found = {(row["source"], row["event_id"]) for row in rows}
    answer = []
    for update in updates:
        key = inbox_key(update) if update.action in GUARDED else None
        answer.append(key in found)
        if key is not None:
            found.add(key)  # the same update twice in one batch: the second was seen
    return answer


def record(writes: Writes, applied: Sequence[tuple[FicheUpdate, str]]) -> None:
    """Add to ``writes`` the inbox rows of the guarded updates of ``applied`` (update,
    outcome), which must all be new (else the batch fails and is retried), and the count of
    all of them per event source."""
    rows = sorted({inbox_key(update): outcome for update, outcome in applied
                   if update.action in GUARDED}.items())
    if rows:
        writes.add(INSERT_INBOX, [k[0] for k, _ in rows], [k[1] for k, _ in rows],
                   [outcome for _, outcome in rows], expect=len(rows),
                   why="an update of this batch was applied by another transaction")
    counted = Counter(update.origin.source for update, _ in applied)
    if counted:
        sources = sorted(counted)
        writes.add(COUNT_APPLIED, sources, [counted[source] for source in sources])
