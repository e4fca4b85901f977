"""A fresh PostgreSQL database with only the ingest migrations (0002, 0003) applied, on the
suite's own server, and the publish callback the ingest tests use. Each test gets its own
database (random name), so tests do not see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from sync.store.dsn import with_database

__all__ = ["INGEST_MIGRATIONS", "Published", "fresh_database"]

MIGRATIONS = Path(__file__).resolve().parents[2] / "sync" / "store" / "migrations"
INGEST_MIGRATIONS = sorted([*MIGRATIONS.glob("0002_*.sql"), *MIGRATIONS.glob("0003_*.sql")])


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database on ``url``'s server (the suite's PostgreSQL) holding
    only the ingest migrations; dropped afterwards."""
    name = f"ingest_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(url, name))
        try:
            for migration in INGEST_MIGRATIONS:
                await conn.execute(migration.read_text(encoding="utf-8"))
            yield conn
        finally:
            await conn.close()
        await admin.execute(f'DROP DATABASE "{name}"')
    finally:
        await admin.close()


class Published(list[dict[str, Any]]):
    """The publish callback of a test: keeps every event."""

    async def __call__(self, event: dict[str, Any]) -> None:
        self.append(event)

    def kinds(self) -> set[tuple[str, str]]:
        """(type, subject) of every event; each subject at most once."""
        subjects = [event["subject"] for event in self]
        assert len(subjects) == len(set(subjects)), f"published twice: {subjects}"
        return {(event["type"], event["subject"]) for event in self}

    def of(self, number: str) -> dict[str, Any]:
        return next(event["data"] for event in self if event["subject"] == number)
