"""The service's pool takes a connection back without a session reset: one round trip fewer
after each transaction, and still nothing of a transaction left open goes to the next user.
A connection lost or gone silent in a unit of work leaves with its own error, and its server
session ends."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from devstack.proxy import FreezingProxy
from sync.errors import TransientError
from sync.store.uow import UnitOfWork, connect_unbounded, open_pool, translated
from tests.support.sessions import ended_within


async def _last_statement(conn: asyncpg.Connection, pid: int) -> tuple[str, str]:
    row = await conn.fetchrow("SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid)
    assert row is not None
    return row["state"], row["query"]


async def _until_running(conn: asyncpg.Connection, pid: int, query: str) -> None:
    """Return once the server session ``pid`` runs ``query`` (within ten seconds)."""
    deadline = time.monotonic() + 10
    while (await _last_statement(conn, pid)) != ("active", query):
        assert time.monotonic() < deadline, "the statement never started"
        await asyncio.sleep(0.02)


async def _terminate_once_running(conn: asyncpg.Connection, pid: int, query: str) -> None:
    """End the server session ``pid`` once it runs ``query`` (within ten seconds)."""
    await _until_running(conn, pid, query)
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)


async def test_a_committed_transaction_is_the_last_thing_its_connection_sent(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    pool = await open_pool(pg_url, 1)
    try:
        async with UnitOfWork(pool) as uow:
            pid = await uow.conn.fetchval("SELECT pg_backend_pid()")
            await uow.commit()
        state, query = await _last_statement(pg_conn, pid)
        assert state == "idle"
        assert query == "COMMIT;", query  # no RESET ALL, UNLISTEN * ... after it
    finally:
        await pool.close()


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_goes_back(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    await pg_conn.execute("CREATE TABLE left_open (n int)")
    pool = await open_pool(pg_url, 1)
    try:
        conn = await pool.acquire()
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN; INSERT INTO left_open VALUES (1)")
        await pool.release(conn)
        state, query = await _last_statement(pg_conn, pid)
        assert state == "idle"
        assert query == "ROLLBACK"
        async with pool.acquire() as again:
            assert await again.fetchval("SELECT pg_backend_pid()") == pid  # the same session
            assert await again.fetchval("SELECT count(*) FROM left_open") == 0
            assert not again.is_in_transaction()
    finally:
        await pool.close()


async def test_a_session_frozen_in_a_transaction_releases_its_locks_on_the_server(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """An instance cut off (or frozen) in the middle of a batch holds its row locks; the
    server ends its session after the pool's command timeout, so that the instance that takes
    its partitions over is not held up for ever."""
    await pg_conn.execute("CREATE TABLE held (n int PRIMARY KEY); INSERT INTO held VALUES (1)")
    async with FreezingProxy(pg_url) as proxy:
        pool = await open_pool(proxy.url, 1, command_timeout_s=2)
        try:
            conn = await pool.acquire()
            await conn.execute("BEGIN; SELECT n FROM held WHERE n = 1 FOR UPDATE")
            assert proxy.freeze() == 1
            started = time.monotonic()
            async with pg_conn.transaction():
                await pg_conn.execute("SET LOCAL lock_timeout = '20s'")
                assert await pg_conn.fetchval(
                    "SELECT n FROM held WHERE n = 1 FOR UPDATE") == 1
            assert time.monotonic() - started < 15
        finally:
            pool.terminate()  # the frozen connection too, however far its loss was noticed


async def test_a_connection_lost_in_a_unit_of_work_leaves_with_its_own_error(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """A backend ended mid-transaction (a restart, an administrator): asyncpg hands the lost
    connection back to its pool at once. The unit of work leaves with the failure itself (a
    transient one, retried), not with asyncpg's refusal to touch a released connection, and
    the pool goes on with a new connection."""
    async def lost_mid_transaction() -> None:
        async with UnitOfWork(pool) as uow:
            pid = await uow.conn.fetchval("SELECT pg_backend_pid()")
            # The loss lands while a statement is in flight: a statement sent after asyncpg
            # noticed it would be refused by the released proxy (InterfaceError) instead,
            # which is the same failure reported by the driver rather than the server.
            sleeping = asyncio.create_task(uow.conn.fetchval("SELECT pg_sleep(30)"))
            await _terminate_once_running(pg_conn, pid, "SELECT pg_sleep(30)")
            async with translated():
                await asyncio.wait_for(sleeping, 20)

    pool = await open_pool(pg_url, 1)
    try:
        with pytest.raises(TransientError) as raised:
            await lost_mid_transaction()
        assert not isinstance(raised.value, asyncpg.InterfaceError)
        assert not isinstance(raised.value.__cause__, asyncpg.InterfaceError)
        async with UnitOfWork(pool) as uow:
            assert await uow.conn.fetchval("SELECT 1") == 1
            await uow.commit()
    finally:
        await pool.close()


async def test_a_statement_given_up_on_stops_on_the_server_and_frees_its_rows(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """A unit of work locks a row, then waits for one another session holds, past the pool's
    bound: it times out and drops its connection. The server ends the abandoned statement
    too, so the row it had locked is free while the other session still holds its own (a
    retry of the batch is not held up by its own earlier attempt). Before the server checked
    for its client, the statement went on waiting, and the row stayed locked with it."""
    await pg_conn.execute("CREATE TABLE rows_held (n int PRIMARY KEY);"
                          " INSERT INTO rows_held VALUES (1), (2)")
    pids: list[int] = []

    async def lock_one_then_wait_for_two() -> None:
        async with UnitOfWork(pool) as uow, translated():
            pids.append(await uow.conn.fetchval("SELECT pg_backend_pid()"))
            # The server's own bound on the statement aside: this is about the client's goodbye.
            await uow.conn.execute("SET LOCAL statement_timeout = 0")
            await uow.conn.execute("SELECT n FROM rows_held WHERE n = 1 FOR UPDATE")
            await uow.conn.execute("SELECT n FROM rows_held WHERE n = 2 FOR UPDATE")

    pool = await open_pool(pg_url, 1, command_timeout_s=1)
    holder = await asyncpg.connect(pg_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT n FROM rows_held WHERE n = 2 FOR UPDATE")
            with pytest.raises(TransientError) as raised:
                await lock_one_then_wait_for_two()
            assert isinstance(raised.value.__cause__, TimeoutError)
            assert await ended_within(pg_conn, pids[0], 10), "the abandoned statement still waits"
            async with pg_conn.transaction():
                assert await pg_conn.fetchval(
                    "SELECT n FROM rows_held WHERE n = 1 FOR UPDATE NOWAIT") == 1
    finally:
        await holder.close()
        await pool.close()


async def test_the_server_bounds_a_statement_a_second_past_its_client(pg_url: str) -> None:
    """Whether or not the client's goodbye reaches the server (a host that vanished sends
    none), a statement of a bounded session ends on the server a second after its client's
    bound, even when the client waits longer."""
    pool = await open_pool(pg_url, 1, command_timeout_s=1)
    try:
        async with pool.acquire() as conn:
            started = time.monotonic()
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.fetchval("SELECT pg_sleep(10)", timeout=20)
            assert 1.5 < time.monotonic() - started < 5
    finally:
        await pool.close()


async def test_a_begin_gone_unanswered_has_the_pool_s_other_connections_replaced(
    pg_url: str,
) -> None:
    """The database's connections go silent while they wait in the pool (a failover): the
    first unit of work's BEGIN goes unanswered, and the pool's other connections are
    replaced at once, as after any statement left unanswered; the units of work that follow,
    side by side, each get a connection that answers instead of waiting out the bound on the
    next silent one."""
    async def one_transaction() -> int:
        async with UnitOfWork(pool) as uow:
            value: int = await uow.conn.fetchval("SELECT 1")
            await uow.commit()
        return value

    async with FreezingProxy(pg_url) as proxy:
        pool = await open_pool(proxy.url, 3, command_timeout_s=2)
        try:
            connections = [await pool.acquire() for _ in range(3)]
            for conn in connections:
                await pool.release(conn)
            assert proxy.freeze() == 3
            with pytest.raises(TransientError) as raised:
                await one_transaction()
            assert isinstance(raised.value.__cause__, TimeoutError)
            started = time.monotonic()
            assert await asyncio.gather(*(one_transaction() for _ in range(3))) == [1, 1, 1]
            assert time.monotonic() - started < 1.5
        finally:
            pool.terminate()


async def test_an_unbounded_connection_runs_long_and_ends_with_its_client(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """Migrations, ``sksync vacuum`` and the ingests: a statement runs past the bound the
    service's pool would set, yet once the client is gone in the middle of it (the proxy's
    host cut off, the process killed), the server ends the session within a second or two
    instead of finishing the statement first."""
    async with FreezingProxy(pg_url) as proxy:
        conn = await connect_unbounded(proxy.url, 1)
        pid = conn.get_server_pid()
        try:
            assert await conn.fetchval("SHOW statement_timeout") == "0"
            await conn.execute("SELECT pg_sleep(1.5)")  # past the bound, not cut short
            sleeping = asyncio.create_task(conn.execute("SELECT pg_sleep(60)"))
            await _until_running(pg_conn, pid, "SELECT pg_sleep(60)")
            proxy.cut()
            assert await ended_within(pg_conn, pid, 5), "the statement outlived its client"
            with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
                await asyncio.wait_for(sleeping, 10)
        finally:
            conn.terminate()
