"""Where the local stack's clients connect, and the environment variables that say it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_ENVIRONMENT",
    "ENV_KAFKA_BOOTSTRAP_SERVERS",
    "ENV_STACK_DIR",
    "StackEndpoints",
]

ENV_KAFKA_BOOTSTRAP_SERVERS = "SKSYNC_KAFKA_BOOTSTRAP_SERVERS"
ENV_DATABASE_URL = "SKSYNC_DATABASE_URL"
ENV_STACK_DIR = "SKSYNC_STACK_DIR"
ENV_ENVIRONMENT = "SKSYNC_ENVIRONMENT"


@dataclass(frozen=True)
class StackEndpoints:
    """Where the clients of the stack connect."""

    kafka_bootstrap: str
    """Kafka bootstrap servers, ``host:port[,host:port...]``."""
    database_url: str
    """A PostgreSQL URL that ``asyncpg.connect()`` (and libpq) accept."""

    def env_lines(self) -> list[str]:
        """The ``export NAME=value`` lines (shell-quoted) for these endpoints, and the one that
        marks them as the local environment (where the SSIN key may be the public default and
        topics have as many replicas as the stack has brokers)."""
        return [
            f"export {ENV_KAFKA_BOOTSTRAP_SERVERS}={shlex.quote(self.kafka_bootstrap)}",
            f"export {ENV_DATABASE_URL}={shlex.quote(self.database_url)}",
            f"export {ENV_ENVIRONMENT}=local",
        ]


# --------------------------------------------------------------------------------------- helpers
