"""Watching PostgreSQL's sessions from a test."""

from __future__ import annotations

import asyncio
import time

import asyncpg

__all__ = ["ended_within"]


async def ended_within(conn: asyncpg.Connection, pid: int, seconds: float) -> bool:
    """Whether the server session ``pid`` is gone within ``seconds`` (polled by ``conn``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            return True
        await asyncio.sleep(0.1)
    return False
