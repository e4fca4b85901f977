"""A transaction holding rows that other sessions wait for: ``sksync status`` names it, with
the statement that ends it, and the gauges show its age (an alert fires on it). A session
waiting for its client while it holds rows stalls every batch that needs them, each retry
timing out in turn; nothing else would say which session it is."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from prometheus_client import REGISTRY

from sync.ops import gauges, status
from sync.ops.status import database_figures, holding_problems
from sync.settings import Settings
from tests.support.cli import sksync


def _gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


async def _until_waiting(conn: asyncpg.Connection, pid: int) -> None:
    deadline = time.monotonic() + 10
    while await conn.fetchval(
            "SELECT wait_event_type IS DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = $1",
            pid):
        assert time.monotonic() < deadline, "the second session never waited"
        await asyncio.sleep(0.05)


async def test_a_transaction_holding_others_up_is_named_with_how_to_end_it(
    pg_url: str, pg_conn: asyncpg.Connection, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await pg_conn.execute("CREATE TABLE held (n int PRIMARY KEY); INSERT INTO held VALUES (1)")
    figures = await database_figures(pg_conn)
    assert figures["lockWaits"] == {"sessions": 0, "longestSeconds": None, "heldBy": []}
    holder = await asyncpg.connect(pg_url)
    waiter = await asyncpg.connect(pg_url)
    waiting = None
    try:
        await holder.execute("BEGIN; SELECT n FROM held WHERE n = 1 FOR UPDATE")
        waiting = asyncio.create_task(
            waiter.execute("SELECT n FROM held WHERE n = 1 FOR UPDATE"))
        await _until_waiting(pg_conn, waiter.get_server_pid())
        waits = (await database_figures(pg_conn))["lockWaits"]
        assert waits["sessions"] == 1
        [head] = waits["heldBy"]
        assert (head["pid"], head["state"], head["wait"], head["holdsUp"]) == (
            holder.get_server_pid(), "idle in transaction", "ClientRead", 1)
        assert "FOR UPDATE" in head["statement"]
        assert holding_problems(waits) == []  # younger than the threshold: contention

        monkeypatch.setattr(status, "HOLDING_PROBLEM_S", 0.2)
        await asyncio.sleep(0.3)
        figures = await database_figures(pg_conn)
        [line] = holding_problems(figures["lockWaits"])
        pid = holder.get_server_pid()
        assert line.startswith(f"database: session {pid} (idle in transaction, waiting for "
                               "ClientRead) has held its transaction for ")
        assert line.endswith(f"holds up 1 session(s); if it does not move, "
                             f"`SELECT pg_terminate_backend({pid})` ends it and releases "
                             "its locks")
        gauges._set_database(figures)  # what the polling task sets
        assert _gauge("sksync_database_lock_waiting_sessions") == 1
        assert _gauge("sksync_database_holding_transaction_age_seconds") >= 0.3

        result = await sksync(settings, "status")
        assert result.exit_code == 1, result.output  # a problem
        assert f"holding them: session {pid}" in result.output
        assert f"pg_terminate_backend({pid})" in result.output
    finally:
        await holder.close()  # ends its transaction: the waiter gets the row
        if waiting is not None:
            await asyncio.wait_for(waiting, 10)
        await waiter.close()
    waits = (await database_figures(pg_conn))["lockWaits"]
    assert waits["sessions"] == 0
    gauges._set_database(await database_figures(pg_conn))
    assert _gauge("sksync_database_holding_transaction_age_seconds") == 0
