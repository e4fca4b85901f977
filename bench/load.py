"""Initial load: N source events waiting on the topic, then the service starts (one or more
instances); how long until the last fiche event is on ``sk.fiche.event``, end to end and per
stage (``map+apply`` as one when each process maps and applies: one hop)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.infra import ServiceGroup, cpu_seconds
from bench.kafka_io import consumer, span_of, topic_size
from bench.profile import Sampler
from sync.settings import Settings

__all__ = ["initial_load"]


async def initial_load(
    settings: Settings, service: ServiceGroup, events: int, timeout: float,
    profile_to: Path | None = None, markers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Start ``service`` (all its instances) and wait (bounded) until ``events`` fiche events
    are published; with ``profile_to``, py-spy samples the service meanwhile (the first
    instance only); ``markers`` name other processes (PostgreSQL backends, the broker) whose CPU
    time during the load is reported. The service's CPU time is the sum over its instances
    (and, with more than one, per instance in ``service_cpu_s_per_instance``)."""
    before = cpu_seconds(markers or {})
    started = service.start()
    assert service.first.process is not None
    sampler = Sampler(service.first.process.pid, profile_to) if profile_to else None
    try:
        result = await _load(settings, service, events, timeout, started)
        spent = {name: used - before[name] for name, used in cpu_seconds(markers or {}).items()}
        result["cpu_s"] = {"service": result["service_cpu_s"], **spent}
        return result
    finally:
        if sampler is not None:
            await asyncio.to_thread(sampler.stop)


async def _load(
    settings: Settings, service: ServiceGroup, events: int, timeout: float, started: float,
) -> dict[str, Any]:
    topics = settings.topics
    done = False
    async with consumer(settings) as probe:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and service.alive():
            if await topic_size(probe, topics.name("fiche_event")) >= events:
                done = True
                break
            await asyncio.sleep(0.1)
        if not done:
            reason = f"{timeout:.0f} s passed"
            if not service.alive():
                reason = ("the service died" if len(service) == 1 else
                          f"instance(s) {service.dead()} of {len(service)} died")
            sizes = {key: await topic_size(probe, topics.name(key))
                     for key in ("fiche_update", "fiche_event")}
            raise RuntimeError(
                f"initial load did not complete ({reason}): {sizes}, "
                f"{await _counts(settings.database_url)}; log tail:\n{service.log_tail()}")
        updates = await span_of(probe, topics.name("fiche_update"))
        fiche_events = await span_of(probe, topics.name("fiche_event"))
    cpu_each = service.cpu_seconds_each()
    cpu = sum(cpu_each)
    applied = await _apply_span(settings.database_url)
    seconds = fiche_events.last - started
    # One hop (map and apply in one process): nothing on sk.fiche.update to time the map stage
    # by, so map and apply are reported as one stage, timed by the apply transactions.
    stages = ({"map+apply": _stage(applied[0], applied[1], started, events)} if service.one_hop
              else {"map": _stage(updates.first, updates.last, started, updates.count),
                    "apply": _stage(applied[0], applied[1], started, events)})
    stages["relay"] = _stage(fiche_events.first, fiche_events.last, started, fiche_events.count)
    first_output = applied[0] if service.one_hop else updates.first
    result = {
        "events": events, "seconds": seconds, "events_per_s": events / seconds,
        "busy_rate": events / max(1e-6, fiche_events.last - first_output),
        "one_hop": service.one_hop,
        "first_output_after_s": first_output - started, "stages": stages,
        "fiche_events": fiche_events.count,
        "service_cpu_s": cpu, "service_cpu_share": cpu / max(1e-6, time.time() - started),
    }
    if len(service) > 1:
        result["service_cpu_s_per_instance"] = cpu_each
    return result


def _stage(first: float, last: float, started: float, count: int) -> dict[str, float]:
    return {"first_after_s": first - started, "done_after_s": last - started,
            "rate_since_start": count / max(1e-6, last - started),
            "busy_rate": count / max(1e-6, last - first)}


async def _counts(url: str) -> dict[str, int]:
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as error:
        return {"database unreachable": str(error)}  # type: ignore[dict-item]
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT coalesce(sum(updates), 0) FROM apply_count) AS applied,"
            " (SELECT count(*) FROM fiche) AS fiches,"
            " (SELECT count(*) FROM outbox) AS unsent")
    except asyncpg.PostgresError as error:  # e.g. the service died before migrating
        return {type(error).__name__: str(error)}  # type: ignore[dict-item]
    finally:
        await conn.close()
    return dict(row or {})


async def _apply_span(url: str) -> tuple[float, float]:
    """When the first and the last apply transaction began (``fiche_history.recorded_at`` is
    the transaction's ``now()``; outbox rows are gone once published): the apply stage's own
    clock, to within one batch."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT extract(epoch FROM min(recorded_at)) AS first,"
            " extract(epoch FROM max(recorded_at)) AS last FROM fiche_history")
    finally:
        await conn.close()
    assert row is not None
    return float(row["first"]), float(row["last"])
