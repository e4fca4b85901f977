"""The two passes over one stream: fault-free (the reference) and under faults.

The fault plan is drawn from the seed: which chunks are followed by a SIGKILL, a broker
restart, a PostgreSQL restart, a silence of every database connection the service holds, and
when a second instance joins the consumer groups and leaves them again. Each fault happens a
random fraction of a second to a few seconds after its chunk was published, while the service
works through its backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from chaos.drive import publish, settle, wait_for_fiches
from chaos.infra import Fleet, Infra
from chaos.stream import Stream
from devstack.proxy import FreezingProxy
from sync.app import Service
from sync.settings import Settings, Topics
from sync.store.dsn import create_database, drop_database
from sync.store.migrate import migrate

__all__ = ["FaultPlan", "Pass", "prepare", "run_pass"]

#: The service's database command timeout under faults: a silenced connection is given up
#: after this long (the default, 60 s, would outlast the run's bounded waits).
SILENCE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Fault:
    chunk: int
    delay_s: float
    kind: str  # kill | kafka-restart | leader-kill | leader-return | postgres-restart |
    #            database-silence | second-start | second-stop


@dataclass
class FaultPlan:
    faults: list[Fault]
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def draw(cls, seed: int, chunks: int, kills: int, infra: Infra, rebalance: bool = True,
             max_delay_s: float = 2.0, kill_leader: bool = False) -> FaultPlan:
        """At least ``kills`` SIGKILLs, one restart of each server, one silence of the
        service's database connections, one second instance. With
        ``kill_leader`` the broker fault is a SIGKILL of the partition leader, started again
        two chunks later, instead of a restart."""
        rng = random.Random(seed ^ 0x5EED)
        usable = list(range(1, chunks - 1)) or [0]
        faults = [Fault(c, rng.uniform(0.1, max_delay_s), "kill")
                  for c in sorted(rng.choices(usable, k=kills))]
        skipped = []
        broker_fault = "leader-kill" if kill_leader else "kafka-restart"
        for kind, possible in ((broker_fault, infra.kafka_restartable),
                               ("postgres-restart", infra.postgres_restartable)):
            if possible and kind == "leader-kill":
                chunk = rng.choice(usable)
                faults += [Fault(chunk, rng.uniform(0.1, max_delay_s), kind),
                           Fault(min(chunk + 2, chunks - 1), rng.uniform(0.1, max_delay_s),
                                 "leader-return")]
            elif possible:
                faults.append(Fault(rng.choice(usable), rng.uniform(0.1, max_delay_s), kind))
            else:
                skipped.append(f"{kind}: the server is external (SKSYNC_*), it cannot be "
                               "restarted here")
        faults.append(Fault(rng.choice(usable), rng.uniform(0.1, max_delay_s),
                            "database-silence"))
        if rebalance:
            first = rng.choice(usable[: max(1, len(usable) // 2)])
            last = min(chunks - 1, first + max(2, chunks // 3))
            faults += [Fault(first, 0.0, "second-start"),
                       Fault(last, rng.uniform(0.1, max_delay_s), "second-stop")]
        return cls(sorted(faults, key=lambda f: (f.chunk, f.delay_s)), skipped)

    def at(self, chunk: int) -> list[Fault]:
        return [f for f in self.faults if f.chunk == chunk]


@dataclass
class Pass:
    """One pass's settings, processes and what happened to them."""

    name: str
    settings: Settings
    database: str
    fleet: Fleet
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def note(self, kind: str, started: float, **extra: Any) -> None:
        self.counts[kind] += 1
        self.events.append({"kind": kind, "at_s": round(time.monotonic() - started, 2), **extra})


async def prepare(infra: Infra, run_id: str, name: str, logdir: Path) -> Pass:
    """A database (migrated) and topics of this pass's own."""
    database = f"sksync_chaos_{run_id}_{name}"
    url = await create_database(infra.database_url, database)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    settings = Settings(
        kafka_bootstrap_servers=infra.kafka, database_url=url,
        topics=Topics(prefix=f"chaos-{run_id}-{name}."),
        consumer_group=f"sksync-chaos-{run_id}-{name}", http_port=0,
        relay_poll_interval_s=0.2, apply_batch_timeout_ms=20, retry_max_backoff_s=2.0,
        environment="local")
    await Service(settings, serve_http=False).ensure_topics()
    return Pass(name, settings, database, Fleet(settings, logdir, name))


