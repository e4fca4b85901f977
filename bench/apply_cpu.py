"""CPU of the apply side per update, without Kafka: ``python -m bench.apply_cpu --events 6000``.

The benchmark's professionals (:class:`bench.events.EventFactory`) are mapped once, then
applied (:class:`sync.store.apply.Applier`) in batches into a fresh, migrated database; the
CPU time of this process (``time.process_time``, not wall time: PostgreSQL runs in its own
processes) is divided by the number of updates. A cProfile top list of a second, profiled
run over another fresh database follows. The database server is ``SKSYNC_DATABASE_URL``'s, or
an embedded one started in a temporary directory.
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
from collections.abc import Iterator
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

TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}
CONTEXT = MappingContext(ssin_secret=b"bench-apply-cpu")


def updates(count: int) -> list[FicheUpdate]:
    """``count`` professionals' updates, mapped once (the mapping is not measured)."""
    factory = EventFactory()
    mapped: list[FicheUpdate] = []
    for index in range(count):
        mapped += map_event(CloudEvent.model_validate(factory.professional(index)), CONTEXT)
    return mapped


async def apply_all(server_url: str, batches: list[list[FicheUpdate]],
                    profile: cProfile.Profile | None = None) -> float:
    """Apply ``batches`` into a fresh database; the CPU seconds this process spent in it."""
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
            started = time.process_time()
            if profile is not None:
                profile.enable()
            for batch in batches:
                await applier.apply(batch)
            if profile is not None:
                profile.disable()
            return time.process_time() - started
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
        runs = sorted(asyncio.run(apply_all(server_url, batches)) for _ in range(args.repeat))
        cpu = runs[0]
        print(f"apply CPU: {cpu * 1e6 / len(mapped):.0f} µs per update "
              f"({len(mapped)} updates, batches of {args.batch}, {cpu:.2f} s; "
              f"runs {', '.join(f'{run:.2f}' for run in runs)} s)")
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
