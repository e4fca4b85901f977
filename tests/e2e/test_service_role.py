"""The whole service working as a login role in ``sksync_service`` (migration 0007): the
owner migrates, the service reads and writes, on real Kafka and PostgreSQL.

The least-privilege rules themselves are specified in tests/integration/test_least_privilege.py;
this shows that the service needs nothing more than they grant.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from sync.cli.main import build_app
from sync.settings import Settings
from sync.store.queries import resolve_fiche_id
from tests.support.builders import nihii, professional
from tests.support.kbo_zip import enterprise, enterprise_number, write_full_zip
from tests.support.process import service_env
from tests.support.service import fiche_event_of, running_service

pytestmark = pytest.mark.slow


def as_user(url: str, user: str) -> str:
    """``url`` with its user replaced (query string, e.g. the socket directory, kept)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture
async def role_settings(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> AsyncIterator[Settings]:
    """``settings`` with the service connecting as a fresh login role in sksync_service and
    migrations as the owner (the embedded PostgreSQL trusts local connections)."""
    login = f"sksync_app_{uuid.uuid4().hex[:10]}"
    await pg_conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE sksync_service")
    yield settings.model_copy(update={"database_url": as_user(settings.database_url, login),
                                      "migration_database_url": settings.database_url})
    await pg_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", login)
    await pg_conn.execute(f"DROP ROLE {login}")


async def test_the_service_as_its_own_role_applies_and_relays_a_source_event(
    role_settings: Settings,
) -> None:
    """Start (migrations as the owner), apply, outbox, relay, gauges: all as sksync_service."""
    number = nihii("1")
    async with running_service(role_settings):
        event = await fiche_event_of(role_settings, professional(number, last="Rolmans"))
    assert event["data"]["snapshot"]["name.last"] == "Rolmans"
    conn = await asyncpg.connect(role_settings.database_url)
    try:
        assert await conn.fetchval("SELECT current_user") != "postgres"
        assert await resolve_fiche_id(conn, f"NIHII-PERSON:{number[:8]}") is not None
    finally:
        await conn.close()


async def test_a_kbo_full_extract_is_ingested_as_the_service_role(
    role_settings: Settings, tmp_path: Path,
) -> None:
    """The ingest truncates the mirror and uses temporary tables: granted, no schema change."""
    number = enterprise_number(4030192)
    path = write_full_zip(tmp_path / "kbo.zip", 300, {"enterprise": [enterprise(number)]})
    env = service_env(role_settings, SKSYNC_DATABASE_URL=role_settings.database_url)
    result = await asyncio.to_thread(CliRunner().invoke, build_app(),
                                     ["ingest", "kbo", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "extract 300 (Full)" in result.output