async def drop(infra: Infra, run: Pass) -> None:
    with contextlib.suppress(Exception):
        await drop_database(infra.database_url, run.database)


async def run_pass(stream: Stream, run: Pass, infra: Infra, plan: FaultPlan | None,
                   settle_timeout: float, seed: int) -> None:
    """Publish the stream chunk by chunk into ``run``'s service, with ``plan``'s faults. Under
    faults, the service's processes reach PostgreSQL through a proxy that can silence their
    connections (:class:`FreezingProxy`); the harness's own reads go straight to it."""
    if plan is None:
        await _publish_pass(stream, run, infra, None, settle_timeout, seed, None)
        return
    async with FreezingProxy(run.settings.database_url) as proxy:
        run.fleet.settings = run.settings.model_copy(update={
            "database_url": proxy.url, "database_command_timeout_s": SILENCE_TIMEOUT_S})
        await _publish_pass(stream, run, infra, plan, settle_timeout, seed, proxy)


async def _publish_pass(stream: Stream, run: Pass, infra: Infra, plan: FaultPlan | None,
                        settle_timeout: float, seed: int, proxy: FreezingProxy | None) -> None:
    rng = random.Random(seed)
    started = time.monotonic()
    run.fleet.start()
    run.note("instance-start", started)
    try:
        for index, chunk in enumerate(stream.chunks):
            run.fleet.alive()
            # Edits name fiches: wait (bounded) until the fiches they name exist.
            await wait_for_fiches(run.settings, stream.needs[index], timeout=settle_timeout)
            await publish(run.settings, chunk)
            for fault in plan.at(index) if plan else ():
                await asyncio.sleep(fault.delay_s)
                await _inject(fault, run, infra, rng, started, proxy)
        run.seconds["publish"] = round(time.monotonic() - started, 2)
        run.fleet.alive()
        run.seconds["drain"] = round(await settle(run.settings, settle_timeout), 2)
        run.seconds["total"] = round(time.monotonic() - started, 2)
    finally:
        for process in list(run.fleet.running):
            await asyncio.to_thread(run.fleet.stop, process)


async def _inject(fault: Fault, run: Pass, infra: Infra, rng: random.Random,
                  started: float, proxy: FreezingProxy | None) -> None:
    fleet = run.fleet
    if fault.kind == "kill":
        victim = rng.choice(fleet.alive())
        await asyncio.to_thread(fleet.kill, victim)
        run.note("sigkill", started, chunk=fault.chunk, pid=victim.pid)
        fleet.start()
        run.note("instance-start", started, chunk=fault.chunk, after="sigkill")
    elif fault.kind == "second-start":
        fleet.start()
        run.note("second-instance-start", started, chunk=fault.chunk)
    elif fault.kind == "second-stop":
        leaving = fleet.alive()[-1]
        await asyncio.to_thread(fleet.stop, leaving)
        run.note("second-instance-stop", started, chunk=fault.chunk, pid=leaving.pid)
    elif fault.kind == "kafka-restart":
        begin = time.monotonic()
        await asyncio.to_thread(infra.restart_kafka)
        run.note("kafka-restart", started, chunk=fault.chunk,
                 outage_s=round(time.monotonic() - begin, 2))
    elif fault.kind == "leader-kill":
        # The topic the service writes (through its relay) while it maps and applies the
        # source topics in one hop: its producer must fail over without loss or reordering.
        topic = run.settings.topics.name("fiche_event")
        leader = await asyncio.to_thread(infra.kill_leader, topic)
        run.note("leader-kill", started, chunk=fault.chunk, node=leader)
    elif fault.kind == "leader-return":
        begin = time.monotonic()
        node = infra.killed_broker
        await asyncio.to_thread(infra.restart_killed)
        run.note("leader-return", started, chunk=fault.chunk, node=node,
                 rejoin_s=round(time.monotonic() - begin, 2))
    elif fault.kind == "postgres-restart":
        begin = time.monotonic()
        await asyncio.to_thread(infra.restart_postgres)
        run.note("postgres-restart", started, chunk=fault.chunk,
                 outage_s=round(time.monotonic() - begin, 2))
    elif fault.kind == "database-silence":
        assert proxy is not None
        silenced = proxy.freeze()
        run.note("database-silence", started, chunk=fault.chunk, connections=silenced)
    else:  # pragma: no cover - the plan only draws the kinds above
        raise ValueError(fault.kind)


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]
