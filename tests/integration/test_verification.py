"""VerificationDue on a real PostgreSQL: once per period, only for unconfirmed fiches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

from sync.store.verification import raise_verification_due

NOW = datetime(2026, 11, 28, tzinfo=UTC)
PERIOD = timedelta(days=3 * 365)


async def add_fiche(conn: asyncpg.Connection, verified: datetime | None,
                    created: datetime) -> None:
    await conn.execute(
        "INSERT INTO fiche (id, kind, version, verified_at, created_at)"
        " VALUES (gen_random_uuid(), 'person', 1, $1, $2)", verified, created)


async def raise_due(conn: asyncpg.Connection, now: datetime) -> int:
    async with conn.transaction():
        return await raise_verification_due(conn, topic="sk.notification", period=PERIOD, now=now)


async def test_a_fiche_unconfirmed_for_a_whole_period_raises_verification_due_once(
    pg_conn: asyncpg.Connection,
) -> None:
    """Old hand-made fiche: one notice now, none the next day, another a period later."""
    await add_fiche(pg_conn, None, NOW - timedelta(days=4 * 365))
    assert await raise_due(pg_conn, NOW) == 1
    assert await raise_due(pg_conn, NOW + timedelta(days=1)) == 0
    assert await raise_due(pg_conn, NOW + PERIOD + timedelta(days=1)) == 1
    payloads = [json.loads(r["payload"]) for r in
                await pg_conn.fetch("SELECT payload FROM outbox ORDER BY id")]
    assert [p["type"] for p in payloads] == ["be.socialekaart.notification.verification-due"] * 2
    assert len({p["id"] for p in payloads}) == 2


async def test_a_fiche_recently_confirmed_by_an_authentic_source_is_not_asked(
    pg_conn: asyncpg.Connection,
) -> None:
    """CoBRHA or the KBO confirmed it last year: nothing to ask."""
    await add_fiche(pg_conn, NOW - timedelta(days=365), NOW - timedelta(days=10 * 365))
    assert await raise_due(pg_conn, NOW) == 0
