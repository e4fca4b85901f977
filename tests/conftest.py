"""Session-wide real infrastructure, and per-test isolation by naming (topics, groups, DBs)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from structlog.testing import capture_logs

from sync.app import Service
from sync.settings import Settings, Topics
from sync.store.dsn import create_database, drop_database, with_database
from sync.store.migrate import migrate
from tests.support.infra import Infrastructure, infrastructure
from tests.support.process import ServiceProcesses, service_env

__all__ = ["service_env"]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    """One Kafka broker and one PostgreSQL server for the whole session.

    Not under pytest's tmp_path: that is private to root (0700), and the embedded PostgreSQL
    runs as its own system user when the suite runs as root.
    """
    workdir = Path(tempfile.mkdtemp(prefix="sksync-test-"))
    workdir.chmod(0o755)
    try:
        with infrastructure(workdir) as found:
            yield found
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_database(infra: Infrastructure) -> AsyncIterator[str]:
    """A migrated database that each test copies (``CREATE DATABASE ... TEMPLATE``)."""
    name = f"sksync_template_{uuid.uuid4().hex[:8]}"
    url = await create_database(infra.database_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield name
    await drop_database(infra.database_url, name)


@pytest.fixture
async def pg_url(infra: Infrastructure, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"sksync_test_{uuid.uuid4().hex[:12]}"
    url = await create_database(infra.database_url, name, template=template_database)
    yield url
    await drop_database(infra.database_url, name)


@pytest.fixture
async def pg_conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_url)
    yield conn
    await conn.close()


@pytest.fixture
async def pg_pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def settings(infra: Infrastructure, pg_url: str) -> Settings:
    """Settings of a service that is this test's alone: own topics, group and database."""
    run = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=infra.kafka, database_url=pg_url,
        topics=Topics(prefix=f"t{run}."), consumer_group=f"sksync-t{run}",
        http_port=0, relay_poll_interval_s=0.2, apply_batch_timeout_ms=20,
        retry_max_backoff_s=2.0, log_format="json", environment="local",
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Service]:
    """The service in this process, on the test's own topics and database. Its structured
    logs are captured so that they stay out of the output of CLI commands under test."""
    with capture_logs():
        running = Service(settings, serve_http=False)
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


@pytest.fixture
def admin_url(infra: Infrastructure) -> str:
    return with_database(infra.database_url, "postgres")


@pytest.fixture
def sksync_process(settings: Settings) -> Iterator[ServiceProcesses]:
    """Starts ``sksync run`` subprocesses for ``settings``; kills what is left at the end."""
    processes = ServiceProcesses(settings)
    yield processes
    processes.kill_all()
