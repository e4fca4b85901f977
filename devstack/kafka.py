"""One local Kafka 4.x broker (combined KRaft mode) as a plain JVM process, no Docker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import functools
import json
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.kafka_home import kafka_lib_dir, log4j_config
from devstack.procs import (
    StackError,
    free_port,
    java_binary,
    port_accepts,
    port_is_free,
    process_alive,
    read_json,
    read_pid,
    run_coro,
    say,
    tail,
    terminate,
    write_atomic,
)
from devstack.tls import make_tls_files

__all__ = [
    "LocalKafka",
    "kafka_probe",
    "new_cluster_id",
]

_KAFKA_MAIN = "kafka.Kafka"
_KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_SCRAM_MECHANISM = "SCRAM-SHA-512"
_SCRAM_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SCRAM_PASSWORD = re.compile(r"[!#-+\--\[^-~]{1,128}")  # printable ASCII but " , \ ]


def new_cluster_id() -> str:
    """A fresh KRaft cluster id (base64url of 16 random bytes, as ``kafka-storage random-uuid``)."""
    while True:  # like Kafka's Uuid.randomUuid: an id starting with '-' would read as an option
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


async def kafka_probe(bootstrap: str, budget: float) -> bool:
    """Whether an admin ``describe_cluster`` call succeeds within ``budget`` seconds."""
    from aiokafka.admin import (  # type: ignore[import-untyped, unused-ignore]
        AIOKafkaAdminClient,
    )

    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="sksync-stack-probe",
        request_timeout_ms=max(1000, int(budget * 1000)),
    )
    try:
        async with asyncio.timeout(budget):
            await client.start()
            cluster: dict[str, Any] = await client.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.close()


# ----------------------------------------------------------------------------------- LocalKafka


class LocalKafka:
    """A single-node Apache Kafka 4.x broker (combined KRaft mode) on 127.0.0.1.

    Everything lives in ``data_dir``: ``server.properties``, the KRaft log dirs (``kraft/``), the
    broker's stdout/stderr (``kafka.log``), ``kafka.pid`` and ``kafka.json`` (ports, cluster id).
    The broker runs in its own session, so it outlives the Python process that started it;
    :meth:`stop` works from the pid file in any process.

    With ``sasl_users`` (name -> password) the broker also listens with ``SASL_PLAINTEXT`` and
    SCRAM-SHA-512 on :attr:`sasl_bootstrap`; the PLAINTEXT listener stays for the broker's own
    traffic and the readiness probe. The users are created when the storage is formatted, so
    they must be given on the first start of a data dir (a later change needs a new one).
    With ``tls`` as well, that listener is ``SASL_SSL``: its certificate, signed by a local
    authority whose certificate is :attr:`ca_file`, is made with ``keytool`` on the first start.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None,
        sasl_users: Mapping[str, str] | None = None, tls: bool = False,
    ) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.tls = tls
        self.port: int | None = port
        self.controller_port: int | None = None
        self.sasl_users = dict(sasl_users or {})
        for name, password in self.sasl_users.items():
            if not _SCRAM_NAME.fullmatch(name) or not _SCRAM_PASSWORD.fullmatch(password):
                raise StackError(f"SASL user {name[:40]!r}: names are [A-Za-z0-9._-], passwords "
                                 "printable ASCII without quotes, backslashes, commas or ]")
        self.sasl_port: int | None = None
        # Ports must not move once given or used by this object (restart keeps them); ports only
        # read back from a previous run's kafka.json may be replaced when taken meanwhile.
        self._pinned = port is not None
        self._proc: subprocess.Popen[bytes] | None = None

    # paths
    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "kafka.pid"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "kraft"

    @property
    def _state_file(self) -> Path:
        return self.data_dir / "kafka.json"

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``; known once started (or once a previous run's state is loaded)."""
        if self.port is None:
            self._load_state()
        if self.port is None:
            raise StackError(f"Kafka in {self.data_dir} has no port yet: start it first")
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        """``127.0.0.1:<port>`` of the SASL_PLAINTEXT (SASL_SSL with ``tls``; SCRAM-SHA-512)
        listener, once started."""
        if self.sasl_port is None:
            self._load_state()
        if not self.sasl_users or self.sasl_port is None:
            raise StackError(f"Kafka in {self.data_dir} has no SASL listener (give sasl_users)")
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def ca_file(self) -> Path:
        """The certificate that signed the TLS listener's (with ``tls``, once started)."""
        return self.data_dir / "tls" / "ca.pem"

    @property
    def pid(self) -> int | None:
        """The broker's pid when it runs (this process's child or a previous run's), else None."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = read_pid(self.pid_file)
        if pid is not None and process_alive(pid, str(self.properties_file)):
            return pid
        return None

    def is_running(self) -> bool:
        return self.pid is not None

    def _load_state(self) -> dict[str, Any]:
        state = read_json(self._state_file) or {}
        if self.port is None and isinstance(state.get("port"), int):
            self.port = state["port"]
        if self.controller_port is None and isinstance(state.get("controller_port"), int):
            self.controller_port = state["controller_port"]
        if self.sasl_port is None and isinstance(state.get("sasl_port"), int):
            self.sasl_port = state["sasl_port"]
        return state

    def _properties(self) -> str:
        assert self.port is not None
        assert self.controller_port is not None
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After a crash (kill -9) the restarted node waits for its previous broker session
            # to expire before it serves: 9 s by default, which slows every chaos-test restart.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "500",
        }
        if self.sasl_users:
            settings.update(self._sasl_properties())
        lines = ["# Generated by devstack/kafka.py (LocalKafka); rewritten on every start."]
        lines += [f"{key}={value}" for key, value in settings.items()]
        return "\n".join(lines) + "\n"

    def _sasl_properties(self) -> dict[str, str]:
        """A third listener, ``SASL_PLAINTEXT`` (``SASL_SSL`` with ``tls``) with SCRAM-SHA-512.
        Brokers look SCRAM users up in the cluster metadata, so the JAAS entry names the login
        module only."""
        assert self.sasl_port is not None
        protocol = "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        sasl = f"{protocol}://127.0.0.1:{self.sasl_port}"
        properties = {
            "listeners": f"{self._plain_listeners()},{sasl}",
            "advertised.listeners": f"{self._plain_listeners()},{sasl}",
            "listener.security.protocol.map": (
                f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,{protocol}:{protocol}"),
            "sasl.enabled.mechanisms": _SCRAM_MECHANISM,
            f"listener.name.{protocol.lower()}.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"),
        }
        if self.tls:
            try:
                tls = make_tls_files(self.ca_file.parent, java_binary())
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                raise StackError(f"cannot make the broker's TLS certificate: {exc}") from exc
            properties.update(tls.broker_properties())
        return properties

    def _plain_listeners(self) -> str:
        return f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"

    def _java_cmd(self, lib: Path, main: str, *args: str) -> list[str]:
        return [
            java_binary(),
            *_KAFKA_JVM_OPTS,
            f"-Dlog4j2.configurationFile={log4j_config(self.data_dir)}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{lib}/*",  # expanded by the JVM, not a shell
            main,
            *args,
        ]

    def _format(self, lib: Path, cluster_id: str) -> None:
        cmd = self._java_cmd(
            lib, "kafka.tools.StorageTool", "format",
            "-c", str(self.properties_file), "-t", cluster_id,
            "--standalone", "--ignore-formatted",
            *(arg for name, password in sorted(self.sasl_users.items()) for arg in (
                "--add-scram", f'{_SCRAM_MECHANISM}=[name={name},password="{password}"]')),
        )  # fmt: skip
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd, capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError("Kafka storage format did not finish within 120s") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise StackError(
                f"Kafka storage format failed (exit {result.returncode})",
                "\n".join(f"  | {line}" for line in output) or None,
            )

    def start(self, timeout: float = 90) -> str:
        """Start the broker (formatting its storage the first time) and wait until it serves.

        Idempotent: a broker already running from this data dir (in any process) is only
        re-checked. Ports are kept across restarts: an explicit ``port``, else the previous
        run's, else free ones picked by the OS. Returns the bootstrap address
        ``"127.0.0.1:PORT"``; raises :class:`StackError` (with the log's last lines when the
        broker exits early) on failure or after ``timeout`` seconds.
        """
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        if self.is_running():
            self._wait_ready(time.monotonic() + timeout, None, 0)
            say(f"Kafka already running at {self.bootstrap} (pid {self.pid})")
            return self.bootstrap

        java_binary()  # fail fast and clearly, before Maven runs
        lib = kafka_lib_dir()
        if self.port is None or (not self._pinned and not port_is_free(self.port)):
            self.port = free_port()
        if self.controller_port is None or (
            not self._pinned and not port_is_free(self.controller_port)
        ):
            self.controller_port = free_port()  # a formatted KRaft log accepts a new one
        if self.sasl_users and (
            self.sasl_port is None or (not self._pinned and not port_is_free(self.sasl_port))
        ):
            self.sasl_port = free_port()
        ports = [("broker", self.port), ("controller", self.controller_port)]
        if self.sasl_users:
            assert self.sasl_port is not None
            ports.append(("SASL", self.sasl_port))
        for name, port in ports:
            if not port_is_free(port):
                raise StackError(f"Kafka {name} port 127.0.0.1:{port} is in use")
        self._pinned = True
        cluster_id = str(state.get("cluster_id") or new_cluster_id())
        self.properties_file.write_text(self._properties())
        write_atomic(
            self._state_file,
            json.dumps(
                {
                    "port": self.port,
                    "controller_port": self.controller_port,
                    "sasl_port": self.sasl_port,
                    "cluster_id": cluster_id,
                    "lib": str(lib),
                },
                indent=2,
            ),
        )
        if not (self.log_dirs / "meta.properties").is_file():
            self._format(lib, cluster_id)

        cmd = self._java_cmd(lib, _KAFKA_MAIN, str(self.properties_file))
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            log.write(f"--- starting Kafka at {dt.datetime.now().isoformat()} ---\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # survives the starting process (``stack up``)
            )
        write_atomic(self.pid_file, f"{self._proc.pid}\n")
        try:
            self._wait_ready(started + timeout, self._proc, log_offset)
        except BaseException:
            self.stop(timeout=10)
            raise
        say(f"Kafka ready at {self.bootstrap} in {time.monotonic() - started:.1f}s")
        return self.bootstrap

    def _wait_ready(
        self, deadline: float, proc: subprocess.Popen[bytes] | None, log_offset: int
    ) -> None:
        assert self.port is not None
        while True:
            if proc is not None and proc.poll() is not None:
                raise StackError(
                    f"Kafka exited with code {proc.returncode} during startup; "
                    f"last lines of {self.log_file}:",
                    tail(self.log_file, start=log_offset),
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StackError(
                    f"Kafka at {self.bootstrap} not ready in time; last lines of {self.log_file}:",
                    tail(self.log_file, start=log_offset),
                )
            # Probe with the admin client only once the port accepts: fewer client error logs.
            probe = functools.partial(kafka_probe, self.bootstrap, min(5.0, max(remaining, 0.5)))
            if port_accepts(self.port) and run_coro(probe):
                return
            time.sleep(0.25)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (controlled shutdown), wait up to ``timeout`` s, then SIGKILL. No-op if down."""
        pid = self.pid
        if pid is not None:
            terminate(pid, timeout, self._proc)
            say(f"Kafka (pid {pid}) stopped")
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)  # reap
            self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the broker at once (crash simulation). No-op if down."""
        pid = self.pid
        if pid is not None:
            terminate(pid, 10, self._proc, first_signal=signal.SIGKILL)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def restart(self, timeout: float = 90, stop_timeout: float = 30) -> str:
        """Stop, then start again on the same ports and data dir (no reformat)."""
        self.stop(timeout=stop_timeout)
        return self.start(timeout=timeout)


# --------------------------------------------------------------------------------- PostgreSQL
