"""The benchmark's table 7 on a real PostgreSQL (``bench.statements``): the statements the
sessions opened after :func:`clear_statements` ran, with their planning counted apart."""

from __future__ import annotations

import asyncpg
import pytest

from bench.statements import clear_statements, read_statements
from sync.store.fiche_sql import FIND_BY_IDENTIFIERS


async def test_a_statement_planned_at_every_call_shows_its_planning(pg_url: str) -> None:
    unusable = await clear_statements(pg_url)
    if unusable is not None:
        pytest.skip(unusable)  # a server built without pg_stat_statements
    conn = await asyncpg.connect(pg_url)  # opened after, as the service's sessions are
    try:
        types, values = ["NIHII-PERSON", "SSIN"], ["18749704", "85073003328"]
        for _ in range(12):
            await conn.fetch(FIND_BY_IDENTIFIERS, types, values)
        # A text PostgreSQL has not seen: planned once, executed once.
        await conn.fetch("SELECT count(*) FROM fiche WHERE kind = $1", "professional")
    finally:
        await conn.close()
    found = await read_statements(pg_url, None, events=12, top=20)
    assert found["planning_counted"] is True
    [lookup] = [item for item in found["statements"] if item["calls"] == 12]
    assert lookup["statement"] == "read fiche_identifier"
    # The first five calls are planned with their parameters, then a generic plan is kept
    # or each call is planned again: at least five plans, each with its time.
    assert 5 <= lookup["plans"] <= 12
    assert lookup["plan_ms_per_call"] > 0
    assert found["total"]["plans"] >= lookup["plans"] + 1
