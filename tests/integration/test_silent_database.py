"""Operators' commands and the console's own pool against a database that stopped answering
(a host gone in a failover, a firewall that dropped the connections' state): each gives up
after ``SKSYNC_DATABASE_COMMAND_TIMEOUT_S`` and says so, instead of waiting for ever."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from devstack.proxy import FreezingProxy
from sync.console import console_app
from sync.ops.database import database_pool
from sync.settings import Settings
from sync.store.uow import close_pool, open_pool
from tests.support.cli import sksync

BOUND_S = 2.0


@pytest.mark.parametrize("command", [
    ("conflicts", "list"),
    ("outbox", "parked"),
    ("matches", "list"),
    ("users", "list"),
])
async def test_a_command_whose_database_stops_answering_fails_in_one_line(
    settings: Settings, command: tuple[str, ...],
) -> None:
    """The command's session opens, then its first statement is never answered: the command
    ends within its bound (and the bound of the connection's closing), exit 1, one line."""
    async with FreezingProxy(settings.database_url, after_login=True) as proxy:
        silent = settings.model_copy(update={"database_url": proxy.url,
                                             "database_command_timeout_s": BOUND_S})
        started = time.monotonic()
        result = await asyncio.wait_for(sksync(silent, *command), 60)
        took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == ["error: timed out: the database did not answer within "
                     "SKSYNC_DATABASE_COMMAND_TIMEOUT_S"], result.output
    assert took < 6 * BOUND_S, took


async def test_the_console_pool_gives_up_a_silent_connection_and_goes_on_with_a_new_one(
    settings: Settings,
) -> None:
    """The pool of ``sksync console`` (and of ``sksync link-initial``): a statement on a
    connection gone silent raises after the bound, the connection is dropped (asyncpg's
    cancellation is not answered either), and the next request gets a connection that
    works."""
    async with FreezingProxy(settings.database_url) as proxy:
        bounded = settings.model_copy(update={"database_url": proxy.url,
                                              "database_command_timeout_s": BOUND_S})
        pool = await database_pool(bounded, 1)
        try:
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT 1") == 1
            assert proxy.freeze() == 1
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
            async with pool.acquire(timeout=4 * BOUND_S) as conn:
                assert await conn.fetchval("SELECT 2") == 2
            assert time.monotonic() - started < 6 * BOUND_S
        finally:
            pool.terminate()


async def test_the_bound_reaches_the_server_session(settings: Settings) -> None:
    """The server ends a session that sits in a transaction saying nothing after the same
    bound (whole seconds), releasing its locks."""
    pool = await database_pool(settings.model_copy(update={"database_command_timeout_s": 8}), 1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "8s"
    finally:
        await pool.close()


async def test_the_console_says_the_database_did_not_answer(settings: Settings) -> None:
    """A console page whose database stopped answering: after the bound, a page that says so
    (503), both where the guard looks the session up and where a page reads."""
    async with FreezingProxy(settings.database_url, after_login=True) as proxy:
        silent = settings.model_copy(update={"database_url": proxy.url,
                                             "database_command_timeout_s": BOUND_S})
        pool = await database_pool(silent, 2)
        try:
            app = console_app(silent, pool)
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://console",
                                         timeout=6 * BOUND_S) as http:
                login = await http.get("/login")  # no database behind the empty form
                assert login.status_code == 200
                token = re.search(r'name="csrf" value="([^"]+)"', login.text)
                assert token is not None
                signing_in = await http.post("/login", data={
                    "name": "els", "password": "a password", "csrf": token.group(1)})
                http.cookies.set("sksync_session", "a-session-token")
                page = await http.get("/conflicts")
        finally:
            pool.terminate()
    for response in (signing_in, page):
        assert response.status_code == 503, response.text
        assert "De databank antwoordde niet op tijd." in response.text  # Dutch by default


async def test_a_pool_with_a_silent_connection_closes_without_failing(pg_url: str) -> None:
    """Stopping while a connection of the pool is silent: its goodbye is never answered.
    asyncpg gives up after the command timeout and raises; the service's stop (and the
    console's, and link-initial's) goes on and drops the connections instead."""
    async with FreezingProxy(pg_url) as proxy:
        pool = await open_pool(proxy.url, 2, command_timeout_s=BOUND_S)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        assert proxy.freeze() == 1
        started = time.monotonic()
        await asyncio.wait_for(close_pool(pool), 6 * BOUND_S)
        assert time.monotonic() - started < 3 * BOUND_S
        assert pool.is_closing()
