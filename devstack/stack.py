"""The local stack: Kafka and PostgreSQL under one folder, reachable from other processes."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.cluster import LocalKafkaCluster, cluster_size
from devstack.endpoints import ENV_DATABASE_URL, ENV_KAFKA_BOOTSTRAP_SERVERS, StackEndpoints
from devstack.kafka import LocalKafka
from devstack.opensearch import LocalOpenSearch
from devstack.postgres import LocalPostgres
from devstack.procs import StackError, default_stack_dir, read_json, write_atomic

__all__ = [
    "LocalStack",
]


def _local_kafka(data_dir: Path, brokers: int | None) -> LocalKafka | LocalKafkaCluster:
    """One broker, or a KRaft cluster of three (``devstack/cluster.py``). ``None``: what
    an earlier ``up`` made in ``data_dir``, one broker when nothing is there yet."""
    size = brokers if brokers is not None else cluster_size(data_dir) or 1
    if size not in (1, 3):
        raise StackError(f"the local stack runs 1 or 3 Kafka brokers, not {size}")
    return LocalKafka(data_dir) if size == 1 else LocalKafkaCluster(data_dir, size)


class LocalStack:
    """Kafka and PostgreSQL under one folder, reachable from other processes. ``brokers=3``
    runs a three-node KRaft cluster instead of one broker (:mod:`devstack.cluster`).

    Layout of ``stack_dir``: ``kafka/`` (:class:`LocalKafka`), ``postgres/``
    (:class:`LocalPostgres`), ``env`` (``export`` lines to ``source``) and ``state.json``.
    """

    def __init__(self, stack_dir: Path | None = None, brokers: int | None = None) -> None:
        self.stack_dir = (stack_dir or default_stack_dir()).expanduser().absolute()
        self.kafka = _local_kafka(self.stack_dir / "kafka", brokers)
        self.postgres = LocalPostgres(self.stack_dir / "postgres")

    @property
    def env_file(self) -> Path:
        return self.stack_dir / "env"

    @property
    def state_file(self) -> Path:
        return self.stack_dir / "state.json"

    def state(self) -> dict[str, Any] | None:
        """The ``state.json`` of the last :meth:`up`, if any."""
        return read_json(self.state_file)

    def up(self, timeout: float = 180) -> StackEndpoints:
        """Start what is not given by the environment, write ``env`` and ``state.json``.

        ``$SKSYNC_KAFKA_BOOTSTRAP_SERVERS`` / ``$SKSYNC_DATABASE_URL``, when set, are used as they
        are and that component is not started. Idempotent: running components are kept. Both
        servers start concurrently; if one fails, what this call started is stopped again.
        """
        external_kafka = os.environ.get(ENV_KAFKA_BOOTSTRAP_SERVERS, "").strip()
        external_db = os.environ.get(ENV_DATABASE_URL, "").strip()
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        jobs: dict[str, Callable[[], str]] = {}
        if not external_kafka:
            jobs["kafka"] = lambda: self.kafka.start(timeout=timeout)
        if not external_db:
            jobs["postgres"] = self.postgres.start
        was_running = {"kafka": self.kafka.is_running(), "postgres": self.postgres.is_running()}

        results: dict[str, str] = {}
        errors: list[Exception] = []
        with concurrent.futures.ThreadPoolExecutor(max(1, len(jobs))) as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            for name, future in futures.items():
                try:
                    results[name] = future.result()
                except Exception as exc:
                    errors.append(exc)
        if errors:
            for name in results:
                if not was_running[name]:
                    (self.kafka if name == "kafka" else self.postgres).stop()
            first = errors[0]
            if isinstance(first, StackError):
                raise first
            raise StackError(f"stack start failed: {type(first).__name__}: {first}") from first

        endpoints = StackEndpoints(
            kafka_bootstrap=external_kafka or results["kafka"],
            database_url=external_db or results["postgres"],
        )
        state = {
            "stack_dir": str(self.stack_dir),
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "kafka": {
                "managed": not external_kafka,
                "bootstrap": endpoints.kafka_bootstrap,
                "pid": None if external_kafka else self.kafka.pid,
                "port": None if external_kafka else self.kafka.port,
                "controller_port": None if external_kafka else self.kafka.controller_port,
                "data_dir": None if external_kafka else str(self.kafka.data_dir),
            },
            "postgres": {
                "managed": not external_db,
                "database_url": endpoints.database_url,
                "pid": None if external_db else self.postgres.pid,
                "pgdata": None if external_db else str(self.postgres.pgdata),
            },
        }
        write_atomic(self.state_file, json.dumps(state, indent=2) + "\n")
        write_atomic(
            self.env_file,
            f"# Written by `sksync stack up`; source it: . {shlex.quote(str(self.env_file))}\n"
            + "\n".join(endpoints.env_lines())
            + "\n",
        )
        return endpoints

    def down(self, timeout: float = 30) -> None:
        """Stop what an :meth:`up` (in any process) started; remove ``env`` and ``state.json``.

        Works from the pid files, so it also cleans up after an interrupted ``up``.
        """
        errors: list[StackError] = []

        search = LocalOpenSearch(self.stack_dir / "opensearch")
        for component in (self.kafka, self.postgres, search):
            try:
                component.stop(timeout=timeout)
            except StackError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        self.env_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)

    def endpoints(self) -> StackEndpoints | None:
        """The endpoints recorded by the last :meth:`up`, if any."""
        state = self.state()
        if state is None:
            return None
        try:
            return StackEndpoints(
                kafka_bootstrap=str(state["kafka"]["bootstrap"]),
                database_url=str(state["postgres"]["database_url"]),
            )
        except (KeyError, TypeError):
            return None

    def is_up(self) -> bool:
        """Whether :meth:`up` ran and every component it started still runs (pid check only)."""
        state = self.state()
        if state is None:
            return False
        kafka_managed = bool((state.get("kafka") or {}).get("managed"))
        db_managed = bool((state.get("postgres") or {}).get("managed"))
        return (not kafka_managed or self.kafka.is_running()) and (
            not db_managed or self.postgres.is_running()
        )
