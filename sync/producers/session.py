"""The relay's database session: statements prepared before it takes the relay lock.

asyncpg prepares a statement on its first use with Parse, Describe and Flush, and sends
Bind, Execute and Sync only after the server's answer. Between the two the server session is
*active* and waits for the client, where neither ``idle_session_timeout`` nor
``idle_in_transaction_session_timeout`` nor ``statement_timeout`` runs: a relay frozen at that
moment (seen right after a publish, on a session's first statement after it) kept its lock
for as long as the process stayed frozen. Prepared up front, every statement the relay runs while
it holds the lock is one message group (Bind, Execute, Sync) written at once, and the server
is idle, with its timers running, whenever the relay is not mid-statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

__all__ = ["PreparedSession"]


class PreparedSession:
    """A connection whose statements were all prepared by :meth:`prepare`; running any other
    statement with parameters is a defect (``KeyError``)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._statements: dict[str, asyncpg.prepared_stmt.PreparedStatement[Any]] = {}

    async def prepare(self, queries: Iterable[str]) -> None:
        """Prepare ``queries`` (call before taking any lock)."""
        for query in queries:
            self._statements[query] = await self.conn.prepare(query)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """The rows ``query`` returns."""
        return await self._statements[query].fetch(*args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """The first row ``query`` returns."""
        return await self._statements[query].fetchrow(*args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        """The first column of the first row ``query`` returns."""
        return await self._statements[query].fetchval(*args)
