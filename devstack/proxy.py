"""A TCP address in front of PostgreSQL whose open connections can be made to go silent (a
fault of the chaos run and of the fault tests).

After :meth:`FreezingProxy.freeze`, what the clients of the connections open at that moment
send is swallowed and nothing comes back, while their sockets stay open: a database host gone
in a failover, or a firewall that dropped the connections' state. No error, no reset; only a
client that bounds its waits notices. Connections opened afterwards are relayed as usual (the
new primary answers). With ``after_login``, every connection goes silent by itself once its
session is open: the login is answered, no statement ever is. :meth:`FreezingProxy.cut` is a
host gone for good instead. The relay is plain TCP: it stands in front of other servers too
(the search engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["FreezingProxy"]


@dataclass
class _Connection:
    frozen: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _upstream(url: str) -> tuple[str | None, str, int]:
    """(Unix socket path or None, host, port) of the server ``url`` names."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    port = int((query.get("port") or [str(parts.port or 5432)])[0])
    host = (query.get("host") or [parts.hostname or "127.0.0.1"])[0]
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}", host, port
    return None, host, port


class FreezingProxy:
    """Listens on ``127.0.0.1``; :attr:`url` is ``database_url`` through it."""

    def __init__(self, database_url: str, *, after_login: bool = False) -> None:
        self._database_url = database_url
        self._after_login = after_login
        self._socket, self._host, self._port = _upstream(database_url)
        self._server: asyncio.Server | None = None
        self._connections: list[_Connection] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        parts = urllib.parse.urlsplit(self._database_url)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query)
                 if k not in ("host", "port")]
        user = f"{parts.username}@" if parts.username else ""
        if parts.password:
            user = f"{parts.username}:{parts.password}@"
        return urllib.parse.urlunsplit((parts.scheme, f"{user}127.0.0.1:{port}", parts.path,
                                        urllib.parse.urlencode(query), ""))

    async def __aenter__(self) -> FreezingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self.cut()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    def cut(self) -> None:
        """The host gone for good: every open connection closed, new ones refused."""
        assert self._server is not None
        self._server.close()
        for connection in self._connections:
            for task in connection.tasks:
                task.cancel()

    def freeze(self) -> int:
        """Silence every connection open now; how many there were."""
        live = [c for c in self._connections if not c.frozen
                and not all(task.done() for task in c.tasks)]
        for connection in live:
            connection.frozen = True
        return len(live)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._socket is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self._socket)
            else:
                up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.close()
            return
        connection = _Connection()
        self._connections.append(connection)
        connection.tasks = [
            asyncio.create_task(_relay(reader, up_writer, connection)),
            asyncio.create_task(_relay(up_reader, writer, connection,
                                       freeze_when_ready=self._after_login))]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*connection.tasks, return_exceptions=True)
        writer.close()
        up_writer.close()


#: The server's ReadyForQuery message, idle: its first ends a login.
_READY = b"Z\x00\x00\x00\x05I"


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 connection: _Connection, freeze_when_ready: bool = False) -> None:
    """Copy until end of stream; once the connection is frozen, read and drop. A client that
    gives up (closes) ends its server session too, as when the old host is gone. With
    ``freeze_when_ready`` (the server's side), the connection freezes once the server said it
    is ready for a first statement.

    A stream reset ends it like a close: a process killed with bytes it had not read yet
    (a statement's first answer, say) resets its connections instead of closing them. Kept
    open, the server session would wait for that client for ever, where without the proxy
    it sees the reset at once."""
    try:
        while chunk := await reader.read(65536):
            if connection.frozen:
                continue
            writer.write(chunk)
            await writer.drain()
            if freeze_when_ready and _READY in chunk:
                connection.frozen = True
    except OSError:  # reset by the peer, or the other side gone while writing to it
        pass
    finally:
        writer.close()
