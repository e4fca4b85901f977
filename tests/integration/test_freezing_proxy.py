"""The proxy in front of PostgreSQL that the chaos run and the fault tests use: a client that
goes away ends its server session through it, as it would without it."""

from __future__ import annotations

import socket
import struct

import asyncpg
import pytest

from devstack.proxy import FreezingProxy
from tests.support.sessions import ended_within


@pytest.mark.parametrize("ending", ["close", "reset"])
async def test_a_client_that_goes_away_ends_its_server_session(
    pg_url: str, pg_conn: asyncpg.Connection, ending: str,
) -> None:
    """Closed, or reset (a process killed with an answer it had not read yet resets its
    connections): either way the server session behind the proxy ends. Kept open by the
    proxy, a session waiting for the rest of a statement held its transaction's locks for as
    long as the proxy ran."""
    async with FreezingProxy(pg_url) as proxy:
        client = await asyncpg.connect(proxy.url)
        pid = client.get_server_pid()
        # The socket ends without the protocol's goodbye, as when the process is killed.
        transport = client._transport  # the connection's socket itself
        if ending == "reset":
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()  # with a zero linger: a reset, not a close
        try:
            assert await ended_within(pg_conn, pid, 5), f"session {pid} outlived its client"
        finally:
            client.terminate()
