"""A bootstrap address in front of a real broker that, until told otherwise, answers like a
KRaft broker still starting: its metadata names no broker, and it drops the connection.

Every other request is handed to the real broker, and its answer relayed, so the clients get
as far as a real start would. ``clients`` narrows the starting broker to the clients whose id
begins so (the broker restarting just as one client bootstraps); others get the real answer.
:meth:`StartingBroker.come_up` makes it a plain relay: the next bootstrap through it gets the
real metadata, which names the real broker's own address.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from aiokafka.protocol import metadata

__all__ = ["StartingBroker"]

METADATA = 3
#: What an empty answer holds, per field of any version of MetadataResponse.
_EMPTY: dict[str, Any] = {"throttle_time_ms": 0, "brokers": [], "cluster_id": None,
                          "controller_id": -1, "topics": []}


def _no_brokers(version: int) -> bytes:
    response = getattr(metadata, f"MetadataResponse_v{version}")
    names = response.SCHEMA.names
    return bytes(response(*(_EMPTY[name] for name in names)).encode())


async def _frame(reader: asyncio.StreamReader) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


def _framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


class StartingBroker:
    """Listens on ``127.0.0.1:port``; relays to ``upstream`` (``host:port``)."""

    def __init__(self, upstream: str, clients: str = "") -> None:
        host, port = upstream.rsplit(":", 1)
        self._clients = clients
        self._upstream = (host, int(port))
        self._up = False
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        #: The client id of each metadata request answered with no broker.
        self.answered: list[str] = []

    @property
    def address(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def __aenter__(self) -> StartingBroker:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    def come_up(self) -> None:
        """From now on, every new connection is relayed as it is."""
        self._up = True

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        try:
            if self._up:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            else:
                await self._starting(reader, writer, up_reader, up_writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            up_writer.close()

    async def _starting(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        up_reader: asyncio.StreamReader,
                        up_writer: asyncio.StreamWriter) -> None:
        """Requests one at a time: metadata gets an answer naming no broker, and the
        connection is dropped after it; anything else is the real broker's to answer."""
        while True:
            request = await _frame(reader)
            api_key, version, correlation_id, length = struct.unpack(">hhih", request[:10])
            client = request[10:10 + max(length, 0)].decode()
            if api_key == METADATA and client.startswith(self._clients):
                self.answered.append(client)
                writer.write(_framed(struct.pack(">i", correlation_id) + _no_brokers(version)))
                await writer.drain()
                return
            up_writer.write(_framed(request))
            await up_writer.drain()
            writer.write(_framed(await _frame(up_reader)))
            await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()
    writer.close()
