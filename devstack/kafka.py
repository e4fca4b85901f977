"""One local Kafka 4.x broker (combined KRaft mode) as a plain JVM process, no Docker."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.kafka_config import (
    KAFKA_JVM_OPTS,
    KAFKA_MAIN,
    SCRAM_MECHANISM,
    new_cluster_id,
    render_properties,
    sasl_properties,
    scram_user_is_valid,
    single_node_properties,
)
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
]



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
            if not scram_user_is_valid(name, password):
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
        settings = single_node_properties(self.port, self.controller_port, self.log_dirs)
        if self.sasl_users:
            settings.update(self._sasl_properties())
        return render_properties(settings)

    def _sasl_properties(self) -> dict[str, str]:
        """The SCRAM listener's settings (:func:`sasl_properties`), with the broker's TLS
        certificate (made on the first start) when ``tls``."""
        assert self.sasl_port is not None
        properties = sasl_properties(self._plain_listeners(), self.sasl_port, self.tls)
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
            *KAFKA_JVM_OPTS,
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
                "--add-scram", f'{SCRAM_MECHANISM}=[name={name},password="{password}"]')),
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

        cmd = self._java_cmd(lib, KAFKA_MAIN, str(self.properties_file))
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
