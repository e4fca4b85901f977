"""Schema migrations: numbered SQL files applied in order, once, under an advisory lock."""

from __future__ import annotations

from importlib import resources

import asyncpg
import structlog

__all__ = ["Migration", "applied_migrations", "available_migrations", "migrate"]

log = structlog.get_logger(__name__)

#: Any number will do as long as every instance agrees on it ("sksync" in ASCII).
ADVISORY_LOCK_KEY = 0x736B73796E63

Migration = tuple[str, str]  # (name, sql)
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in order of its number."""
    folder = resources.files("sync.store").joinpath("migrations")
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


async def applied_migrations(conn: Conn) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('public.schema_migration') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch("SELECT name FROM schema_migration ORDER BY name")
    return [row["name"] for row in rows]


async def migrate(conn: Conn) -> list[str]:
    """Apply what is missing; returns the names applied. Safe to run from many instances:
    the advisory lock makes the others wait, then find nothing left to do."""
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        # Checked first: even CREATE TABLE IF NOT EXISTS needs the CREATE privilege, which the
        # service's role lacks (0007), and it may call this when nothing is pending.
        if not await conn.fetchval("SELECT to_regclass('public.schema_migration') IS NOT NULL"):
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        done = set(await applied_migrations(conn))
        applied = []
        for name, sql in available_migrations():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migration (name) VALUES ($1)", name)
            log.info("migration applied", migration=name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


async def pending_migrations(conn: Conn) -> list[str]:
    """Names shipped but not yet applied (readiness checks use it)."""
    done = set(await applied_migrations(conn))
    return [name for name, _ in available_migrations() if name not in done]
