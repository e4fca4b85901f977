"""The unit of work: one transaction that rolls back unless committed, and the translation of
driver errors into the service's own (which are transient: :mod:`sync.failures`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import asyncpg

from sync.errors import TransientError
from sync.failures import is_transient

__all__ = ["UnitOfWork", "bounded", "close_pool", "connect_unbounded", "connected", "open_pool",
           "release_quietly", "translated", "vanished_peer_settings", "whole_ms"]

#: Failures after which a connection's state is unknown (unlike an error the server reported).
_CLIENT_SIDE = (OSError, asyncio.TimeoutError, asyncio.CancelledError, asyncpg.InterfaceError,
                asyncpg.InternalClientError, asyncpg.PostgresConnectionError)
#: read_only_sql_transaction: the server became a standby (a failover), or the session was
#: made read-only; a new connection reaches the new primary or takes the database's default.
_READ_ONLY = "25006"


def _discard(error: BaseException | None) -> bool:
    """Whether the connection that raised ``error`` must not be used again."""
    return isinstance(error, _CLIENT_SIDE) or getattr(error, "sqlstate", None) == _READ_ONLY


def _gone(conn: asyncpg.pool.PoolConnectionProxy) -> bool:
    """Whether ``conn`` is closed, or no longer ours: asyncpg hands a held connection it lost
    (or terminated) back to its pool at once, and the proxy then refuses every call."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


def _silent(error: BaseException | None) -> bool:
    """Whether ``error`` is a statement left unanswered (the pool's command timeout)."""
    return isinstance(error, asyncio.TimeoutError)


async def release_quietly(conn: asyncpg.Connection) -> None:
    """The pool's reset of a connection it takes back (``create_pool(reset=...)``): nothing
    beyond what asyncpg does itself first (roll back a transaction left open, drop listener
    callbacks). Its default also sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
    *; RESET ALL``, a round trip after every transaction, about a tenth of a small batch's
    apply. The service's pool connections keep no session state for it to undo: they run
    transactions (temporary tables are dropped at commit), the relay listens and holds its
    lock on a connection of its own, and migrations take theirs on another
    (:meth:`sync.app.Service._migrate`)."""


def whole_ms(timeout_s: float) -> str:
    """``timeout_s`` as a server setting in milliseconds, in whole seconds and at least one."""
    return str(max(1, int(timeout_s)) * 1000)


#: How often the server looks, while a statement runs or waits for a lock, whether its client
#: is still connected (``client_connection_check_interval``, PostgreSQL 14).
CLIENT_CHECK_MS = "1000"


