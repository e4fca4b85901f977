"""A batched apply reads in two statements: the owners of its identifiers with the lock of its
fiches, then, once they are locked, what they hold and what matching asks
(:class:`sync.store.reads.Reads`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from sync.policy import default_policy
from sync.store.apply import Applier
from sync.store.reads import Reads
from tests.integration.test_matching import TOPICS, cobrha_record, hand_made
from tests.support.builders import nihii


async def test_each_part_reads_its_own_arguments_and_columns(pg_conn: asyncpg.Connection) -> None:
    """Each part numbers its arguments from ``$1``; the row gives each part its columns."""
    got: dict[str, Any] = {}
    reads = Reads()
    reads.add("$1::int + $2::int AS total", 40, 2, then=lambda row: got.update(total=row["total"]))
    reads.add("ARRAY(SELECT g FROM generate_series(1, $1::int) AS g ORDER BY g DESC) AS down",
              3, then=lambda row: got.update(down=row["down"]))
    reads.add("$1::text || '!' AS said", "klaar", then=lambda row: got.update(said=row["said"]))
    await reads.run(pg_conn)
    assert got == {"total": 42, "down": [3, 2, 1], "said": "klaar!"}
    assert reads.parts == []  # emptied: running it again sends nothing
    await reads.run(pg_conn)
    assert got["total"] == 42


async def test_a_batch_reads_what_its_locked_fiches_hold_and_what_matching_asks_at_once(
    pg_url: str,
) -> None:
    """A batch holding a new version of a loaded record (a locked fiche with what it holds)
    and a new record that resembles a fiche typed in by hand (matching's pending candidates
    and candidate fiches) sends, between the lock (which reads the owners of its identifiers
    too) and its one write, a single statement."""
    sent: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda query: sent.append(query.query))

    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=1, init=log_queries)
    try:
        applier = Applier(pool, default_policy(), TOPICS)
        number = nihii("1")
        await applier.apply([hand_made(), cobrha_record(number, first="Jan", last="Janssens")])
        results = []
        for version in (2, 3):  # the first prepares the statements and learns the row types
            sent.clear()
            results += await applier.apply([
                cobrha_record(number, first="Jan", last="Janssens", version=version,
                              phone=f"+325512345{version}"),
                cobrha_record(nihii("1"), first="Anna")])
    finally:
        await pool.close()
    # Anna Peeters shares keys with An Peeters typed in by hand, yet is not her: a fiche of
    # her own, after her candidates were read and scored.
    assert [(r.outcome, r.linked) for r in results] == [("applied", False)] * 4, results
    transaction = sent[sent.index("BEGIN;"):sent.index("COMMIT;") + 1]
    lock = next(i for i, sql in enumerate(transaction) if "FOR UPDATE" in sql)
    write = next(i for i, sql in enumerate(transaction) if sql.startswith("WITH w0 AS"))
    [after_lock] = transaction[lock + 1:write]
    for column in ("AS pins", "AS index_keys", "AS pending", "AS candidates"):
        assert column in after_lock
    assert "AS owners" in transaction[lock]  # the owners are read in the lock's statement
    # BEGIN, the owners and the lock, the reads, the write, COMMIT.
    assert len(transaction) == 5, transaction
