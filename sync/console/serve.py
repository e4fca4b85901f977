"""The console's HTTP server: inside the service (``SKSYNC_CONSOLE_ENABLED``) or alone."""

from __future__ import annotations

import asyncpg
import uvicorn

from sync.console.live import Readiness
from sync.console.pages import console_app
from sync.settings import Settings

__all__ = ["console_server"]


def console_server(settings: Settings, pool: asyncpg.Pool,
                   readiness: Readiness | None = None) -> uvicorn.Server:
    """A server for the console on ``console_host:console_port``; ``await .serve()`` runs it."""
    config = uvicorn.Config(console_app(settings, pool, readiness), host=settings.console_host,
                            port=settings.console_port, log_level="warning", lifespan="on",
                            access_log=False, server_header=False)
    return uvicorn.Server(config)
