"""The console's HTTP server: inside the service (``SKSYNC_CONSOLE_ENABLED``) or alone."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import uvicorn

from sync.console.live import Readiness
from sync.console.pages import console_app
from sync.settings import Settings

__all__ = ["console_server", "serve_until_cancelled"]

#: How long a stopping console may take to finish its requests and its sampler.
SHUTDOWN_S = 10.0


def console_server(settings: Settings, pool: asyncpg.Pool,
                   readiness: Readiness | None = None) -> uvicorn.Server:
    """A server for the console on ``console_host:console_port``; ``await .serve()`` runs it."""
    config = uvicorn.Config(console_app(settings, pool, readiness), host=settings.console_host,
                            port=settings.console_port, log_level="warning", lifespan="on",
                            access_log=False, server_header=False)
    return uvicorn.Server(config)


async def serve_until_cancelled(server: uvicorn.Server) -> None:
    """Serve; when cancelled (the service stopping), shut down in order first: requests
    finish and the sampler stops, instead of being torn down in the middle."""
    task = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, SHUTDOWN_S)
        raise