def vanished_peer_settings(timeout_s: float) -> dict[str, str]:
    """Server settings that end a session about ``timeout_s`` after its client stopped
    answering at the network level (TCP keepalives and user timeout): a peer that vanished
    without closing the connection.

    And within a second, a statement whose client closed the connection while it ran or
    waited for a lock. Without the check the server notices only when the statement ends,
    and until then its transaction keeps every lock it took. A client that gives up on a
    statement closes its connection (:class:`UnitOfWork`), and asyncpg's ``terminate()``
    drops the cancellation it had just begun to send; a process killed in the middle of a
    batch leaves its statements behind in the same way. A retry of the batch would wait for
    the rows its own abandoned attempt still holds, time out in turn and leave another one
    behind."""
    probe = max(1, int(timeout_s) // 4)
    return {
        "tcp_keepalives_idle": str(probe),
        "tcp_keepalives_interval": str(probe),
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": whole_ms(timeout_s),
        "client_connection_check_interval": CLIENT_CHECK_MS,
    }


def bounded(timeout_s: float) -> dict[str, Any]:
    """asyncpg's connection arguments for a session bounded by ``timeout_s``: a statement
    unanswered that long raises :class:`TimeoutError` on this side (the connection is then
    dropped: :class:`UnitOfWork`); on the server's, a session whose client vanished, or that
    sits in a transaction saying nothing, ends about as long after, releasing its locks, and a
    statement runs at most a second longer than its client waits for it, whether or not the
    client's goodbye arrived (:func:`vanished_peer_settings`)."""
    return {"command_timeout": timeout_s,
            "server_settings": {**vanished_peer_settings(timeout_s),
                                "idle_in_transaction_session_timeout": whole_ms(timeout_s),
                                "statement_timeout": whole_ms(timeout_s + 1)}}


async def open_pool(url: str, size: int, command_timeout_s: float | None = None) -> asyncpg.Pool:
    """The service's pool, whose connections go back without a session reset; with
    ``command_timeout_s``, each of its sessions :func:`bounded` by it (a process frozen or cut
    off in the middle of a batch holds nobody up for ever)."""
    limits = bounded(command_timeout_s) if command_timeout_s is not None else {}
    return await asyncpg.create_pool(url, min_size=1, max_size=size, reset=release_quietly,
                                     **limits)


@asynccontextmanager
async def connected(url: str, timeout_s: float) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own for a command's short statements, :func:`bounded` by
    ``timeout_s``, its opening and its closing too: a database that stopped answering is an
    error after that long, not a command that waits for ever. (Migrations, ``sksync vacuum``
    and the bulk ingests open theirs with :func:`connect_unbounded`: their statements may
    rightly run longer.)"""
    conn = await asyncpg.connect(url, timeout=timeout_s, **bounded(timeout_s))
    try:
        yield conn
    finally:
        try:
            await conn.close(timeout=timeout_s)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()  # no answer to the goodbye either: the socket is all there is


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close ``pool``, its connections gracefully where they answer. A connection gone
    silent (a failover, a dropped firewall state) never answers the goodbye: asyncpg gives
    up after the command timeout, aborts it and raises ``TimeoutError``, leaving the other
    connections' goodbyes mid-way. Stopping must not fail for that: the rest are aborted
    too, as a server that is gone would have them."""
    try:
        await pool.close()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pool.terminate()


async def connect_unbounded(url: str, timeout_s: float) -> asyncpg.Connection:
    """A connection for statements that may rightly run for minutes (migrations,
    ``sksync vacuum``, the bulk ingests): none of its statements is bounded, but opening it
    is (``timeout_s``), and its server session ends when its client is gone: within a second
    of the client closing, even in the middle of a statement, and about ``timeout_s`` after
    a client that vanished without a word (:func:`vanished_peer_settings`). A KBO ingest cut
    off half-way would otherwise keep its locks on the ``kbo`` tables until the server's own
    keepalives gave up, two hours by default. (The wait on this side stays unbounded:
    asyncpg offers no socket options for the client's end.)"""
    return await asyncpg.connect(url, timeout=timeout_s,
                                 server_settings=vanished_peer_settings(timeout_s))


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Re-raise transient driver errors as :class:`TransientError`."""
    try:
        yield
    except Exception as error:
        if is_transient(error) and not isinstance(error, TransientError):
            raise TransientError(f"{type(error).__name__}: {error}") from error
        raise


class UnitOfWork:
    """``async with UnitOfWork(pool) as uow: ...; await uow.commit()``; anything else rolls back."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._committed = False

    @property
    def conn(self) -> asyncpg.pool.PoolConnectionProxy:
        assert self._conn is not None, "the unit of work is not open"
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        async with translated():
            self._conn = await self._pool.acquire()
            try:
                tx = self._conn.transaction()
                await tx.start()
            except BaseException as error:
                # A BEGIN unanswered (a connection gone silent while it waited in the pool)
                # is handled as any statement of the transaction would be.
                await self.__aexit__(type(error), error, error.__traceback__)
                raise
            self._tx = tx
        return self

    async def commit(self) -> None:
        assert self._tx is not None
        async with translated():
            await self._tx.commit()
        self._committed = True

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        raised = (error, getattr(error, "__cause__", None))
        suspect = any(_discard(e) for e in raised)
        if any(_silent(e) for e in raised):
            # No answer in time: the connection's peer may be gone (a failover, a firewall
            # that dropped its state), and with it those of the other connections.
            await self._pool.expire_connections()
        try:
            if not suspect and not self._committed and self._tx is not None and not _gone(conn):
                await self._tx.rollback()
        except Exception:  # the connection is broken: it must not go back to the pool
            suspect = True
        finally:
            if suspect and not _gone(conn):
                # A client-side failure (connection lost, protocol state broken, cancelled,
                # no answer) may leave the connection unusable, a read-only one would stay
                # read-only: close it rather than reuse it (the server rolls back what it
                # held), and do not wait for a rollback it may never answer.
                conn.terminate()
            await self._pool.release(conn)
