"""Where the benchmark runs: the local stack (or ``SKSYNC_*``), a database and topics of its own,
and the service as one or more subprocesses (``sksync run``) whose memory is sampled from
``/proc``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.gcpauses import GcReading, read
from devstack import free_port
from sync.producers.kafka import client_options
from sync.settings import Settings, Topics, as_environment
from sync.store.dsn import create_database, drop_database

__all__ = ["Endpoints", "ServiceGroup", "ServiceProcess", "cpu_seconds", "create_topics",
           "endpoints", "new_run"]


@dataclass(frozen=True)
class Endpoints:
    kafka: str
    database_url: str
    local: bool
    stack_dir: Path | None = None


def cpu_seconds(markers: dict[str, str]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes whose command line holds each
    marker: e.g. the PostgreSQL backends serving one database, or one Kafka broker."""
    found = dict.fromkeys(markers, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        for name, marker in markers.items():
            if marker in cmdline:
                found[name] += (int(fields[11]) + int(fields[12])) / tick
    return found


@contextlib.contextmanager
def endpoints() -> Iterator[Endpoints]:
    """``SKSYNC_KAFKA_BOOTSTRAP_SERVERS`` and ``SKSYNC_DATABASE_URL`` when both are set, else
    the project's local stack in a temporary folder (stopped and removed afterwards)."""
    kafka = os.environ.get("SKSYNC_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("SKSYNC_DATABASE_URL")
    if kafka and database:
        yield Endpoints(kafka, database, local=False)
        return
    from devstack import LocalStack

    workdir = Path(tempfile.mkdtemp(prefix="sksync-bench-"))
    workdir.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root
    stack = LocalStack(workdir / "stack")
    try:
        found = stack.up()
        yield Endpoints(found.kafka_bootstrap, found.database_url, local=True,
                        stack_dir=stack.stack_dir)
    finally:
        with contextlib.suppress(Exception):
            stack.down()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def new_run(where: Endpoints, **overrides: object) -> AsyncIterator[Settings]:
    """Settings of a run with its own database, topic prefix and consumer group."""
    run = uuid.uuid4().hex[:8]
    url = await create_database(where.database_url, f"sksync_bench_{run}")
    settings = Settings(
        kafka_bootstrap_servers=where.kafka, database_url=url,
        topics=Topics(prefix=f"bench-{run}."), consumer_group=f"sksync-bench-{run}",
        log_format="json", log_level="WARNING",
        environment="local" if where.local else Settings().environment,
        **overrides)  # type: ignore[arg-type]
    try:
        yield settings
    finally:
        with contextlib.suppress(Exception):
            await drop_database(where.database_url, f"sksync_bench_{run}")


async def create_topics(settings: Settings, partitions: int) -> None:
    """The service's topics, made before it starts. The update and fiche-event topics stamp
    records with the broker's append time, so their timestamps say when a stage finished."""
    topics = settings.topics
    stamped = {topics.name("fiche_event")}
    names = [*topics.sources(), topics.name("fiche_update"), topics.name("fiche_event"),
             topics.name("notification")]
    names += [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([
            NewTopic(name, num_partitions=partitions, replication_factor=1,
                     topic_configs={"message.timestamp.type": "LogAppendTime"}
                     if name in stamped else {})
            for name in names])
    finally:
        await admin.close()


def _service_env(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKSYNC_")}
    return {**env, **as_environment(settings), "SKSYNC_LOG_FORMAT": "json",
            "SKSYNC_LOG_LEVEL": "WARNING", "SKSYNC_HTTP_PORT": str(free_port()), **extra}


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of ``pid`` in KiB."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


@dataclass
class ServiceProcess:
    """``sksync run`` as a child process, its log in a file, its memory sampled."""

    settings: Settings
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    http_port: int = 0
    rss_samples: list[tuple[float, int]] = field(default_factory=list)
    _sampler: asyncio.Task[None] | None = None

    def start(self) -> float:
        """Spawn the service; returns the wall-clock time (s) of the spawn."""
        command = [str(Path(sys.executable).parent / "sksync"), "run"]
        env = _service_env(self.settings, self.extra_env)
        self.http_port = int(env["SKSYNC_HTTP_PORT"])
        with self.log_path.open("wb") as handle:
            self.started_at = time.time()
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self._sampler = asyncio.get_running_loop().create_task(self._sample())
        return self.started_at

    async def _sample(self, every_s: float = 0.25) -> None:
        assert self.process is not None
        while self.process.poll() is None:
            rss = _status(self.process.pid).get("VmRSS")
            if rss is not None:
                self.rss_samples.append((time.time(), rss))
            await asyncio.sleep(every_s)

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of the resident set (VmHWM), in MB."""
        assert self.process is not None
        hwm = _status(self.process.pid).get("VmHWM")
        if hwm is None:  # gone: the best the samples say
            hwm = max((rss for _, rss in self.rss_samples), default=0)
        return hwm / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time the service has used so far."""
        assert self.process is not None
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat[stat.rfind(")") + 2:].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self._sampler is not None:
            self._sampler.cancel()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)


@dataclass
class ServiceGroup:
    """N ``sksync run`` processes with the same settings (the same consumer groups, database and
    topics), so they share the partitions as N instances of the service would in production;
    each has its own HTTP port (``_service_env`` picks a free one per process) and its own log.
    With one member it is exactly one :class:`ServiceProcess`."""

    members: list[ServiceProcess]

    @classmethod
    def of(cls, settings: Settings, logs: Path, instances: int = 1,
           stages: list[str] | None = None) -> ServiceGroup:
        """``instances`` processes; with ``stages``, one per item, each running those stages
        (``SKSYNC_STAGES``, e.g. ``map`` and ``apply,relay``)."""
        if stages:
            instances = len(stages)
        if instances < 1:
            raise ValueError(f"instances must be >= 1, not {instances}")
        names = (["service.log"] if instances == 1
                 else [f"service-{i}.log" for i in range(1, instances + 1)])
        envs = [{"SKSYNC_STAGES": item} for item in stages] if stages else [{}] * instances
        return cls([ServiceProcess(settings, logs / name, extra_env=env)
                    for name, env in zip(names, envs, strict=True)])

    def __len__(self) -> int:
        return len(self.members)

    @property
    def one_hop(self) -> bool:
        """Whether each process maps and applies (nothing goes through ``sk.fiche.update``)."""
        every = Settings.model_fields["stages"].default
        return all({"map", "apply"} <= {stage.strip() for stage in
                                        m.extra_env.get("SKSYNC_STAGES", every).split(",")}
                   for m in self.members)

    @property
    def first(self) -> ServiceProcess:
        return self.members[0]

    def start(self) -> float:
        """Spawn every instance, back to back; returns the wall-clock time (s) of the first
        spawn. If one fails to spawn, those already running are left to :meth:`stop`."""
        return min(member.start() for member in list(self.members))

    def alive(self) -> bool:
        """Every instance is running (one that died makes the run fail, not limp on)."""
        return all(member.alive() for member in self.members)

    def dead(self) -> list[int]:
        """1-based numbers of the instances that are not running."""
        return [i for i, member in enumerate(self.members, 1) if not member.alive()]

    def cpu_seconds(self) -> float:
        """User plus system CPU time of all instances so far, summed."""
        return sum(self.cpu_seconds_each())

    def cpu_seconds_each(self) -> list[float]:
        return [member.cpu_seconds() for member in self.members]

    def peak_rss_mb(self) -> float:
        """The largest instance's high-water mark (VmHWM), in MB: the memory target is per
        process."""
        return max(self.peak_rss_mb_each())

    def peak_rss_mb_each(self) -> list[float]:
        return [member.peak_rss_mb() for member in self.members]

    async def gc_reading(self) -> GcReading | None:
        """The garbage collector's passes so far, summed over the instances (None when one
        does not answer)."""
        readings = await asyncio.gather(*(read(m.http_port) for m in self.members))
        if any(reading is None for reading in readings):
            return None
        return sum((r for r in readings if r is not None), GcReading())

    def log_tail(self, lines: int = 20) -> str:
        if len(self.members) == 1:
            return self.first.log_tail(lines)
        return "\n".join(
            f"--- instance {i} ({member.log_path.name}) ---\n{member.log_tail(lines)}"
            for i, member in enumerate(self.members, 1))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop every instance at once (SIGTERM, then SIGKILL after ``timeout`` s), each even if
        another fails to stop; the first failure is raised afterwards."""
        outcomes = await asyncio.gather(*(member.stop(timeout) for member in self.members),
                                        return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
