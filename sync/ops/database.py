"""The database connections of operators' commands and of the console on its own: each bounded
by ``SKSYNC_DATABASE_COMMAND_TIMEOUT_S``, as the service's pool is."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import asyncpg

from sync.settings import Settings
from sync.store.uow import bounded, connect_unbounded, connected

__all__ = ["database", "database_pool", "owner_connection"]


def database(settings: Settings) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """A connection of its own, for a command's short statements."""
    return connected(settings.database_url, settings.database_command_timeout_s)


async def database_pool(settings: Settings, size: int) -> asyncpg.Pool:
    """A pool of up to ``size`` connections (the console, the initial linking)."""
    return await asyncpg.create_pool(settings.database_url, min_size=1, max_size=size,
                                     **bounded(settings.database_command_timeout_s))


async def owner_connection(settings: Settings) -> asyncpg.Connection:
    """A connection for migrations and ``sksync vacuum``: as the owner role when
    ``migration_database_url`` is set, its statements unbounded (:func:`connect_unbounded`)."""
    return await connect_unbounded(settings.migration_database_url or settings.database_url,
                                   settings.database_command_timeout_s)
