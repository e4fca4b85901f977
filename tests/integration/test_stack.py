"""The local stack (devstack/) against real servers: a Kafka broker and embedded PostgreSQL.

When ``SKSYNC_KAFKA_BOOTSTRAP_SERVERS`` / ``SKSYNC_DATABASE_URL`` are set, that server is not
started here: the client checks run against the given one and the lifecycle checks are skipped.
Every wait is bounded; the servers are stopped in ``finally`` blocks so a failure leaks nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack import (
    ENV_DATABASE_URL,
    ENV_ENVIRONMENT,
    ENV_KAFKA_BOOTSTRAP_SERVERS,
    ENV_STACK_DIR,
    LocalKafka,
    LocalPostgres,
    StackEndpoints,
    process_alive,
    repo_root,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

EXTERNAL_KAFKA = os.environ.get(ENV_KAFKA_BOOTSTRAP_SERVERS, "").strip()
EXTERNAL_DB = os.environ.get(ENV_DATABASE_URL, "").strip()


async def roundtrip(bootstrap: str, payload: bytes) -> bytes:
    """Produce ``payload`` to a fresh topic (auto-created) and consume it back."""
    topic = f"stack-test-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    async with asyncio.timeout(30):
        await producer.start()
    try:
        async with asyncio.timeout(30):
            await producer.send_and_wait(topic, payload, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
    )
    async with asyncio.timeout(30):
        await consumer.start()
    try:
        async with asyncio.timeout(30):
            message = await consumer.getone()
    finally:
        await consumer.stop()
    assert message.value is not None
    return message.value


async def test_local_kafka(tmp_path: Path) -> None:
    if EXTERNAL_KAFKA:
        assert await roundtrip(EXTERNAL_KAFKA, b"external") == b"external"
        pytest.skip(f"{ENV_KAFKA_BOOTSTRAP_SERVERS} is set: local broker lifecycle not tested")

    kafka = LocalKafka(tmp_path / "kafka")
    try:
        bootstrap = await asyncio.to_thread(kafka.start, 90)
        assert bootstrap == f"127.0.0.1:{kafka.port}"
        pid = kafka.pid
        assert pid is not None
        assert process_alive(pid)
        assert (tmp_path / "kafka" / "kafka.pid").read_text().strip() == str(pid)
        assert await roundtrip(bootstrap, b"hello") == b"hello"

        # Chaos tests rely on this: same port and data after a restart, no reformat.
        assert await asyncio.to_thread(kafka.restart, 90) == bootstrap
        new_pid = kafka.pid
        assert new_pid is not None
        assert new_pid != pid
        assert not process_alive(pid)
        assert await roundtrip(bootstrap, b"again") == b"again"
    finally:
        await asyncio.to_thread(kafka.stop, 30)
    assert kafka.pid is None
    assert not process_alive(new_pid)
    assert not (tmp_path / "kafka" / "kafka.pid").exists()


async def test_local_postgres(tmp_path: Path) -> None:
    if EXTERNAL_DB:
        conn = await asyncpg.connect(EXTERNAL_DB, timeout=10)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()
        pytest.skip(f"{ENV_DATABASE_URL} is set: local PostgreSQL lifecycle not tested")

    postgres = LocalPostgres(tmp_path / "pg")
    try:
        url = await asyncio.to_thread(postgres.start)
        # Unix socket only: postgresql://postgres@/sksync?host=<socket dir>&port=5432
        assert url.startswith("postgresql://postgres@/sksync?host=/")
        pid = postgres.pid
        assert pid is not None
        assert process_alive(pid)

        conn = await asyncpg.connect(url, timeout=10)
        try:
            assert await conn.fetchval("SELECT 1") == 1
            assert await conn.fetchval("SELECT current_database()") == "sksync"
            # Loaded from the first start on (a restart made for it), for make bench's table
            # of where PostgreSQL's time goes.
            assert await conn.fetchval("SHOW shared_preload_libraries") == "pg_stat_statements"
            # Applied at every start without a restart: the outbox is vacuumed every 10 s.
            assert await conn.fetchval("SHOW autovacuum_naptime") == "10s"
            await conn.execute("ALTER SYSTEM SET autovacuum_naptime = '1min'")
            await conn.execute("SELECT pg_reload_conf()")
            await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
            await conn.execute("INSERT INTO kept VALUES (1, 'survives a restart')")
        finally:
            await conn.close()

        assert await asyncio.to_thread(postgres.restart) == url
        assert postgres.pid not in (None, pid)
        assert not process_alive(pid)
        conn = await asyncpg.connect(url, timeout=10)
        try:
            assert await conn.fetchval("SELECT note FROM kept WHERE id = 1") == "survives a restart"
            assert await conn.fetchval("SHOW autovacuum_naptime") == "10s"  # set again
        finally:
            await conn.close()
        pid = postgres.pid
        assert pid is not None
    finally:
        await asyncio.to_thread(postgres.stop, 30)
    assert postgres.pid is None
    assert not process_alive(pid)


def run_cli(stack_dir: Path, *args: str, timeout: float = 200) -> subprocess.CompletedProcess[str]:
    """``stack <args>`` in a child process, as a user would run it."""
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", "from devstack.cli import stack_app; stack_app()", *args],
        cwd=repo_root(),
        env={**os.environ, ENV_STACK_DIR: str(stack_dir)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def test_stack_cli_up_status_down(tmp_path: Path) -> None:
    """`up` returns with the servers running detached; `down` from another process stops them."""
    stack_dir = tmp_path / "stack"
    try:
        up = await asyncio.to_thread(run_cli, stack_dir, "up")
        assert up.returncode == 0, up.stderr
        lines = up.stdout.splitlines()
        assert [line.split("=", 1)[0] for line in lines] == [
            f"export {ENV_KAFKA_BOOTSTRAP_SERVERS}",
            f"export {ENV_DATABASE_URL}",
            f"export {ENV_ENVIRONMENT}",
        ]
        assert (stack_dir / "env").read_text().splitlines()[1:] == lines
        env = await asyncio.to_thread(run_cli, stack_dir, "env")
        assert env.returncode == 0
        assert env.stdout.splitlines()[1:] == lines

        # The `up` process has exited; the servers it started still serve.
        kafka, postgres = LocalKafka(stack_dir / "kafka"), LocalPostgres(stack_dir / "postgres")
        pids = [p for p in (kafka.pid, postgres.pid) if p is not None]
        assert len(pids) == (not EXTERNAL_KAFKA) + (not EXTERNAL_DB)
        endpoints = StackEndpoints(
            kafka_bootstrap=EXTERNAL_KAFKA or kafka.bootstrap,
            database_url=EXTERNAL_DB or postgres.url(),
        )
        assert endpoints.env_lines() == lines
        conn = await asyncpg.connect(endpoints.database_url, timeout=10)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

        status = await asyncio.to_thread(run_cli, stack_dir, "status")
        assert status.returncode == 0, status.stdout + status.stderr

        down = await asyncio.to_thread(run_cli, stack_dir, "down")
        assert down.returncode == 0, down.stderr
        assert not any(process_alive(pid) for pid in pids)
        assert not (stack_dir / "env").exists()

        status = await asyncio.to_thread(run_cli, stack_dir, "status")
        assert status.returncode == 1
        assert status.stderr.startswith("error: stack is down")
    finally:
        await asyncio.to_thread(LocalKafka(stack_dir / "kafka").stop, 30)
        await asyncio.to_thread(LocalPostgres(stack_dir / "postgres").stop, 30)
