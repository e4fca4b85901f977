"""/healthz and /readyz on real Kafka and PostgreSQL: alive at once, ready once the consumers
have their partitions, not ready (saying why, in JSON) while the database is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack import free_port
from sync.app import Service
from sync.settings import Settings
from tests.support.infra import Infrastructure

pytestmark = pytest.mark.slow

CHECKS = {"database", "migrations", "broker", "producer", "consumers", "tasks"}
#: /readyz must answer within this even when the database does not (its own bound is 3 s).
ANSWER_WITHIN_S = 8.0


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a running service's HTTP server (on a free port), once it answers."""
    config = settings.model_copy(update={"http_port": free_port()})
    service = Service(config)
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.http_port}",
                                     timeout=ANSWER_WITHIN_S, trust_env=False) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
            yield http
    finally:
        await service.stop()


async def readyz_until(
    client: httpx.AsyncClient, condition: Callable[[httpx.Response], bool], *, what: str,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Ask /readyz until ``condition`` holds (its JSON body then); each answer must come within
    ANSWER_WITHIN_S."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get("/readyz")
        assert response.headers["content-type"] == "application/json"
        if condition(response):
            body: dict[str, Any] = response.json()
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for /readyz to be {what}; "
                                 f"last: {response.status_code} {response.text}")
        await asyncio.sleep(0.2)


async def ready_gauge(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    [value] = [sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "sksync_ready"]
    return value


async def test_healthz_answers_at_once_and_readyz_turns_ready_once_consumers_are_assigned(
    client: httpx.AsyncClient,
) -> None:
    """/healthz says the process lives; /readyz is 200 with every check "ok" once both consumer
    groups have their partitions, and the ``sksync_ready`` gauge says 1."""
    health = await client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    body = await readyz_until(client, lambda r: r.status_code == 200, what="ready")
    assert body == {"status": "ready", "checks": dict.fromkeys(CHECKS, "ok")}
    assert await ready_gauge(client) == 1
    missing = await client.get("/nothing-here")
    assert missing.status_code == 404


async def test_readyz_names_the_database_while_it_is_down_and_is_ready_again_after(
    infra: Infrastructure, client: httpx.AsyncClient,
) -> None:
    """Database stopped: /readyz answers 503 within its bound, its JSON names the database as
    unreachable (and the gauge says 0) while /healthz stays 200. Started again: ready again."""
    if infra.local is None:
        pytest.skip("the database is external to the suite: it cannot be stopped here")
    postgres = infra.local.postgres  # type: ignore[attr-defined]
    await readyz_until(client, lambda r: r.status_code == 200, what="ready before the outage")
    await asyncio.to_thread(postgres.stop)
    try:
        body = await readyz_until(client, lambda r: r.status_code == 503,
                                  what="not ready while the database is down")
        assert body["status"] == "not-ready"
        assert body["checks"]["database"].startswith("unreachable: ")
        assert body["checks"]["migrations"] == "unknown"
        assert body["checks"]["broker"] == "ok"
        assert await ready_gauge(client) == 0
        assert (await client.get("/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(postgres.start)
    body = await readyz_until(client, lambda r: r.status_code == 200,
                              what="ready after the database is back", timeout=90)
    assert body["checks"] == dict.fromkeys(CHECKS, "ok")
    assert await ready_gauge(client) == 1
