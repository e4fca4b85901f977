"""Names the benchmark gives PostgreSQL's statements in its table 7 (``bench.statements``)."""

from __future__ import annotations

from bench.statements import label_of, statements_table
from sync.store.fiche_sql import INSERT_OUTBOX, LOCK_FICHES
from sync.store.outbox import SELECT_UNSENT
from sync.store.writes import Writes


def test_the_apply_write_is_named_by_the_tables_it_writes() -> None:
    writes = Writes()
    writes.add(INSERT_OUTBOX, [], [], [], [], [], [])
    writes.add("INSERT INTO source_record (a) SELECT 1 ON CONFLICT (a) DO UPDATE SET a = 2")
    writes.add("UPDATE fiche SET version = 2 WHERE id = $1", None)
    writes.add("DELETE FROM outbox WHERE id = $1", None)
    sql, _ = writes.statement()
    assert label_of(sql) == "write outbox, source_record, fiche"  # SET is not a table
    writes.add("INSERT INTO fiche_history (a) SELECT 1")
    sql, _ = writes.statement()
    assert label_of(sql) == "write outbox, source_record, fiche, ... (4 tables)"


def test_reads_are_named_by_their_tables_not_their_named_queries() -> None:
    assert label_of(SELECT_UNSENT) == "read outbox"
    assert label_of(LOCK_FICHES) == "read fiche"
    query = ("WITH r AS (SELECT u.n FROM unnest($1::int[]) AS u(n)), "
             "hits AS (SELECT k.fiche_id FROM match_keys k JOIN r ON true) "
             "SELECT * FROM hits JOIN match_profile p USING (fiche_id)")
    assert label_of(query) == "read match_keys, match_profile"
    assert label_of("SELECT pg_notify($1, '')") == "SELECT pg_notify($1, '')"


def test_the_table_says_why_it_is_skipped() -> None:
    table = statements_table({"skipped": "the server does not load pg_stat_statements"})
    assert [column.header for column in table.columns] == ["skipped"]
    assert list(table.columns[0].cells) == ["the server does not load pg_stat_statements"]
