"""CPU of the apply side per update, without Kafka: ``python -m bench.apply_cpu --events 6000``.

The benchmark's professionals (:class:`bench.events.EventFactory`) are mapped once, then
applied (:class:`sync.store.apply.Applier`) in batches into a fresh, migrated database; the
CPU time of this process (``time.process_time``, not wall time: PostgreSQL runs in its own
processes) is divided by the number of updates. So is the CPU time of the database's server
processes that served the apply (``/proc/<pid>/stat``, when the server runs on this machine):
work moved from the service into SQL shows there. A cProfile top list of a second, profiled
run over another fresh database follows. The database server is ``SKSYNC_DATABASE_URL``'s, or
an embedded one started in a temporary directory.

Small batches (``--batch`` 10, say) on its fresh database measure a plan the service does not
keep: PostgreSQL settles on a generic plan for a statement run often enough, and one made
while ``match_keys`` is nearly empty scans it for every record until the next ``ANALYZE``,
which autovacuum runs within seconds in the service and never in these short runs
(PostgreSQL's figure doubles; bench/README.md, "What changed"). The default batch of 500 does
not meet it; for small batches, read PostgreSQL's planning and execution in ``make bench``'s
statement tables instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from bench.events import EventFactory
from sync.cloudevents import CloudEvent
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier
from sync.store.dsn import create_database, drop_database
from sync.store.migrate import migrate

#: Clock ticks per second, the unit of CPU times in ``/proc/<pid>/stat``.
_TICKS = os.sysconf("SC_CLK_TCK")
TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}
CONTEXT = MappingContext(ssin_secret=b"bench-apply-cpu")


def updates(count: int) -> list[FicheUpdate]:
    """``count`` professionals' updates, mapped once (the mapping is not measured)."""
    factory = EventFactory()
    mapped: list[FicheUpdate] = []
    for index in range(count):
        mapped += map_event(CloudEvent.model_validate(factory.professional(index)), CONTEXT)
    return mapped


def _server_cpu(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user and system) each of ``pids`` has used, for those this machine runs."""
    spent: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return spent


async def _backends(server_url: str, database: str) -> list[int]:
    """The server processes serving ``database``."""
    conn = await asyncpg.connect(server_url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def apply_all(server_url: str, batches: list[list[FicheUpdate]],
                    profile: cProfile.Profile | None = None) -> tuple[float, float | None]:
    """Apply ``batches`` into a fresh database; the CPU seconds this process spent in it, and
    those the server's processes serving the database spent (None: not on this machine)."""
    name = f"sksync_applycpu_{uuid.uuid4().hex[:8]}"
    url = await create_database(server_url, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            applier = Applier(pool, default_policy(), TOPICS)
            before = _server_cpu(await _backends(server_url, name))
            started = time.process_time()
            if profile is not None:
                profile.enable()
            for batch in batches:
                await applier.apply(batch)
            if profile is not None:
                profile.disable()
            cpu = time.process_time() - started
            after = _server_cpu(await _backends(server_url, name))
            server = sum(spent - before.get(pid, 0.0) for pid, spent in after.items())
            return cpu, (server if after else None)
        finally:
            await pool.close()
    finally:
        await drop_database(server_url, name)


@contextmanager
def database_server() -> Iterator[str]:
    """``SKSYNC_DATABASE_URL``, or an embedded server in a temporary directory."""
    given = os.environ.get("SKSYNC_DATABASE_URL")
    if given:
        yield given
        return
    from devstack.postgres import LocalPostgres

    with tempfile.TemporaryDirectory(prefix="sksync-applycpu-") as directory:
        Path(directory).chmod(0o755)  # the embedded server may run as its own system user
        server = LocalPostgres(Path(directory))
        try:
            yield server.start()
        finally:
            server.stop()


def main() -> None:
    """Print the apply CPU per update, then the profile's top list."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs, each on a fresh database; the least CPU is printed")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--callers", help="also print the callers of functions matching this")
    args = parser.parse_args()
    mapped = updates(args.events)
    # The mapped updates stand for the batch a consumer holds, not for a heap the collector
    # should walk again and again: frozen, so that a full collection costs what the apply's own
    # objects make it cost.
    gc.freeze()
    batches = [mapped[i:i + args.batch] for i in range(0, len(mapped), args.batch)]
    with database_server() as server_url:
        # The least of a few runs: other processes on the machine only ever add to it.
        measured = [asyncio.run(apply_all(server_url, batches)) for _ in range(args.repeat)]
        runs = sorted(cpu for cpu, _ in measured)
        cpu = runs[0]
        print(f"apply CPU: {cpu * 1e6 / len(mapped):.0f} µs per update "
              f"({len(mapped)} updates, batches of {args.batch}, {cpu:.2f} s; "
              f"runs {', '.join(f'{run:.2f}' for run in runs)} s)")
        served = sorted(server for _, server in measured if server is not None)
        if served:
            print(f"PostgreSQL CPU: {served[0] * 1e6 / len(mapped):.0f} µs per update "
                  f"(the server processes of the database; "
                  f"runs {', '.join(f'{run:.2f}' for run in served)} s)")
        if args.no_profile:
            return
        profile = cProfile.Profile()
        asyncio.run(apply_all(server_url, batches, profile))
    stats = pstats.Stats(profile).sort_stats("tottime")
    stats.print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
