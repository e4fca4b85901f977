"""A provider's correction and confirmation applied on a real PostgreSQL (sync.store.apply):
under ``providerEdits: source`` the correction is the provider source's value on the fiche it
names, whatever kind the edit guessed; a confirmation moves the verification clock."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from sync.cloudevents import CloudEvent
from sync.mapping import MappingContext
from sync.mapping.manual import map_manual
from sync.policy import Policy, default_policy
from sync.store.apply import Applier
from sync.store.verification import raise_verification_due
from tests.integration.test_apply import TOPICS, cobrha, outbox
from tests.unit.test_mapping_manual import source_mode

CONTEXT = MappingContext(ssin_secret=b"test-secret")


def from_provider(type_: str, fiche: uuid.UUID, at: str, **data: Any) -> CloudEvent:
    return CloudEvent(
        id=f"provider-{uuid.uuid4()}", source="urn:socialekaart:provider-pages", type=type_,
        time=at, subject=str(fiche),
        data={"ficheId": str(fiche), "editor": {"id": "CBE 0403019261", "role": "provider"},
              **data})


async def an_organisation(conn: asyncpg.Connection) -> uuid.UUID:
    fiche = uuid.uuid4()
    await conn.execute("INSERT INTO fiche (id, kind, version, visible) VALUES ($1, "
                       "'organisation', 1, '{}'::jsonb)", fiche)
    return fiche


async def test_under_source_mode_a_correction_is_the_provider_sources_value(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """An organisation's phone (an edit of fields both kinds have is taken as a person's)
    lands on the organisation as the provider source's value, with a new version."""
    policy: Policy = source_mode()
    fiche = await an_organisation(pg_conn)
    event = from_provider("be.socialekaart.fiche.edited", fiche, "2026-12-04T10:00:00Z",
                          changes={"contact.phone": "+3255998877"})
    [result] = await Applier(pg_pool, policy, TOPICS).apply([map_manual(event, CONTEXT, policy)])
    assert (result.outcome, result.version) == ("applied", 2)
    row = await pg_conn.fetchrow("SELECT visible FROM fiche WHERE id = $1", fiche)
    assert json.loads(row["visible"])["contact.phone"] == "+3255998877"
    source = await pg_conn.fetchval("SELECT source FROM field_value WHERE fiche_id = $1", fiche)
    assert source == "provider"
    assert await pg_conn.fetchval("SELECT count(*) FROM pin") == 0


async def test_a_correction_for_a_fiche_that_does_not_exist_makes_none(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """The provider source never creates a fiche: the update is rejected without a trace."""
    policy = source_mode()
    event = from_provider("be.socialekaart.fiche.edited", uuid.uuid4(), "2026-12-04T10:00:00Z",
                          changes={"contact.phone": "+3255998877"})
    [result] = await Applier(pg_pool, policy, TOPICS).apply([map_manual(event, CONTEXT, policy)])
    assert (result.outcome, result.reason) == ("rejected", "unknown-fiche")
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 0


async def test_a_confirmation_resets_the_clock_so_the_fiche_is_not_due(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """Due before; confirmed, not due for a period; a verification-confirmed notice, no
    fiche version."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    [made] = await applier.apply([cobrha("18749704", 1)])
    fiche = made.fiche_id
    assert fiche is not None
    now = datetime.now(UTC)
    later = now + timedelta(days=400)
    async with pg_pool.acquire() as conn, conn.transaction():
        assert await raise_verification_due(conn, topic="n", period=timedelta(days=365),
                                            now=later) == 1
    event = from_provider("be.socialekaart.fiche.verified", fiche,
                          (now + timedelta(days=399)).isoformat())
    [result] = await applier.apply([map_manual(event, CONTEXT)])
    assert (result.outcome, result.version, result.event_type) == ("applied", 1, None)
    async with pg_pool.acquire() as conn, conn.transaction():
        assert await raise_verification_due(conn, topic="n", period=timedelta(days=365),
                                            now=later + timedelta(days=1)) == 0
    types = [e["type"] for e in await outbox(pg_conn)]
    assert "be.socialekaart.notification.verification-confirmed" in types
