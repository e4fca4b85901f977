"""An ASGI app's lifespan, driven by the test: started on entering, stopped on leaving, as a
server would (without one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.types import ASGIApp

__all__ = ["in_lifespan"]


@asynccontextmanager
async def in_lifespan(app: ASGIApp, within_s: float = 10) -> AsyncIterator[None]:
    """``app`` started (its lifespan's startup complete) for the block, then shut down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    running = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                      inbox.get, outbox.put))
    async with asyncio.timeout(within_s):
        await inbox.put({"type": "lifespan.startup"})
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
    yield
    async with asyncio.timeout(within_s):
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await running
