"""Where the suite's Kafka and PostgreSQL come from, in this order:

1. ``SKSYNC_KAFKA_BOOTSTRAP_SERVERS`` / ``SKSYNC_DATABASE_URL`` when set;
2. the project's local stack (Kafka KRaft from Maven Central jars, embedded PostgreSQL),
   started once per session in a temporary folder;
3. testcontainers, only when a Docker engine answers and the local stack cannot start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Infrastructure", "infrastructure"]


class Infrastructure:
    def __init__(self, kafka: str, database_url: str, restartable: object | None = None) -> None:
        self.kafka = kafka
        self.database_url = database_url
        self.local = restartable  # the LocalStack, when the suite started it


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10,  # noqa: S607
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def _containers() -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with KafkaContainer().with_kraft() as kafka, PostgresContainer("postgres:17") as pg:
        url = pg.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
        yield Infrastructure(kafka.get_bootstrap_server(), url)


@contextmanager
def infrastructure(workdir: Path) -> Iterator[Infrastructure]:
    """Kafka and PostgreSQL for one test session."""
    kafka = os.environ.get("SKSYNC_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("SKSYNC_DATABASE_URL")
    if kafka and database:
        yield Infrastructure(kafka, database)
        return
    from devstack import LocalStack, StackError

    stack = LocalStack(workdir / "stack")
    try:
        endpoints = stack.up()
    except StackError:
        if not _docker_engine_answers():
            raise
        with _containers() as found:
            yield found
        return
    try:
        yield Infrastructure(endpoints.kafka_bootstrap, endpoints.database_url, stack)
    finally:
        stack.down()
