"""PostgreSQL least privilege: the service's role reads and writes, only the owner changes the
schema (migration 0007, docs/security.md).

The suite's embedded PostgreSQL trusts local connections, so a login role needs no password
here: what is checked is what the role may do once connected, not how it authenticates.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from sync.store.migrate import migrate, pending_migrations

SERVICE_ROLE = "sksync_service"


def as_user(url: str, user: str) -> str:
    """``url`` with its user replaced (query string, e.g. the socket directory, kept)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture
async def service_url(pg_url: str, pg_conn: asyncpg.Connection) -> AsyncIterator[str]:
    """What an operator does (docs/security.md): a LOGIN role in ``sksync_service``."""
    login = f"sksync_app_{uuid.uuid4().hex[:10]}"
    await pg_conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {SERVICE_ROLE}")
    yield as_user(pg_url, login)
    await pg_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", login)
    await pg_conn.execute(f"DROP ROLE {login}")


@pytest.fixture
async def service_conn(service_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(service_url)
    yield conn
    await conn.close()


async def test_the_service_role_is_created_without_login_by_the_migrations(
    pg_conn: asyncpg.Connection,
) -> None:
    """Nobody logs in as ``sksync_service`` itself: it only carries the grants."""
    row = await pg_conn.fetchrow(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = $1", SERVICE_ROLE)
    assert row is not None
    assert not any(row.values())


async def test_the_service_role_can_insert_read_update_and_delete_a_fiche(
    service_conn: asyncpg.Connection,
) -> None:
    """The rows are the service's business: all four verbs work, and the triggers that count
    fiches by kind and status (migration 0022) write as the service too."""
    fiche_id = uuid.uuid4()
    await service_conn.execute(
        "INSERT INTO fiche (id, kind, version, visible) VALUES ($1, 'person', 1, $2::jsonb)",
        fiche_id, '{"name.last": "Peeters"}')
    assert await service_conn.fetchval("SELECT visible->>'name.last' FROM fiche WHERE id = $1",
                                       fiche_id) == "Peeters"
    await service_conn.execute("UPDATE fiche SET version = 2, status = 'inactive' WHERE id = $1",
                               fiche_id)
    await service_conn.execute("DELETE FROM fiche WHERE id = $1", fiche_id)
    assert await service_conn.fetchval("SELECT count(*) FROM fiche WHERE id = $1", fiche_id) == 0
    tally = await service_conn.fetch("SELECT status, fiches FROM fiche_tally ORDER BY status")
    assert [tuple(row) for row in tally] == [("active", 0), ("inactive", 0)]


async def test_the_service_role_can_use_the_outbox_sequence_and_the_kbo_mirror(
    service_conn: asyncpg.Connection,
) -> None:
    """A bigserial insert needs the sequence; a KBO Full extract truncates the mirror."""
    row_id = await service_conn.fetchval(
        "INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, 't', 'k', '{}') "
        "RETURNING id", uuid.uuid4())
    assert row_id >= 1
    await service_conn.execute("INSERT INTO kbo.enterprise (enterprise_number, status) "
                               "VALUES ('0403019261', 'AC')")
    await service_conn.execute("TRUNCATE kbo.enterprise")


@pytest.mark.parametrize("statement", [
    "DROP TABLE fiche",
    "ALTER TABLE fiche ADD COLUMN x int",
    "ALTER TABLE fiche DROP COLUMN visible",
    "CREATE TABLE intruder (x int)",
    "CREATE INDEX intruder ON fiche (kind)",
    "TRUNCATE fiche",
    "DROP TABLE kbo.enterprise",
    "CREATE TABLE kbo.intruder (x int)",
])
async def test_the_service_role_cannot_change_the_schema(
    service_conn: asyncpg.Connection, statement: str,
) -> None:
    """Each schema change is refused with insufficient_privilege (42501)."""
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await service_conn.execute(statement)


async def test_tables_a_later_migration_creates_are_granted_to_the_service_role(
    pg_conn: asyncpg.Connection, service_conn: asyncpg.Connection,
) -> None:
    """ALTER DEFAULT PRIVILEGES: a new table of the owner is the service's to use too."""
    table = f"later_{uuid.uuid4().hex[:8]}"
    await pg_conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, note text)")
    await service_conn.execute(f"INSERT INTO {table} (note) VALUES ('ok')")
    assert await service_conn.fetchval(f"SELECT note FROM {table}") == "ok"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await service_conn.execute(f"DROP TABLE {table}")


async def test_migrating_as_the_service_role_changes_nothing_when_nothing_is_pending(
    service_conn: asyncpg.Connection,
) -> None:
    """The service may call migrate at start (no migration URL set) once the owner migrated."""
    assert await pending_migrations(service_conn) == []
    assert await migrate(service_conn) == []
